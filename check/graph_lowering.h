// Lowering captured graphs into one e-graph, in a canonical form that rules can match.
//
// A graph's nodes are already mapped onto Twin ops (capture/graph.h: GraphNode::steps). This
// adds them to an e-graph as terms over *sources*: typed symbols for the inputs (shared by
// both graphs, matched by position), the reference's parameters, and whatever the caller
// substitutes for the port's parameters (their relations to the reference's); buffers and
// graph constants are symbols whose values the TensorValueAnalysis knows.
//
// Canonical form (every op goes through GraphLowering::add_op; rules are in the compiler's
// canonical form, compiler/canonical_form.h, which this extends with what only the types of a
// graph's values decide, so a rule written `slice(?x, dim=-1, start=0, end=?k)` matches a
// traced `x[..., :k]`):
//   - attributes complete (defaults filled in) and in the op's declared order (ops/op_spec.h);
//   - every dim counted from the end: `dim=-1` for the last dim whatever the rank (unsqueeze
//     and stack count against the result's rank); transpose names its dims in increasing
//     order; reduction dims are sorted;
//   - slice bounds resolved: 0 <= start <= end <= size (`x[..., k:]` traces end=2^63-1);
//     reshape and expand sizes resolved (no -1); a reshape of a reshape is one reshape; a
//     reshape that drops one leading unit dim is `squeeze(x, dim=-rank(x))`, one that inserts
//     it is `unsqueeze(x, dim=-rank(x)-1)` (vLLM's token layout against [1, seq, hidden]);
//   - split and chunk become one slice per piece; another multi-output op (topk, sort) is its
//     tuple read with getitem;
//   - the identities are not added: a cast to the operand's dtype, a reshape or expand to its
//     shape, a whole-tensor slice, transpose of a dim with itself, a repeat or repeat_interleave
//     by 1 (Llama-2-7B has as many KV heads as heads), contiguous, clone, detach.
// Each of these is a definition (the two forms denote the same value), not a rule.
#pragma once

#include "capture/graph.h"
#include "check/tensor_values.h"
#include "egraph/egraph.h"
#include "egraph/pattern.h"
#include "compiler/term.h"
#include "compiler/term_printer.h"
#include "ops/attributes.h"
#include "ops/tensor_type.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin::check {

struct LoweredValue {
  egraph::EClassId id = 0;
  std::optional<ops::TensorType> type;  // nullopt for a tuple or an opaque node's output
};

// One graph node output, as lowered.
struct LoweredNode {
  std::string node;    // "linear_3"
  int output = 0;
  std::string module;  // "layers.0.self_attn.q_proj"
  std::string op;      // Twin's op(s): GraphNode::twin_op()
  std::string aten_op;
  LoweredValue value;
};

struct LoweredGraph {
  std::vector<LoweredValue> outputs;  // in the graph's order
  std::vector<LoweredNode> nodes;     // topological order
};

class GraphLowering {
 public:
  GraphLowering(egraph::EGraph& graph, TensorValueAnalysis& values) : graph_(graph), values_(values) {}

  // A typed symbol `name: f32[2, 8]`, with a known value when `value` is given.
  LoweredValue leaf(const std::string& name, const ops::TensorType& type,
                    const std::optional<ops::Tensor>& value = std::nullopt);
  // A graph constant: a rank-0 i64 tensor (a size the trace turned into a tensor, `x / x.shape[-1]`)
  // is the number itself, as a python int (PyTorch promotes a 0-dim i64 tensor exactly as a
  // python int); anything else is leaf(name, type, value).
  LoweredValue constant(const std::string& name, const ops::TensorType& type, const std::optional<ops::Tensor>& value);
  // Adds op `name` on operands with attributes, in canonical form (see above). Returns the
  // operand itself for an identity. Throws twin::Error (Value) for an op Twin does not know or
  // operands that do not fit it.
  LoweredValue add_op(const std::string& name, const std::vector<LoweredValue>& operands, ops::Attributes attributes);
  // split / chunk: one slice per piece.
  std::vector<LoweredValue> add_pieces(const std::string& name, const LoweredValue& input, ops::Attributes attributes);
  // Another multi-output op (topk, sort): the op's tuple and one getitem(tuple, index=k) per
  // output.
  std::vector<LoweredValue> add_tuple(const std::string& name, const std::vector<LoweredValue>& operands,
                                      ops::Attributes attributes);
  // A term (a parameter relation) over named sources.
  LoweredValue add_term(const Term& term, const std::map<std::string, LoweredValue>& sources);
  // Every node of `graph`, reading the graph's inputs, parameters, buffers and constants from
  // `sources` (by name). Throws twin::Error (Value) naming the node when one cannot be lowered.
  LoweredGraph lower(const Graph& graph, const std::map<std::string, LoweredValue>& sources);

 private:
  egraph::EClassId attribute_leaf(const ops::AttrValue& value);
  egraph::EGraph& graph_;
  TensorValueAnalysis& values_;
};

}  // namespace twin::check
