// Which rules `twin check` may use: only those `twin verify` accepts. The first stage of a
// check.
//
// Every compiled rule is verified as `twin verify` does, through the one verification loop
// (verify/cached_verification.h: both directions of a `<=>` rule, the weaker verdict wins,
// verdicts cached), and admitted when it is `proved` or `tested`. Refuted and unknown rules are
// left out and listed.
//
// An admitted rule that moves, adds or drops a cast and whose numerics verdict is "changes
// precision" holds in real arithmetic only: a proof that uses it proves "equivalent in real
// arithmetic". (Rounding-order differences, e.g. summing row-parallel partial products, are
// not precision differences: the values keep their dtypes.)
#pragma once

#include "compiler/rule_compiler.h"
#include "egraph/op_table.h"
#include "egraph/rewrite.h"
#include "verify/cached_verification.h"

#include <memory>
#include <string>
#include <vector>

namespace twin::check {

struct AdmittedRule {
  std::string name;     // "norm.rmsnorm_fused_residual" (ruleset.rule)
  std::string file;
  int line = 0;
  verify::RuleReport report;
  bool cached = false;
  bool admitted = false;           // proved or tested
  // numerics "changes precision" and the rule sets a dtype (a cast, a dtype attribute): it
  // moves, adds or drops a cast, so a proof using it holds in real arithmetic only
  bool changes_precision = false;
  std::vector<egraph::Rewrite> rewrites;  // the rule's meaning (canonical form), named `name`
};

// Whether a rule makes a proof hold in real arithmetic only: its numerics verdict is "changes
// precision" and its meaning sets a dtype (a cast, a dtype attribute: softmax(dtype=f32)), so it
// moves, adds or drops a cast. Rules whose floating-point results differ only by rounding order
// (row-parallel partial sums, x / 4 against x * 0.25) are the everyday freedom of a port, not a
// precision difference. Given rules and synthesized ones are judged alike.
bool changes_precision(const verify::RuleReport& report, const std::vector<egraph::Rewrite>& meaning,
                       const egraph::OpTable& ops);

// The verification options `twin check` uses by default: the user's cache, then the build's
// stdlib verdicts.
verify::VerificationOptions default_admission();

// Every rule of the compiler's declarations, in declaration order. A rule that does not
// compile is not admitted (unknown, with the compiler's message).
std::vector<AdmittedRule> admit_rules(compiler::RuleCompiler& compiler, const verify::VerificationOptions& options);

}  // namespace twin::check
