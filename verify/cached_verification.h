// Verifying compiled rules with the verdict cache: the one loop that `twin verify`, `twin
// check` (which rules it may use) and synthesis share.
//
// A rule is verified by its meaning (compiler/rule_compiler.h: declared ops' bodies expanded),
// each direction of a `<=>` rule on its own: the weakest direction's verdict and the worst
// numerics are the rule's. A verdict comes from a cache when the rule's meaning and the
// options that change the outcome are unchanged (verify/verdict_cache.h): the user's cache
// first, then read-only caches such as the one the build fills for the stdlib. Unknown
// verdicts are never stored: the next run tries again. Cached entries are believed only when
// this user's key signed them for this rule (verdict_cache.h); anything else is verified again.
#pragma once

#include "compiler/rule_compiler.h"
#include "egraph/op_table.h"
#include "egraph/rewrite.h"
#include "verify/rule_verifier.h"
#include "verify/verdict_cache.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace twin::verify {

struct VerificationOptions {
  VerifyOptions verify;
  bool use_cache = true;
  bool write_cache = true;  // false: the user's cache is read, never written (no key is made)
  std::filesystem::path cache_directory;  // empty: VerdictCache's default location
  std::vector<std::filesystem::path> read_only_caches;
  std::filesystem::path key_file;  // empty: SigningKey::default_file()
  // Called before a rule is verified (not for cache hits), with its qualified name: for a
  // progress display.
  std::function<void(const std::string& rule)> on_verify;
  // Told, once per kind of problem, why a cache or a cached entry is not believed.
  std::function<void(const std::string& message)> warn;
};

struct VerifiedRule {
  RuleReport report;
  bool cached = false;
};

// The stdlib's verdicts the build computed: `stdlib-verdicts` next to the running executable
// (build/twin), and the build tree's (for other programs of the same build, such as tests).
std::vector<std::filesystem::path> default_read_only_caches();

// A `<=>` rule holds when both directions do: the weakest direction's verdict (and the worst
// numerics) is the rule's.
RuleReport verify_directions(const std::vector<egraph::Rewrite>& rewrites, const egraph::OpTable& ops,
                             const VerifyOptions& options);

class CachedVerifier {
 public:
  explicit CachedVerifier(VerificationOptions options);

  // The rule's verdict, from a cache or verified now (then stored, unless unknown). Never
  // throws for a rule that cannot be verified: that is an unknown verdict with the reason.
  VerifiedRule verify(const compiler::CompiledRule& rule, const egraph::OpTable& ops);

  const VerificationOptions& options() const { return options_; }

 private:
  VerificationOptions options_;
  std::optional<VerdictCache> cache_;
  std::vector<VerdictCache> read_only_;
};

}  // namespace twin::verify
