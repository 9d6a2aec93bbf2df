// Internal to verify/: evaluating a rule's sides through libtorch (ops::evaluate, behind the
// ops::Tensor handle), and comparing them.
//
// Precision modes (Mode):
//   - Real: floating tensors in f64, every cast to a floating dtype becomes a cast to f64, any
//     narrower floating result is widened: the rule is judged in real arithmetic up to f64
//     rounding (random testing);
//   - Low: as written, at deployment precision (numerics);
//   - Ref: as written, but every floating dtype narrower than f32 becomes f32 (the numerics'
//     reference).
// Integer and bool tensors keep their dtypes in every mode.
//
// Comparison (compare) is elementwise: |lhs - rhs| <= atol + rtol * max(|lhs|, |rhs|). An lhs
// element that is not finite is outside the lhs's domain and is not compared, except an
// infinity where the lhs writes an infinite constant (masked_fill(..., value="-inf")): there it
// is a value, and the rhs must be the same infinity. A rhs that is not finite where the lhs
// is, or different shapes (a scalar side against a tensor side included: a rewrite never
// changes a term's shape), refute; so does a rhs that does not evaluate where the lhs does.
#pragma once

#include "egraph/op_table.h"
#include "egraph/pattern.h"
#include "ops/tensor.h"
#include "verify/random_inputs.h"
#include "verify/random_tester.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace twin::verify::random_testing {

enum class Mode {
  Real,  // floating tensors in f64, casts to floating dtypes become casts to f64
  Low,   // as written (deployment precision)
  Ref,   // as written, but every floating dtype narrower than f32 becomes f32
};

ops::DType map_dtype(ops::DType d, Mode mode);

// Elementwise arithmetic by the registry (ops::OpSpec::elementwise), or a cast or identity.
bool elementwise_op(const std::string& name);

struct Evaluator {
  const egraph::OpTable& ops;
  Mode mode;
  const std::map<std::string, ops::Tensor>& values;
  const std::map<std::string, std::int64_t>& integers;
  // When set, records each variable operand's domain (kind, index bound).
  std::map<std::string, VarInfo>* domains = nullptr;

  // The side's value(s); throws (std::exception) when it does not evaluate.
  std::vector<ops::Tensor> eval(const egraph::Pattern& p) const;

 private:
  ops::AttrValue attr_of(const egraph::Pattern& p) const;
  ops::Tensor settle(const ops::Tensor& t) const;
  // The variable an operand is, or only rearranges (squeeze(?i), reshape(?i), ...): an op's
  // domain for the operand (indices in range, positive values, masks) applies to every element
  // of the variable, since these rearrangements keep all of its elements (a slice, which drops
  // some, is not one: drawing the dropped ones from the domain would narrow the test).
  std::optional<std::string> rearranged_var(const egraph::Pattern& p) const;
  void record_domains(const std::string& op, const std::vector<std::pair<std::string, int>>& vars,
                      const std::vector<ops::Tensor>& operands, const ops::Attributes& attrs) const;
};

// ---- comparing the sides -------------------------------------------------------------------

struct Comparison {
  bool rhs_failed = false;  // the rhs did not evaluate where the lhs did
  bool shapes_differ = false;
  bool differ = false;
  std::int64_t compared = 0;  // lhs elements that were finite
  double max_diff = 0;
  std::int64_t where = -1;
  std::string note;
};

// `infinite_values`: the rule writes an infinite constant (masked_fill's value="-inf"), so an
// infinite lhs element is a value of the lhs, to be matched by the same infinity; otherwise an
// lhs element that is not finite is outside the lhs's domain (log(0), 1/0) and not compared.
Comparison compare(const ops::Tensor& lhs, const ops::Tensor& rhs, double rtol, double atol, bool infinite_values);

// ---- one trial -----------------------------------------------------------------------------

struct Trial {
  bool evaluated = false;  // the lhs evaluated (then the rhs did too, or cmp.rhs_failed)
  std::string error;       // why the lhs, or the rhs, did not evaluate
  ops::Tensor lhs, rhs;
  Comparison cmp;
};

// Both sides in Mode::Real on the values, compared with the options' tolerances.
Trial run_trial(const Setup& s, const Z3Instance& inst, const std::map<std::string, VarInfo>& infos,
                const std::map<std::string, std::vector<double>>& values, const RandomOptions& o);

inline bool fails(const Trial& t) { return t.evaluated && t.cmp.differ; }

}  // namespace twin::verify::random_testing
