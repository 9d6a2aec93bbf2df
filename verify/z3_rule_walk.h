// Internal to verify/: reading a rule for the Z3 checker, and evaluating its sides on one
// instance with the Z3 encoder.
//
//   - A node's children are read as verify/pattern_layout.h reads them (the registry's
//     signature); an op the registry does not know is not encodable.
//   - Variables by role (analyze): a variable in an operand position is a tensor, one in an
//     attribute position (`end=?k`) an integer; a variable used both ways is a tensor. A
//     variable filling a floating attribute (`scale=?s`) is a number variable: a tensor of
//     rank 0 whose value is the attribute's (the e-graph binds it to a constant, which the
//     right side may use as an operand, `x * ?s`); instances give it rank 0. A
//     variable that an op's operand domain makes a mask or an index (directly, or under
//     rearrangements such as squeeze and reshape that keep all of its elements) gets bool or
//     i64 as its dtype; the guard's `dtype(?x) == bf16` conjuncts override these hints.
//     Ops without a Z3 encoding are listed in RuleInfo::not_encodable.
//   - The Walker evaluates a side bottom-up. Each op's result type comes from the registry's
//     shape inference (ops::OpSpec::infer), and its elements from the encoder, whose shapes
//     must agree with that inference (else the op counts as not encodable). An op that
//     rejects its operands, or a result with no element, throws EncodingShapeError and
//     records the operand types at the failing node (the instance search uses them to unify
//     dims). With `shapes_only` the walk types the side without encoding it (placeholder
//     elements), so rules with ops Z3 cannot encode still get instances for random testing.
//     `getitem` picks one of its operand's tensors (split's outputs) in the walk itself.
#pragma once

#include "egraph/op_table.h"
#include "egraph/pattern.h"
#include "egraph/rewrite.h"
#include "ops/tensor_type.h"
#include "verify/pattern_layout.h"
#include "verify/z3_checker.h"
#include "verify/z3_encoding.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace twin::verify {

// verify::layout_of, with an unreadable node (an unknown op, too many arguments) reported as
// NotEncodable.
NodeLayout encoder_layout_of(const egraph::OpTable& ops, const egraph::Pattern& node);

// Variables by role: tensors (operand positions) and integers (attribute positions).
struct VarRoles {
  std::vector<std::string> tensors;
  std::vector<std::string> integers;
  std::map<std::string, ops::DType> dtype_hint;  // from op domains (masks, indices)
  std::set<std::string> numbers;  // tensors that fill a floating attribute: rank 0, python numbers
};

void collect_roles(const egraph::OpTable& ops, const egraph::Pattern& p, bool attribute, VarRoles& roles,
                   std::set<std::string>& not_encodable);

struct RuleInfo {
  VarRoles roles;
  std::set<std::string> not_encodable;
  std::map<std::string, ops::DType> dtypes;
};

RuleInfo analyze(const egraph::Rewrite& rule, const egraph::OpTable& ops);

// A side's value on an instance: its elements and its type.
struct TVal {
  SymTensor sym;
  ops::TensorType type;
};

struct Walker {
  const egraph::OpTable& ops;
  Z3Encoder& enc;
  const Z3Instance& inst;
  std::map<std::string, TVal> inputs;
  int nodes_done = 0;
  std::vector<std::vector<ops::TensorType>> failed_operands;  // operand types at the failing node
  std::string failure;
  std::set<std::string> mismatch_ops;  // encoder and ops::infer disagree
  // Typing only (the instance search): an op ops/ knows takes its result type from infer and
  // fresh placeholder elements, without being encoded, so rules with ops Z3 cannot encode
  // still get shapes (for the random tester).
  bool shapes_only = false;
  int placeholders = 0;

  std::vector<TVal> eval(const egraph::Pattern& p);

 private:
  // An attribute's value on this instance; what the encoder cannot read is not encodable.
  ops::AttrValue attr_of(const egraph::Pattern& p);
};

// Typing `side` on `inst` at the instance's own dtypes, without encoding it (a Walker with
// `shapes_only`, in `ctx`): the registry's shape and dtype inference, as PyTorch would reject
// an op. `error` is empty when it types; `readable` is false when the walk could not read the
// side at all (an op without a signature), and `failed_operands` are the operand types at the
// node that rejected its operands.
struct ShapeWalk {
  std::string error;
  bool readable = true;
  int nodes_done = 0;
  std::vector<std::vector<ops::TensorType>> failed_operands;
};
ShapeWalk walk_shapes(const egraph::OpTable& ops, const egraph::Pattern& side, const Z3Instance& inst, z3::context& ctx);

// Why `side` does not type on `inst` (walk_shapes), or "" when it types or typing cannot tell.
// Random testing evaluates in f64, where a dtype mismatch (a bf16 query with an f32 mask)
// goes unseen: this is how it sees one.
std::string typing_error(const egraph::OpTable& ops, const egraph::Pattern& side, const Z3Instance& inst);

}  // namespace twin::verify
