// Checking a rewrite rule with Z3.
//
// check_rule_z3 instantiates both sides of a rule on several small concrete shapes allowed by
// its guard and by the ops' typing (shape inference is ops::find_op(name)->infer), encodes
// them with Z3Encoder (every element a Real), assumes the guard's value constraints and the
// lhs's input domain, and asks Z3 whether some output element can differ:
//   - unsat on every instance (and the rhs defined wherever the lhs is): Proved;
//   - sat with a model that really distinguishes the two sides: Refuted, with a
//     counterexample. Without uninterpreted functions the model is checked exactly; with them
//     (exp, log, tanh, erf...) a model may be spurious, so it is only reported when evaluating
//     both sides on it with the real functions (long double) shows a clear difference
//     (`numeric_confirmation`); otherwise Unknown;
//   - timeout, an unconfirmed model, or no instance found: Unknown ("unknown" is never
//     "proved");
//   - some op lacks an encoding: NotEncodable (the caller falls back to random testing).
#pragma once

#include "egraph/op_table.h"
#include "egraph/rewrite.h"
#include "ops/tensor_type.h"
#include "util/rational.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin::verify {

// One concrete instantiation: a type per tensor variable, a value per integer variable.
struct Z3Instance {
  std::map<std::string, ops::TensorType> tensors;  // by variable name (no '?')
  std::map<std::string, std::int64_t> integers;    // attribute variables: ?k, ?n
  // A variant of the previous instance's ranks: other integer values, or a unit dim under a
  // squeeze. Variants follow their instance and do not count against Z3Options::instances.
  bool variant = false;
  // "?a: f32[2, 3], ?b: f32[3, 4], ?k = 2"
  std::string to_string() const;
};

struct Z3Options {
  unsigned timeout_ms = 10000;  // per solver call
  int instances = 3;            // concrete shape instantiations to prove
  std::int64_t max_dim = 5;     // dims are drawn from 2..max_dim (1 only when needed)
  int max_confirm_attempts = 4; // models tried when uninterpreted functions make them suspect
  // A hard wall-clock limit on the whole check (instance search, every solver call, model
  // evaluation), in seconds. Z3 4.8.12 does not always stop at its timeout nor when
  // interrupted (its nonlinear arithmetic can run on in code that never checks either), so
  // when this is > 0 the check runs in a child process (verify/isolated_call.h) that is killed
  // at the limit, and the verdict is Unknown. 0: the check runs in this process, bounded only
  // by the per-call timeouts and the watchdog that interrupts the context.
  double wall_seconds = 60;
  // When not empty: the instances to check (the first `instances` of them) instead of
  // searching; the caller found them with find_instances (rule_verifier.cpp searches once for
  // Z3 and random testing). Empty: check_rule_z3 searches.
  std::vector<Z3Instance> instances_given;
};

// A tensor of concrete values (a counterexample's input or a side's value).
struct ConcreteTensor {
  std::vector<std::int64_t> shape;
  std::vector<std::optional<Rational>> exact;  // row-major; nullopt when not rational
  std::vector<long double> approx;             // row-major
  std::vector<std::string> text;               // exact text, or a decimal approximation
  // "[[1, 0], [2, 1]]"; a rank-0 tensor is "3"; after 64 elements, "..."
  std::string to_string() const;
};

struct Z3Counterexample {
  Z3Instance instance;
  std::map<std::string, ConcreteTensor> inputs;  // by variable name
  ConcreteTensor lhs, rhs;                       // both sides on the inputs
  std::string note;                              // e.g. "rhs undefined (division by zero)"
  // Multi-line: the instance's shapes, `?a = [[1, 0], [2, 1]]` per variable, lhs and rhs.
  std::string to_string() const;
};

enum class Z3Status { Proved, Refuted, Unknown, NotEncodable };
const char* z3_status_name(Z3Status status);  // "proved", "refuted", "unknown", "not encodable"

struct Z3InstanceResult {
  Z3Instance instance;
  std::string result;  // "unsat", "sat", "unknown", "timeout", "vacuous"
  double seconds = 0;
};

struct Z3Verdict {
  Z3Status status = Z3Status::Unknown;
  std::string reason;                       // why Unknown / NotEncodable; what Refuted found
  std::vector<std::string> not_encodable;   // ops without an encoding (NotEncodable)
  std::vector<std::string> uninterpreted;   // uninterpreted functions the rule uses
  std::vector<Z3InstanceResult> instances;  // what was checked, in order
  std::optional<Z3Counterexample> counterexample;
  bool numeric_confirmation = false;  // Refuted through a model of the UF abstraction, confirmed by evaluation
  double seconds = 0;
};

Z3Verdict check_rule_z3(const egraph::Rewrite& rule, const egraph::OpTable& ops, const Z3Options& options = {});

// The shape instantiations check_rule_z3 would use (for tests and for the random tester,
// which may reuse them). Empty when none is found. Throws nothing.
std::vector<Z3Instance> find_instances(const egraph::Rewrite& rule, const egraph::OpTable& ops,
                                       const Z3Options& options = {});

}  // namespace twin::verify
