#include "capture/graph_runner.h"

#include "util/error.h"
#include "ops/op_spec.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>

namespace twin {

const char* run_mode_name(RunMode mode) {
  switch (mode) {
    case RunMode::Captured: return "captured";
    case RunMode::F32: return "f32";
    case RunMode::BF16: return "bf16";
    case RunMode::F64: return "f64";
  }
  return "?";
}

std::optional<RunMode> parse_run_mode(std::string_view name) {
  if (name == "captured" || name == "as_captured" || name == "as captured") return RunMode::Captured;
  if (name == "f32" || name == "fp32" || name == "float32") return RunMode::F32;
  if (name == "bf16" || name == "bfloat16") return RunMode::BF16;
  if (name == "f64" || name == "fp64" || name == "float64") return RunMode::F64;
  return std::nullopt;
}

const std::vector<ops::Tensor>* RunResult::find(std::string_view name) const {
  for (const auto& [n, v] : values)
    if (n == name) return &v;
  return nullptr;
}

namespace {

ops::DType mode_dtype(ops::DType d, RunMode mode) {
  if (!ops::is_floating(d) || mode == RunMode::Captured) return d;
  switch (mode) {
    case RunMode::F32: return ops::DType::F32;
    case RunMode::F64: return ops::DType::F64;
    default: return ops::DType::BF16;
  }
}

ops::Tensor convert(const ops::Tensor& t, RunMode mode) {
  ops::DType d = mode_dtype(t.dtype(), mode);
  return d == t.dtype() ? t : t.to(d);
}

}  // namespace

RunResult run_graph(const Graph& graph, const std::map<std::string, ops::Tensor>& given, const RunOptions& options) {
  const std::string& file = graph.file();
  RunMode mode = options.mode;
  auto fail = [&](const std::string& what) -> void { throw Error(ErrorKind::Value, file + ": " + what); };
  // Rounded as the kernels of the torch that captured the graph round (ops/tensor.h).
  ops::NumericsScope numerics(ops::numerics_for_torch_version(graph.torch_version()));

  for (const auto& [name, t] : given) {
    bool known = false;
    for (const auto& in : graph.inputs()) known = known || in.name == name;
    if (!known) fail("run: the graph has no input '" + name + "'");
  }

  // The last node index that reads each value (graph outputs live to the end).
  std::unordered_map<std::string, std::size_t> last_use;
  const auto& nodes = graph.nodes();
  for (std::size_t i = 0; i < nodes.size(); ++i)
    for (const auto& r : nodes[i].reads) last_use[r] = i;
  for (const auto& o : graph.outputs()) last_use[o.name] = nodes.size();
  std::set<std::string, std::less<>> keep;
  if (options.keep) {
    for (const auto& k : *options.keep) {
      if (!graph.find_node(k) && !graph.find_tensor(k)) fail("run: keep names no value '" + k + "'");
      keep.insert(k);
    }
  }
  bool keep_all = !options.keep.has_value();

  std::unordered_map<std::string, std::vector<ops::Tensor>> live;
  RunResult result;
  auto record = [&](const std::string& name, std::vector<ops::Tensor> v, bool is_input) {
    if ((keep_all && (is_input || graph.find_node(name))) || keep.count(name)) result.values.emplace_back(name, v);
    live[name] = std::move(v);
  };

  // Inputs, parameters, buffers, constants.
  for (const auto& in : graph.inputs()) {
    ops::Tensor t;
    if (auto it = given.find(in.name); it != given.end()) {
      t = it->second;
      if (!t.defined()) fail("run: input '" + in.name + "' is not a tensor");
      if (t.shape() != in.type.shape)
        fail("run: input '" + in.name + "' has shape " + t.type().to_string() + ", the graph was captured with " +
             in.type.to_string() + " (sizes are constants in a traced graph)");
      if (ops::is_floating(in.type.dtype) != ops::is_floating(t.dtype()))
        fail("run: input '" + in.name + "' is " + t.type().to_string() + ", the graph expects " + in.type.to_string());
      if (mode == RunMode::Captured && t.dtype() != in.type.dtype) t = t.to(in.type.dtype);
    } else if (in.value) {
      t = *in.value;
    } else {
      fail("run: input '" + in.name + "' was not given and the graph stores no example value");
    }
    record(in.name, {convert(t, mode)}, true);
  }
  for (const auto* list : {&graph.parameters(), &graph.buffers(), &graph.constants()}) {
    for (const auto& p : *list) {
      if (!p.value) fail("run: '" + p.name + "' has no stored value (captured without weights)");
      record(p.name, {convert(*p.value, mode)}, false);
    }
  }

  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const GraphNode& node = nodes[i];
    std::string where = "node '" + node.name + "' (" + node.aten_op + (node.module.empty() ? "" : " in " + node.module) + ")";
    if (auto it = options.overrides.find(node.name); it != options.overrides.end()) {
      if (it->second.size() != node.outputs.size())
        fail(where + ": the override gives " + std::to_string(it->second.size()) + " values, the graph records " +
             std::to_string(node.outputs.size()));
      for (std::size_t k = 0; k < it->second.size(); ++k)
        if (it->second[k].shape() != node.outputs[k].shape)
          fail(where + ": the override for output " + std::to_string(k) + " is " + it->second[k].type().to_string() +
               ", the graph records " + node.outputs[k].to_string());
      record(node.name, it->second, false);
      if (!keep_all) {
        for (const auto& r : node.reads)
          if (last_use[r] == i && !keep.count(r)) live.erase(r);
        if (!last_use.count(node.name) && !keep.count(node.name)) live.erase(node.name);
      }
      continue;
    }
    if (node.opaque)
      fail(where + ": cannot run an opaque op (" + node.opaque_reason + "); Twin has no mapping for " + node.aten_op);
    std::vector<std::vector<ops::Tensor>> step_out;
    for (const auto& step : node.steps) {
      std::vector<ops::Tensor> operands;
      ops::Attributes attrs = step.attributes;
      for (std::size_t k = 0; k < step.operands.size(); ++k) {
        const GraphOperand& o = step.operands[k];
        ops::Tensor t;
        switch (o.kind) {
          case GraphOperand::Kind::Value: {
            auto it = live.find(o.ref.name);
            if (it == live.end() || static_cast<std::size_t>(o.ref.output) >= it->second.size())
              fail(where + ": value '" + o.ref.to_string() + "' is not available");
            t = it->second[o.ref.output];
            break;
          }
          case GraphOperand::Kind::Step:
            t = step_out.at(o.step).at(o.output);
            break;
          case GraphOperand::Kind::Scalar:
            t = ops::Tensor::python_scalar(o.scalar, o.integral);
            break;
        }
        if (static_cast<int>(k) == step.dtype_like) {
          attrs["dtype"] = ops::AttrValue{t.dtype()};
          continue;
        }
        operands.push_back(std::move(t));
      }
      if (auto it = attrs.find("dtype"); it != attrs.end() && step.dtype_like < 0) {
        if (auto* d = std::get_if<ops::DType>(&it->second.value)) it->second.value = mode_dtype(*d, mode);
      }
      // Re-typed to bf16, a fill of finfo(f32).min (HF's additive mask) would overflow: it
      // means "the most negative finite value of the dtype", so it saturates to bf16's.
      if (mode == RunMode::BF16)
        for (const char* key : {"fill_value", "value"})
          if (auto it = attrs.find(key); it != attrs.end() && std::holds_alternative<Rational>(it->second.value)) {
            const Rational bf16_max(3.3895313892515355e+38);  // (2 - 2^-7) * 2^127
            Rational& v = std::get<Rational>(it->second.value);
            if (v > bf16_max) v = bf16_max;
            if (v < -bf16_max) v = -bf16_max;
          }
      try {
        step_out.push_back(ops::evaluate(step.op, operands, attrs));
      } catch (const std::exception& e) {
        std::string types;
        for (const auto& t : operands) types += (types.empty() ? "" : ", ") + t.type().to_string();
        fail(where + ": " + step.op + "(" + types + ") failed: " + e.what());
      }
    }
    std::vector<ops::Tensor> out;
    if (node.results.empty()) {
      if (step_out.empty()) fail(where + ": the mapping has no steps");
      out = step_out.back();
    } else {
      for (auto [s, k] : node.results) out.push_back(step_out.at(s).at(k));
    }
    if (out.size() != node.outputs.size())
      fail(where + ": computed " + std::to_string(out.size()) + " outputs, the graph records " +
           std::to_string(node.outputs.size()));
    for (std::size_t k = 0; k < out.size(); ++k) {
      const ops::TensorType& want = node.outputs[k];
      bool shape_ok = out[k].shape() == want.shape;
      bool dtype_ok = mode != RunMode::Captured || out[k].dtype() == want.dtype;
      if (!shape_ok || !dtype_ok)
        fail(where + ": computed " + out[k].type().to_string() + ", the graph records " + want.to_string() +
             (node.outputs.size() > 1 ? " for output " + std::to_string(k) : ""));
    }
    record(node.name, std::move(out), false);
    // Free what no later node reads, unless kept.
    if (!keep_all) {
      for (const auto& r : node.reads)
        if (last_use[r] == i && !keep.count(r)) live.erase(r);
      if (!last_use.count(node.name) && !keep.count(node.name)) live.erase(node.name);
    }
  }

  for (const auto& o : graph.outputs()) {
    auto it = live.find(o.name);
    if (it == live.end() || static_cast<std::size_t>(o.output) >= it->second.size())
      fail("run: graph output '" + o.to_string() + "' was not computed");
    result.outputs.push_back(it->second[o.output]);
  }
  return result;
}

double replay_tolerance(ops::DType capture_dtype) {
  return capture_dtype == ops::DType::BF16 || capture_dtype == ops::DType::F16 ? 1e-2 : 1e-6;
}

ReplayResult replay_graph(const Graph& graph) {
  const auto& expected = graph.example_outputs();
  if (expected.empty() && !graph.outputs().empty())
    throw Error(ErrorKind::Value, graph.file() + ": replay: the graph stores no example outputs");
  for (std::size_t i = 0; i < expected.size(); ++i)
    if (!expected[i])
      throw Error(ErrorKind::Value, graph.file() + ": replay: example output " + std::to_string(i) + " is not stored");
  RunOptions options;
  options.keep = std::vector<std::string>{};  // only the outputs
  if (getenv("TWIN_REPLAY_F64")) options.mode = RunMode::F64;
  RunResult run = run_graph(graph, {}, options);
  ReplayResult result;
  result.tolerance = replay_tolerance(graph.capture_dtype());
  result.ok = true;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ReplayOutput o;
    o.name = graph.outputs()[i].to_string();
    std::vector<double> a = run.outputs[i].to_doubles(), b = expected[i]->to_doubles();
    if (a.size() != b.size()) throw Error(ErrorKind::Value, graph.file() + ": replay: output " + o.name + " has the wrong size");
    for (std::size_t k = 0; k < a.size(); ++k) {
      double d;
      if (std::isnan(a[k]) || std::isnan(b[k])) d = std::isnan(a[k]) && std::isnan(b[k]) ? 0 : std::numeric_limits<double>::infinity();
      else if (a[k] == b[k]) d = 0;  // equal infinities
      else d = std::abs(a[k] - b[k]);
      o.max_abs_error = std::max(o.max_abs_error, d);
      if (std::isfinite(b[k])) o.max_abs_reference = std::max(o.max_abs_reference, std::abs(b[k]));
    }
    o.rel_error = o.max_abs_reference > 0 ? o.max_abs_error / o.max_abs_reference : o.max_abs_error;
    o.ok = o.rel_error <= result.tolerance;
    result.ok = result.ok && o.ok;
    result.max_rel_error = std::max(result.max_rel_error, o.rel_error);
    result.outputs.push_back(o);
  }
  return result;
}

}  // namespace twin
