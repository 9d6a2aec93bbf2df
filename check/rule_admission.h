// Which rules `twin check` may use: only those `twin verify` accepts.
//
// Every rule of the loaded files is verified exactly as `twin verify` does (both directions of
// a `<=>` rule; the weaker verdict wins) and admitted when it is `proved` or `tested`. Refuted
// and unknown rules are left out and listed. Verdicts come from the verdict caches when the
// rule's meaning is unchanged (verify/verdict_cache.h): the user's cache, then read-only
// caches such as the one the build fills for the stdlib (`<build>/stdlib-verdicts`), so a
// check on a fresh machine does not re-verify the stdlib.
//
// An admitted rule that moves, adds or drops a cast and whose numerics verdict is "changes
// precision" holds in real arithmetic only: a proof that uses it proves "equivalent in real
// arithmetic". (Rounding-order differences, e.g. summing row-parallel partial products, are
// not precision differences: the values keep their dtypes.)
#pragma once

#include "egraph/op_table.h"
#include "egraph/rewrite.h"
#include "interp/interpreter.h"
#include "interp/term.h"
#include "verify/rule_verifier.h"

#include <filesystem>
#include <functional>
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
  std::vector<egraph::Rewrite> rewrites;  // canonical form (check/graph_lowering.h), named `name`
};

// The stdlib's verdicts the build computed: `stdlib-verdicts` next to the running executable
// (build/twin), and the build tree's (for other programs of the same build, such as tests).
std::vector<std::filesystem::path> default_read_only_caches();

struct AdmissionOptions {
  verify::VerifyOptions verify;
  bool use_cache = true;
  std::vector<std::filesystem::path> read_only_caches = default_read_only_caches();
  // Called before a rule is verified (not for cache hits): for a progress display.
  std::function<void(const std::string& rule)> on_verify;
};

// The rule's meaning without annotations: what the verdict cache key hashes.
std::string rule_meaning(const RuleDecl& decl);

// A `<=>` rule holds when both directions do: the weakest direction's verdict (and the worst
// numerics) is the rule's.
verify::RuleReport verify_directions(const std::vector<egraph::Rewrite>& rewrites, const egraph::OpTable& ops,
                                     const verify::VerifyOptions& options);

// Every rule declared in `interpreter` (load the files first), in declaration order.
std::vector<AdmittedRule> admit_rules(Interpreter& interpreter, const std::shared_ptr<egraph::OpTable>& ops,
                                      const AdmissionOptions& options);

}  // namespace twin::check
