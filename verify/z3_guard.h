// Internal to verify/: a rule's guard as Z3 terms, at two levels.
//
//   - Shape level (instance search): tensor variables have symbolic dims and integer variables
//     are symbolic; `rank dim shape numel dtype` queries become terms, and what the level
//     cannot see (a tensor's values) is Opaque: a comparison involving it becomes a fresh
//     boolean (`approximated`), free to be true or false, so it constrains nothing.
//   - Value level (checking an instance): dims and integers are the instance's numbers, and a
//     tensor variable is its SymTensor of element terms. A comparison between tensors, or a
//     tensor and a number, is elementwise with broadcasting and holds when it holds for every
//     element (`?b != 0`: no element is 0).
// A guard the translator cannot read (an ill-typed comparison, `dim` out of range) reads as
// false, so it admits nothing rather than anything. `dtype(?x)` reads the variable's dtype
// (f32 when none is known).
#pragma once

#include "egraph/scalar_expr.h"
#include "ops/dtype.h"
#include "verify/z3_encoding.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin::verify {

// The sizes a shape text spells, as the e-graph's `shape` query writes it ("[1, 8, 64]"): the
// query compares texts, so a text written any other way never equals a shape there, and is
// not read either (nullopt).
std::optional<std::vector<std::int64_t>> parse_shape_text(const std::string& text);

// A guard's value: numbers (elementwise over a shape), a boolean, a string, a shape, or
// something the current level cannot see (tensor values while solving shapes).
struct GVal {
  enum class Kind { Num, Bool, Str, ShapeList, Opaque, Invalid } kind = Kind::Invalid;
  std::vector<std::int64_t> shape;
  std::vector<z3::expr> elems;  // Num: elements (Real); Bool: one element; ShapeList: dims (Real)
  std::string str;
};

struct GuardTranslator {
  using SE = egraph::ScalarExpr;
  using Shape = std::vector<std::int64_t>;

  z3::context& ctx;
  bool value_level = false;
  std::map<std::string, std::vector<z3::expr>> dims;  // per tensor variable, its dims (Real terms)
  std::map<std::string, z3::expr> integers;            // integer variables (Real terms)
  std::map<std::string, ops::DType> dtypes;
  std::map<std::string, SymTensor> tensors;  // value level
  bool approximated = false;                 // an atom was replaced by a free boolean
  int fresh = 0;

  // The guard (or any boolean part of it) as a Z3 boolean.
  z3::expr as_bool(const SE& e);
  GVal tr(const SE& e);

 private:
  GVal num(z3::expr e);
  GVal boolean(z3::expr e);
  z3::expr free_bool();
  std::optional<std::int64_t> constant_int(const GVal& v);
  z3::expr real(const Rational& r);
  template <class F>
  std::optional<GVal> zip(const GVal& a, const GVal& b, F&& f);
  GVal query(const SE& e);
};

}  // namespace twin::verify
