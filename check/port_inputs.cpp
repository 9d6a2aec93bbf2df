#include "check/port_inputs.h"

#include "capture/graph_runner.h"
#include "check/value_views.h"
#include "util/error.h"

#include <map>
#include <set>
#include <sstream>

namespace twin::check {

namespace {

// A short print of a tensor's values: all of them up to 8, else the first 3 and the last.
std::string brief(const ops::Tensor& t) {
  const std::vector<double> v = t.to_doubles();
  auto number = [](double x) {
    std::ostringstream s;
    s << x;
    return s.str();
  };
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v.size() > 8 && i == 3) {
      out += "..., " + number(v.back());
      break;
    }
    out += (i ? ", " : "") + number(v[i]);
  }
  return out + "]";
}

// The reference nodes whose values do not depend on any input: computed from constants,
// parameters and buffers alone.
std::set<std::string> input_free_nodes(const Graph& g) {
  std::set<std::string> depends;
  for (const auto& in : g.inputs()) depends.insert(in.name);
  std::set<std::string> free;
  for (const auto& node : g.nodes()) {
    bool reads_input = false;
    for (const auto& r : node.reads) reads_input = reads_input || depends.count(r) > 0;
    if (reads_input) depends.insert(node.name);
    else free.insert(node.name);
  }
  return free;
}

}  // namespace

std::string FixedInput::describe() const {
  return "the port's input " + name + " is fixed at its example value " + value +
         ", which the reference computes from no input as " + reference_node + " in " +
         (reference_module.empty() ? "<model>" : reference_module);
}

namespace {

// The port read in the reference's input and output shapes where those differ by unit dims
// only (Graph::with_unit_dims_of), with what was reshaped described; nullopt when nothing was.
std::optional<Graph> with_reference_unit_dims(const Graph& reference, const Graph& port, std::vector<std::string>& reshaped) {
  using Shape = std::vector<std::int64_t>;
  std::vector<std::optional<Shape>> inputs, outputs;
  auto same_but_unit_dims = [](const ops::TensorType& a, const ops::TensorType& b) {
    return a.dtype == b.dtype && shapes_differ_by_unit_dims(a.shape, b.shape);
  };
  for (std::size_t i = 0; i < reference.inputs().size() && i < port.inputs().size(); ++i) {
    const auto& r = reference.inputs()[i].type;
    const auto& p = port.inputs()[i].type;
    inputs.push_back(same_but_unit_dims(r, p) ? std::optional<Shape>(r.shape) : std::nullopt);
    if (inputs.back())
      reshaped.push_back("the port's input " + port.inputs()[i].name + " " + p.to_string() + " is read from the reference's " +
                         r.to_string() + " (the same elements without unit dims)");
  }
  for (std::size_t k = 0; k < reference.outputs().size() && k < port.outputs().size(); ++k) {
    const ops::TensorType* r = reference.type_of(reference.outputs()[k]);
    const ops::TensorType* p = port.type_of(port.outputs()[k]);
    outputs.push_back(r && p && same_but_unit_dims(*r, *p) ? std::optional<Shape>(r->shape) : std::nullopt);
    if (outputs.back())
      reshaped.push_back("the port's output " + port.outputs()[k].to_string() + " " + p->to_string() +
                         " is compared as the reference's " + r->to_string() + " (the same elements without unit dims)");
  }
  if (reshaped.empty()) return std::nullopt;
  return port.with_unit_dims_of(inputs, outputs);
}

}  // namespace

FixedPortInputs fix_extra_port_inputs(const Graph& reference, const Graph& given_port) {
  FixedPortInputs out;
  std::optional<Graph> adapted = with_reference_unit_dims(reference, given_port, out.reshaped);
  const Graph& port = adapted ? *adapted : given_port;
  if (adapted) out.port = *adapted;
  const std::size_t outputs = reference.outputs().size();
  if (port.outputs().size() > outputs) {
    for (std::size_t k = outputs; k < port.outputs().size(); ++k) out.unpaired_outputs.push_back(port.outputs()[k].to_string());
    out.port = port.with_outputs(outputs);
  }
  const std::size_t keep = reference.inputs().size();
  if (port.inputs().size() <= keep) return out;
  // (`out.port`, when set, already holds the adaptations above: fix its inputs from here on.)

  std::map<std::string, ops::Tensor> inputs;
  for (const auto& in : reference.inputs()) {
    if (!in.value) throw Error(ErrorKind::Value, reference.file() + ": example input " + in.name + " is not stored");
    inputs[in.name] = *in.value;
  }
  RunOptions options;
  options.mode = RunMode::Captured;
  RunResult run;
  try {
    run = run_graph(reference, inputs, options);
  } catch (const Error& e) {
    throw Error(ErrorKind::Value, port.file() + ": the port takes " + std::to_string(port.inputs().size()) +
                                      " inputs, the reference " + std::to_string(keep) +
                                      "; pairing the extra ones needs the reference's values, and it cannot run: " + e.what());
  }
  const std::set<std::string> free = input_free_nodes(reference);

  for (std::size_t i = keep; i < port.inputs().size(); ++i) {
    const GraphTensor& extra = port.inputs()[i];
    const std::string why = port.file() + ": the port takes input " + extra.name + " (" + extra.type.to_string() +
                            "), which the reference (" + std::to_string(keep) + " input(s)) does not";
    if (!extra.value) throw Error(ErrorKind::Value, why + ", and its example value is not stored");
    const std::vector<double> want = extra.value->to_doubles();
    const auto want_shape = values::squeezed(extra.value->shape());
    std::optional<FixedInput> found;
    for (const auto& node : reference.nodes()) {
      if (!free.count(node.name)) continue;
      const auto* v = run.find(node.name);
      if (!v) continue;
      for (const auto& t : *v) {
        // The same elements exactly, in a shape that differs at most by unit dims (arange(n)
        // against arange(n).unsqueeze(0)).
        if (t.numel() != static_cast<std::int64_t>(want.size()) || values::squeezed(t.shape()) != want_shape ||
            t.to_doubles() != want)
          continue;
        found = FixedInput{extra.name, brief(*extra.value), node.name, node.module};
        break;
      }
      if (found) break;
    }
    if (!found)
      throw Error(ErrorKind::Value, why + ": its example value " + brief(*extra.value) +
                                        " is no value the reference computes from its constants, so fixing it would "
                                        "prove the port for that one value only");
    out.fixed.push_back(*found);
  }
  out.port = (out.port ? *out.port : port).with_inputs_fixed(keep);
  return out;
}

Graph port_for(const Graph& reference, Graph port) {
  FixedPortInputs fixed = fix_extra_port_inputs(reference, port);
  return fixed.port ? std::move(*fixed.port) : std::move(port);
}

}  // namespace twin::check
