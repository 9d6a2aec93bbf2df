// Tensor shape and dtype as an e-class analysis, and the guard queries built on it:
//   shape(?x) -> "[2, 8, 64]" (a String, so `shape(?a) == shape(?b)` compares shapes)
//   dim(?x, i) -> Number (i may be negative: -1 is the last dim)
//   rank(?x), numel(?x) -> Number;  dtype(?x) -> "bf16"
// A query on a class whose type is unknown (or that holds a tuple) answers Unknown, so a
// guard using it fails.
//
// What each node implies:
//   - a Symbol leaf whose name carries its type after a colon, `x: bf16[2, 8, 64]` (the
//     language's spelling of a typed symbol), has that type; other symbols have none;
//   - a Constant leaf is a python scalar: f32[] (i64[] when an integer), python_scalar set;
//   - `list` of typed classes is a tuple of their types (cat's and stack's operand);
//   - any other Apply node infers through find_op(name)->infer: its trailing children named
//     by OpInfo::attr_names are the attributes (with no names, children beyond the op's
//     operand count are its attributes in the OpSpec's order); the operand children's types
//     are flattened in place where the op takes a list (cat, stack, getitem);
//     split and chunk give a tuple, read with getitem(t, index=i).
// Each class also records the attribute value its leaves spell: a Constant (number), a
// String, a Symbol `true`/`false`/`none` or a dtype name (`bf16`), or a `list` of integers.
//
// Merging keeps the known type. Two different known types (or attribute values) meeting in
// one class is a contradiction: the first is kept and contradictions() describes it.
#pragma once

#include "egraph/analysis.h"
#include "egraph/scalar_expr.h"
#include "ops/attributes.h"
#include "ops/tensor_type.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twin::ops {

class ShapeAnalysis final : public egraph::Analysis {
 public:
  struct Data {
    bool typed = false;              // types holds what is known
    bool tuple = false;              // a list or a multi-output op: types has one entry per item
    std::vector<TensorType> types;   // one entry for a tensor
    std::optional<AttrValue> attr;   // the attribute value the class's leaves spell
    bool operator==(const Data&) const = default;
  };

  static constexpr std::string_view kName = "shape";
  std::string_view name() const override { return kName; }
  std::unique_ptr<egraph::Analysis> clone() const override { return std::make_unique<ShapeAnalysis>(*this); }
  void grow(std::size_t n_ids) override { data_.resize(n_ids); }
  bool join_node(const egraph::EGraph& graph, egraph::EClassId cls, egraph::OpId op,
                 std::span<const egraph::EClassId> children) override;
  egraph::MergeResult merge(egraph::EClassId into, egraph::EClassId from) override;
  std::string describe(const egraph::EGraph& graph, egraph::EClassId cls) const override;

  // The data of class `cls` (any id; canonicalized).
  const Data& data(const egraph::EGraph& graph, egraph::EClassId cls) const;
  // The type of a class holding one tensor; nullopt when unknown or a tuple.
  std::optional<TensorType> type_of(const egraph::EGraph& graph, egraph::EClassId cls) const;
  // What the node implies, from its children's data.
  Data implied(const egraph::EGraph& graph, egraph::OpId op, std::span<const egraph::EClassId> children) const;

  bool contradiction() const { return !contradictions_.empty(); }
  const std::vector<std::string>& contradictions() const { return contradictions_; }

 private:
  bool join(egraph::EClassId cls, const Data& d);
  std::vector<Data> data_;
  std::vector<std::string> contradictions_;
};

// Registers the ShapeAnalysis on an (empty) e-graph.
void add_shape_analysis(egraph::EGraph& graph);

// Adds shape dim rank numel dtype to `queries` (they answer Unknown without a ShapeAnalysis).
void register_shape_queries(egraph::QueryRegistry& queries);

// The type a typed symbol's name carries: "x: bf16[2, 8, 64]" -> bf16[2, 8, 64].
std::optional<TensorType> typed_symbol_type(std::string_view symbol_name);

}  // namespace twin::ops
