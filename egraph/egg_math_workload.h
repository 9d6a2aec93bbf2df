// egg's math workload (egg 0.9.5, tests/math.rs), ported as a reference workload for
// Twin's tests and benchmarks (bench/egg_ematching.cpp).
//
// Operators use Twin's names: + - * / become add sub mul div; d (derivative), i
// (integral), pow, ln, sqrt, sin, cos keep egg's names. Constant folding follows egg's
// ConstantFold analysis: only add sub mul div fold (pow does not), division by zero folds
// to nothing, and a class with a constant keeps only its leaf nodes (prune = true).
// egg folds over f64; Twin folds exactly, which only differs where floats would round.
// Each rule carries its guard both as IR and as the Twin language text it corresponds to.
#pragma once

#include "egraph/constant_folding.h"
#include "egraph/egraph.h"
#include "egraph/rewrite.h"

#include <memory>
#include <string>
#include <vector>

namespace twin::egraph::egg_math {

struct RuleText {
  std::string name;
  std::string lhs;    // s-expression (sexpr.h)
  std::string rhs;
  std::string guard;  // in the Twin language, empty when none, e.g. `?b != 0`
};

// The 36 active rules of tests/math.rs, in egg's order (its two commented-out
// rules, canon-sub and canon-div, are not included).
const std::vector<RuleText>& rule_texts();
std::vector<Rewrite> rules(OpTable& ops);
// Only the named rules (e.g. {"comm-add", "assoc-add"} for math_associate_adds).
std::vector<Rewrite> rules(OpTable& ops, const std::vector<std::string>& names);

ConstantFolding::Options folding_options();
// An e-graph configured like egg's EGraph<Math, ConstantFold>.
EGraph make_egraph(std::shared_ptr<OpTable> ops, bool explanations = false);

// The seven start expressions of math_ematching_bench.
const std::vector<std::string>& bench_expressions();
// The extra patterns math_ematching_bench searches for.
const std::vector<std::string>& bench_extra_patterns();

struct Goal {
  std::string name;   // egg's test name
  std::string start;  // s-expression
  std::string goal;   // must end up in the start's class
  std::size_t node_limit = 10'000;
  std::size_t iter_limit = 30;
  double time_limit = 5.0;
  std::vector<std::string> extra_terms;  // added before running (egg's with_expr hack)
};
// The goals of tests/math.rs that egg proves (math_fail is excluded).
const std::vector<Goal>& goals();

}  // namespace twin::egraph::egg_math
