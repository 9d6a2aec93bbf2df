// Internal to verify/: from a Z3 model to a counterexample a reader can trust.
//
// A model is a refutation only once it is confirmed:
//   - exactly, when the rule uses no uninterpreted function: the model satisfies every
//     assumption of the instance (guard, lhs domain, input domain, axioms; a model of one
//     group's slice need not) and both sides, evaluated in the model, differ;
//   - by evaluation, when it does (exp, log, tanh, erf, sin, cos, the gelu constants): a
//     model of the abstraction may be spurious, so only its inputs are kept, and the guard,
//     the lhs's domain and both sides are evaluated with the real functions in long double
//     (NumericEval); the sides must differ by more than 1e-9 relative (clearly_differ), and a
//     guard read with approximations (free boolean atoms) never confirms.
// The fixed probe inputs (probe) are confirmed the same way, before any solving.
#pragma once

#include "verify/z3_checker.h"
#include "verify/z3_encoding.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace twin::verify {

// A numeral's exact value (nullopt for an algebraic number), and its value in long double.
std::optional<Rational> exact_value(const z3::expr& v);
long double approx_value(const z3::expr& v);

// Evaluates a term with the real functions in long double; inputs from `values` (by Z3 id).
// Anything it cannot evaluate sets `failed`.
struct NumericEval {
  const Z3Encoder& enc;
  std::map<unsigned, long double> values;  // uninterpreted constants (inputs) by id
  std::map<unsigned, long double> memo;
  bool failed = false;

  long double eval(const z3::expr& e);

 private:
  long double compute(const z3::expr& e);
};

// A tensor of model values (exact where rational), or of long double values.
ConcreteTensor concrete(const std::vector<std::int64_t>& shape, const std::vector<z3::expr>& values);
ConcreteTensor concrete_approx(const std::vector<std::int64_t>& shape, const std::vector<long double>& values);

// a and b differ by more than 1e-9 relative (to max(1, |a|, |b|)); never when either is NaN.
bool clearly_differ(long double a, long double b);

// The terms of one instance's check that models are confirmed against (owned by the check).
struct InstanceTerms {
  const Z3Instance& instance;
  Z3Encoder& encoder;
  const std::vector<std::pair<std::string, SymTensor>>& inputs;  // tensor variables' elements
  const z3::expr& guard;
  const z3::expr_vector& lhs_domain;
  const z3::expr_vector& input_domain;  // masks 0/1, indices integral
  const z3::expr_vector& axioms;
  const std::vector<std::pair<z3::expr, z3::expr>>& pairs;  // (lhs, rhs) output elements
  const std::vector<std::int64_t>& out_shape;               // the first output's shape
  const std::vector<z3::expr>& lhs_elements;                // the first output's elements
  const std::vector<z3::expr>& rhs_elements;
  const std::string& note;  // what every counterexample of the instance notes
  bool guard_approximated;  // the guard was read with free boolean atoms
};

class ModelConfirmation {
 public:
  explicit ModelConfirmation(const InstanceTerms& terms) : t_(terms) {}

  // The model's inputs as a counterexample (the sides not evaluated).
  Z3Counterexample inputs_of(const z3::model& m, const std::string& why) const;
  // Every assumption of the instance holds in m.
  bool satisfies_all(const z3::model& m) const;
  // Both sides, evaluated exactly in m, differ: the counterexample with both sides' values.
  std::optional<Z3Counterexample> exact(const z3::model& m) const;
  // c's inputs are admissible and both sides, evaluated in long double, clearly differ: c with
  // both sides' values and `how` added to its note.
  std::optional<Z3Counterexample> by_evaluation(Z3Counterexample c, const char* how) const;
  // by_evaluation on a model's inputs.
  std::optional<Z3Counterexample> by_evaluation(const z3::model& m) const;
  // Three fixed probe inputs (nonzero halves in [-2, 2], then their absolute values; masks and
  // indices 0 or 1), each confirmed by evaluation: the first that refutes.
  std::optional<Z3Counterexample> probe() const;

 private:
  InstanceTerms t_;
};

}  // namespace twin::verify
