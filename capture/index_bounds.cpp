// Index bounds of a graph's inputs (index_bounds.h).
#include "capture/index_bounds.h"

#include "ops/op_spec.h"

#include <algorithm>
#include <exception>
#include <vector>

namespace twin::capture {

std::map<std::string, std::int64_t> input_index_bounds(const Graph& graph) {
  std::map<std::string, std::string> derived;  // value -> the input it rearranges
  for (const auto& in : graph.inputs()) derived[in.name] = in.name;
  std::map<std::string, std::int64_t> bounds;
  for (const GraphNode& node : graph.nodes()) {
    if (node.opaque) continue;
    for (const GraphStep& step : node.steps) {
      const ops::OpSpec* spec = ops::find_op(step.op);
      if (!spec) continue;
      std::vector<ops::TensorType> types;
      bool typed = true;
      for (const auto& o : step.operands) {
        if (o.kind == GraphOperand::Kind::Value && graph.type_of(o.ref)) types.push_back(*graph.type_of(o.ref));
        else if (o.kind == GraphOperand::Kind::Scalar) types.push_back(ops::python_scalar_type(o.integral));
        else typed = false;
      }
      for (std::size_t k = 0; k < step.operands.size() && k < spec->domains.size(); ++k) {
        const GraphOperand& o = step.operands[k];
        if (spec->domains[k].kind != ops::OperandDomain::Kind::Index || o.kind != GraphOperand::Kind::Value) continue;
        auto it = derived.find(o.ref.name);
        if (it == derived.end() || !typed) continue;
        try {
          std::int64_t bound = ops::index_bound(*spec, k, types, step.attributes);
          auto [b, inserted] = bounds.emplace(it->second, bound);
          if (!inserted) b->second = std::min(b->second, bound);
        } catch (const std::exception&) {
        }
      }
    }
    // A node that only rearranges a derived value derives from the same input.
    if (node.steps.size() == 1 && !node.steps[0].operands.empty()) {
      const GraphOperand& first = node.steps[0].operands[0];
      const ops::OpSpec* spec = ops::find_op(node.steps[0].op);
      if (spec && spec->rearranges && first.kind == GraphOperand::Kind::Value)
        if (auto it = derived.find(first.ref.name); it != derived.end()) derived[node.name] = it->second;
    }
  }
  return bounds;
}

std::vector<std::optional<std::int64_t>> paired_input_index_bounds(const Graph& reference, const Graph& port) {
  const auto ref_bounds = input_index_bounds(reference), port_bounds = input_index_bounds(port);
  std::vector<std::optional<std::int64_t>> out(reference.inputs().size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (auto b = ref_bounds.find(reference.inputs()[i].name); b != ref_bounds.end()) out[i] = b->second;
    if (i < port.inputs().size())
      if (auto b = port_bounds.find(port.inputs()[i].name); b != port_bounds.end())
        out[i] = out[i] ? std::min(*out[i], b->second) : b->second;
  }
  return out;
}

}  // namespace twin::capture
