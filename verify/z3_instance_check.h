// Internal to verify/: checking a rule on one concrete instance with Z3.
//
// Both sides are encoded on the instance (verify/z3_rule_walk.h); the assumptions are the
// guard at the value level (verify/z3_guard.h), the lhs's domain conditions, the input domain
// (masks 0/1, indices integral) and the axioms of the uninterpreted functions. The question is
// whether some output element can differ. The steps, each of which may decide
// (docs/verification.md, "How Z3 is asked"):
//   1. the rhs must type wherever the lhs does, and both sides must have the same shapes
//      (a rewrite merges e-classes, and a class holds terms of one type);
//   2. fixed probe inputs, where the sides use sqrt or an uninterpreted function;
//   3. slices: the output elements grouped by the inputs they depend on, each group checked
//      with only the constraints over those inputs (unsat there is unsat overall), first over
//      one denominator, then as written; a group's model may refute the whole instance;
//   4. the full check, whose models are confirmed (verify/z3_counterexample.h);
//   5. the rhs's domain: the rhs must be defined wherever the lhs is;
//   6. vacuity: a guard that admits no input makes the instance "vacuous".
// Every solver call has the per-call timeout and a watchdog that interrupts the context a
// little after it (Z3 4.8.12 does not always honour its timeout); an interrupted call answers
// unknown, never unsat.
#pragma once

#include "egraph/op_table.h"
#include "egraph/rewrite.h"
#include "verify/z3_checker.h"

#include <optional>
#include <set>
#include <string>

namespace twin::verify {

struct InstanceOutcome {
  std::string result;  // unsat sat unknown timeout vacuous
  std::optional<Z3Counterexample> cex;
  bool numeric = false;  // sat confirmed by evaluation
  std::string reason;
};

// Checks one instance: lhs != rhs under the guard and the lhs's domain. Adds the uninterpreted
// functions the sides use to `ufs`. Throws NotEncodable when an op has no encoding, and what
// Z3 throws.
InstanceOutcome check_instance(const egraph::Rewrite& rule, const egraph::OpTable& ops, const Z3Instance& inst,
                               const Z3Options& options, std::set<std::string>& ufs);

}  // namespace twin::verify
