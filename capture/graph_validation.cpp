// A node's steps typed through the op registry, then compared with what the capture recorded.
// Types are compared by dtype and shape: `python_scalar` is a property of an operand, never of
// a recorded output.
#include "capture/graph_validation.h"

#include "ops/op_spec.h"

namespace twin::capture {

namespace {

// The inferred types of a node's steps, in order; the error says which step failed and why.
struct StepTypes {
  std::vector<std::vector<ops::TensorType>> outputs;
  std::optional<std::string> error;
};

const ops::TensorType* step_output(const StepTypes& steps, int step, int output) {
  if (step < 0 || static_cast<std::size_t>(step) >= steps.outputs.size()) return nullptr;
  const auto& outs = steps.outputs[static_cast<std::size_t>(step)];
  if (output < 0 || static_cast<std::size_t>(output) >= outs.size()) return nullptr;
  return &outs[static_cast<std::size_t>(output)];
}

StepTypes infer_steps(const GraphNode& node,
                      const std::function<const ops::TensorType*(const GraphRef&)>& value_type) {
  StepTypes out;
  for (std::size_t s = 0; s < node.steps.size(); ++s) {
    const GraphStep& step = node.steps[s];
    auto fail = [&](const std::string& why) {
      out.error = "step " + std::to_string(s) + " (" + step.op + "): " + why;
      return out;
    };
    const ops::OpSpec* spec = ops::find_op(step.op);
    if (!spec) return fail("not an op Twin knows");
    std::vector<ops::TensorType> operands;
    ops::Attributes attributes = step.attributes;
    for (std::size_t i = 0; i < step.operands.size(); ++i) {
      const GraphOperand& o = step.operands[i];
      ops::TensorType type;
      switch (o.kind) {
        case GraphOperand::Kind::Value: {
          const ops::TensorType* t = value_type(o.ref);
          if (!t) return fail("no recorded type for " + o.ref.to_string());
          type = *t;
          break;
        }
        case GraphOperand::Kind::Step: {
          const ops::TensorType* t = step_output(out, o.step, o.output);
          if (!t) return fail("reads no earlier step's output (" + std::to_string(o.step) + ", " + std::to_string(o.output) + ")");
          type = *t;
          break;
        }
        case GraphOperand::Kind::Scalar:
          type = ops::python_scalar_type(o.integral);
          break;
      }
      // The operand whose run-time dtype is the attribute `dtype` (type_as): not an operand.
      if (static_cast<int>(i) == step.dtype_like) {
        attributes["dtype"] = ops::AttrValue{type.dtype};
        continue;
      }
      operands.push_back(std::move(type));
    }
    try {
      out.outputs.push_back(spec->infer(operands, ops::complete_attributes(*spec, attributes)));
    } catch (const ops::ShapeError& e) {
      std::string types;
      for (std::size_t i = 0; i < operands.size(); ++i) types += (i ? ", " : "") + operands[i].to_string();
      return fail("the recorded operand types (" + types + ") do not fit: " + e.what());
    }
  }
  return out;
}

bool same_type(const ops::TensorType& a, const ops::TensorType& b) { return a.dtype == b.dtype && a.shape == b.shape; }

}  // namespace

std::optional<std::string> recorded_type_mismatch(
    const GraphNode& node, const std::function<const ops::TensorType*(const GraphRef&)>& value_type) {
  if (node.opaque || node.steps.empty()) return std::nullopt;
  StepTypes steps = infer_steps(node, value_type);
  if (steps.error) return steps.error;
  // The node's results: the declared (step, output) pairs, else every output of the last step.
  std::vector<ops::TensorType> results;
  if (node.results.empty()) {
    results = steps.outputs.back();
  } else {
    for (auto [s, o] : node.results) {
      const ops::TensorType* t = step_output(steps, s, o);
      if (!t) return "a result reads no step's output (" + std::to_string(s) + ", " + std::to_string(o) + ")";
      results.push_back(*t);
    }
  }
  const std::string gives = node.twin_op() + " gives ";
  if (results.size() != node.outputs.size())
    return std::to_string(node.outputs.size()) + " output(s) recorded, but " + gives + std::to_string(results.size());
  for (std::size_t k = 0; k < results.size(); ++k)
    if (!same_type(results[k], node.outputs[k]))
      return "output " + std::to_string(k) + " is recorded as " + node.outputs[k].to_string() + ", but " + gives +
             results[k].to_string();
  return std::nullopt;
}

}  // namespace twin::capture
