// Constraint-aware random testing of a rewrite rule, and its numerics.
//
// test_rule_random instantiates the rule on several concrete shapes allowed by its guard and
// the ops' typing (find_instances, shared with the Z3 checker), draws inputs that satisfy the
// guard's value constraints and each op's input domain (positive values for rsqrt/log,
// in-range integer indices, boolean masks), evaluates both sides through libtorch in float64
// (every floating dtype promoted to f64, so the rule is judged in real arithmetic), and
// compares. A failing trial is a counterexample, shrunk to the smallest failing instance.
//
// judge_numerics judges, for a rule that holds in real arithmetic, whether it is also exact
// in floating point. It evaluates both sides at deployment precision (each tensor variable
// in the dtype its guard gives it, else bf16) and a reference in fp32 (the left side with
// every floating dtype promoted to f32), then applies the 3-tensor R-ratio of the
// Equivalence guide in both directions:
//   R = ||rhs_low - ref_fp32|| / (||lhs_low - ref_fp32|| + eps)   and the same with the sides
//   swapped; R_max = the larger. Verdict: `exact` when both sides are bitwise identical on every
//   trial; `within bf16 baseline` when R_max <= 1.2 (the guide's default τ_R); otherwise
//   `changes precision`. Where the input space is small (one bf16 tensor variable and only
//   elementwise ops), every finite bf16 value in the domain is tested: 65,536 at most.
#pragma once

#include "egraph/op_table.h"
#include "egraph/rewrite.h"
#include "ops/tensor_type.h"
#include "verify/z3_checker.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin::verify {

struct RandomOptions {
  int trials = 256;          // total input draws, spread over the instances
  std::uint64_t seed = 7;
  int instances = 4;         // shape instantiations
  double relative_tolerance = 1e-9;  // in float64 (real arithmetic up to rounding)
  double absolute_tolerance = 1e-12;
  // Wall-clock budget in seconds (0: none). Once it has passed, no more inputs are drawn: a
  // rule not refuted by then is Unknown ("out of time"), never Passed; numerics say Unknown.
  double seconds = 0;
  // When not empty: the shape instances to test (find_instances with `instances` and max_dim 5,
  // done once by the caller); empty: test_rule_random and judge_numerics search.
  std::vector<Z3Instance> instances_given;
};

enum class RandomStatus { Passed, Refuted, Unknown };
const char* random_status_name(RandomStatus status);  // "passed", "refuted", "unknown"

// A refuting trial in structured form (the values are exactly the ones evaluated, in f64 for
// floating tensors), so callers can re-check it.
struct RandomCounterexample {
  std::map<std::string, ops::TensorType> types;       // per tensor variable (no '?')
  std::map<std::string, std::vector<double>> inputs;  // row-major values
  std::map<std::string, std::int64_t> integers;       // attribute variables (?k)
  std::vector<std::int64_t> lhs_shape, rhs_shape;
  std::vector<double> lhs, rhs;                       // row-major values of both sides
};

struct RandomVerdict {
  RandomStatus status = RandomStatus::Unknown;
  int trials = 0;                     // trials run
  bool exhaustive = false;            // every value of the input space was tested
  std::string reason;                 // why Unknown (no instance, evaluation error ...)
  std::string counterexample;         // Refuted: the shrunk instance, inputs, both sides
  double seconds = 0;
  // Added fields.
  int skipped = 0;                    // draws where the lhs was undefined everywhere (domain)
  std::int64_t swept_values = 0;      // one-variable elementwise rules: bf16 values also swept in f64
  std::optional<RandomCounterexample> example;  // Refuted: the shrunk counterexample
};

RandomVerdict test_rule_random(const egraph::Rewrite& rule, const egraph::OpTable& ops,
                               const RandomOptions& options = {});

enum class Numerics { Exact, WithinBaseline, ChangesPrecision, Unknown };
const char* numerics_name(Numerics numerics);  // "exact", "within bf16 baseline", "changes precision", "unknown"

struct NumericsVerdict {
  Numerics numerics = Numerics::Unknown;
  double r_ratio = 0;        // R_max over the trials (0 when exact)
  bool exhaustive = false;
  std::string detail;        // e.g. "R = 3.1e+05 (rhs keeps f32 where lhs rounds to bf16)"
  // Added fields.
  double r_forward = 0;      // ||rhs_low - ref|| / (||lhs_low - ref|| + eps)
  double r_backward = 0;     // ||lhs_low - ref|| / (||rhs_low - ref|| + eps)
  int trials = 0;            // input draws (an exhaustive sweep counts one)
};

NumericsVerdict judge_numerics(const egraph::Rewrite& rule, const egraph::OpTable& ops,
                               const RandomOptions& options = {});

}  // namespace twin::verify
