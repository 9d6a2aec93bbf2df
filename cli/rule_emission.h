// Writing rules down: the annotations that record how a rule was verified (`twin verify
// --write`), and the `.rules` file of the rules a check synthesized (`twin check
// --emit-rules`), both formatted by the one canonical printer so they are `twin fmt` clean.
#pragma once

#include "check/check_result.h"
#include "interp/ast.h"
#include "verify/rule_verifier.h"

#include <string>
#include <vector>

namespace twin::cli {

// @verified(z3) / @verified(random, trials=256, seed=7), and @numerics(...) when the rule is not
// exact in floating point. A refuted or unknown rule records nothing: it is not verified.
std::vector<Annotation> verdict_annotations(const verify::RuleReport& report);

// The synthesized rules the check's proof used, as a formatted `.rules` file: each annotated
// with how it was verified and its numerics, after a comment naming where it was made and the
// modules where it fired. `reference` and `port` name the graphs in the header comment.
std::string synthesized_rules_text(const check::CheckResult& result, const std::string& reference,
                                   const std::string& port);

}  // namespace twin::cli
