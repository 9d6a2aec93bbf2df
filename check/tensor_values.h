// Tensor constants as an e-class analysis: the concrete value of every class that depends on
// no graph input and no parameter (RoPE tables, causal masks, position ids), and the unions
// this justifies.
//
// Both graphs of a check build their constants their own way: the reference computes
// cos(cat(freqs, freqs)) from `inv_freq` on every call, the port reads a precomputed
// cos/sin cache; the reference adds a -inf triangle, the port fills a boolean mask. Rules
// rearrange those terms (cos(cat(a, b)) = cat(cos a, cos b), ...), and when two classes hold
// constants with the same dtype, shape and bits, they denote the same value: this analysis
// unions them (justification "equal_constant_values").
//
// What each node implies:
//   - a Symbol leaf registered with set_leaf_value (a buffer or a graph constant) has that
//     value; no other symbol has one (inputs and parameters are unknowns);
//   - a Constant leaf is a python scalar (ops::Tensor::python_scalar);
//   - `list` of valued classes is a tuple (cat's operand);
//   - another Apply node of a known op whose tensor operands all have values is evaluated
//     with ops::evaluate (the ATen function PyTorch calls), its attributes read from the
//     shape analysis (which must be registered first). Errors imply nothing.
// Soundness: a union is made only between classes whose values are bit for bit identical
// (same dtype, same shape, every element the same bits; -0 and +0 differ), and a value is
// only ever computed by evaluating the node's op on its children's values, so it is the
// value of every term in the class.
//
// One exception, named apart ("equal_constant_values_within_1_ulp"): a value *stored* in a
// graph file (a buffer or constant, or slices and rearrangements of one: ops that copy
// values, OpSpec::copies_values) was computed by the PyTorch that captured the graph, and
// Twin's own evaluation of the same math may round differently (a port's cos/sin table made
// by torch 2.11's cos against the reference's cos evaluated by Twin's libtorch). A stored
// floating value and a value Twin computed are unioned when every element is within one unit
// in the last place of the other, and no element is exact where the other is not finite. Values are at most `max_elements` elements each
// (larger constants are left symbolic) to bound memory.
#pragma once

#include "egraph/analysis.h"
#include "egraph/egraph.h"
#include "ops/constant_values.h"
#include "ops/tensor.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace twin::check {

class TensorValueAnalysis final : public egraph::Analysis, public ops::ConstantValues {
 public:
  struct Value {
    ops::Tensor tensor;                 // a single tensor (nullptr tensor for a tuple)
    std::vector<ops::Tensor> tuple;     // `list`: its items
    std::vector<double> elements;       // tensor: row-major, exact (every dtype fits a double)
    std::size_t hash = 0;
    bool is_tuple = false;
    bool stored = false;  // taken from a graph's stored tensors by ops that copy values
  };

  static constexpr std::string_view kName = ops::ConstantValues::kAnalysisName;
  explicit TensorValueAnalysis(std::int64_t max_elements = 1 << 22) : max_elements_(max_elements) {}

  std::string_view name() const override { return kName; }
  std::unique_ptr<egraph::Analysis> clone() const override { return std::make_unique<TensorValueAnalysis>(*this); }
  void grow(std::size_t n_ids) override { data_.resize(n_ids); }
  bool join_node(const egraph::EGraph& graph, egraph::EClassId cls, egraph::OpId op,
                 std::span<const egraph::EClassId> children) override;
  egraph::MergeResult merge(egraph::EClassId into, egraph::EClassId from) override;
  void modify(egraph::EGraph& graph, egraph::EClassId cls) override;
  std::string describe(const egraph::EGraph& graph, egraph::EClassId cls) const override;

  // The value of a symbol leaf (before the leaf is added to the e-graph).
  void set_leaf_value(egraph::OpId symbol, const ops::Tensor& value);
  // The value of a class, if it is a known constant.
  const Value* value(const egraph::EGraph& graph, egraph::EClassId cls) const;
  // ops::ConstantValues: what guards read (every_row_attends).
  const std::vector<double>* constant_elements(const egraph::EGraph& graph, egraph::EClassId cls) const override {
    const Value* v = value(graph, cls);
    return v && !v->is_tuple ? &v->elements : nullptr;
  }
  // Unions made because two classes held identical values (or, stored against computed, within
  // one ulp).
  std::size_t value_unions() const { return value_unions_; }

 private:
  std::optional<Value> implied(const egraph::EGraph& graph, egraph::OpId op,
                               std::span<const egraph::EClassId> children) const;
  std::int64_t max_elements_;
  std::vector<std::shared_ptr<const Value>> data_;
  std::map<egraph::OpId, ops::Tensor> leaves_;
  // value hash -> classes holding a value with that hash (checked element by element)
  std::unordered_multimap<std::size_t, egraph::EClassId> by_hash_;
  // (dtype, shape) hash -> floating classes, for the within-one-ulp comparison
  std::unordered_multimap<std::size_t, egraph::EClassId> by_type_;
  std::size_t value_unions_ = 0;
};

// An Apply e-node's value from its operands' values (`operand(child)`: the tensors of an
// operand class, one or a `list`'s items; nullopt when unknown), evaluated with ops::evaluate
// and the attributes the shape analysis reads from its attribute children. nullopt when an
// operand or attribute is unknown, the op is not a single-output registry op, or it does not
// evaluate there. The analysis above and fingerprints (check/fingerprints.h) evaluate alike.
std::optional<ops::Tensor> evaluate_apply(
    const egraph::EGraph& graph, egraph::OpId op, std::span<const egraph::EClassId> children,
    const std::function<std::optional<std::vector<ops::Tensor>>(egraph::EClassId)>& operand);

// Registers the analysis (after ops::add_shape_analysis) and returns it.
TensorValueAnalysis& add_tensor_value_analysis(egraph::EGraph& graph);

}  // namespace twin::check
