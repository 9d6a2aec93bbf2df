// How a pattern node's children are read: which are tensor operands and which are
// attributes (by name). Shared by the Z3 checker and the random tester so both read a rule
// the same way.
//
// Rules (the language's lowering, egraph/op_table.h):
//   - the op's signature (tensor operands, attributes in order) comes from the op registry,
//     ops::find_op (a name or an alias); an op it does not know throws LayoutError (unknown_op);
//   - the trailing children named by OpInfo::attr_names are those attributes;
//   - of the positional children, the first `operand_slots` are operands, except that a
//     dtype leaf (`cast(?x, f32)`: a Symbol naming a dtype) is always an attribute; the
//     remaining positional children take the op's attributes in order, skipping the ones
//     given by name; a dtype leaf with no attribute left becomes `dtype`;
//   - more positional children than the op takes throws LayoutError.
// A list operand (`cat([?a, ?b], dim=-1)`) is one operand child (the Apply op `list`).
#pragma once

#include "egraph/op_table.h"
#include "egraph/pattern.h"
#include "egraph/scalar_expr.h"
#include "ops/attributes.h"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace twin::verify {

struct NodeLayout {
  int operand_slots = 0;                // positional children that are tensor operands
  std::vector<std::string> child_attr;  // per child: attribute name, or "" for an operand
};

class LayoutError : public std::invalid_argument {
 public:
  LayoutError(std::string op, const std::string& why, bool unknown_op)
      : std::invalid_argument("`" + op + "`: " + why), op_(std::move(op)), unknown_op_(unknown_op) {}
  const std::string& op() const { return op_; }
  bool unknown_op() const { return unknown_op_; }

 private:
  std::string op_;
  bool unknown_op_;
};

// `node` must be an Apply node. Throws LayoutError as described above.
NodeLayout layout_of(const egraph::OpTable& ops, const egraph::Pattern& node);

// The value an attribute child spells, for one instantiation of the rule: an integer
// variable (`end=?k`) takes its value from `integers`; constants, strings, dtype names,
// true/false/none, `-n` and lists of integers (`dims=[-1]`) are read from the pattern.
// Throws std::invalid_argument for anything else (an op in an attribute position).
std::int64_t attribute_integer(const egraph::OpTable& ops, const egraph::Pattern& child,
                               const std::map<std::string, std::int64_t>& integers);
ops::AttrValue attribute_value(const egraph::OpTable& ops, const egraph::Pattern& child,
                               const std::map<std::string, std::int64_t>& integers);

// The dtypes a guard fixes: each conjunct `dtype(?x) == bf16` gives ?x its dtype.
void collect_dtype_facts(const egraph::ScalarExpr& guard, std::map<std::string, ops::DType>& out);

}  // namespace twin::verify
