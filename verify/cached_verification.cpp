#include "verify/cached_verification.h"

#ifndef TWIN_BUILD_STDLIB_VERDICTS
#define TWIN_BUILD_STDLIB_VERDICTS ""
#endif

namespace twin::verify {

namespace fs = std::filesystem;

std::vector<fs::path> default_read_only_caches() {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back(exe.parent_path() / "stdlib-verdicts");
  fs::path build(TWIN_BUILD_STDLIB_VERDICTS);
  if (!build.empty() && (out.empty() || out[0] != build)) out.push_back(build);
  return out;
}

RuleReport verify_directions(const std::vector<egraph::Rewrite>& rewrites, const egraph::OpTable& ops,
                             const VerifyOptions& options) {
  auto strength = [](Verdict v) {
    switch (v) {
      case Verdict::Refuted: return 0;
      case Verdict::Unknown: return 1;
      case Verdict::Tested: return 2;
      case Verdict::Proved: return 3;
    }
    return 1;
  };
  auto numerics_rank = [](const std::string& n) {
    return n == "changes precision" ? 0 : n == "within bf16 baseline" ? 1 : n == "exact" ? 2 : 3;
  };
  RuleReport combined;
  for (std::size_t i = 0; i < rewrites.size(); ++i) {
    RuleReport r = verify_rule(rewrites[i], ops, options);
    if (i > 0 && !r.counterexample.empty()) r.counterexample = "right to left: " + r.counterexample;
    if (i == 0) {
      combined = r;
      continue;
    }
    double seconds = combined.seconds + r.seconds;
    if (strength(r.verdict) < strength(combined.verdict)) {
      std::string numerics = combined.numerics;
      combined = r;
      combined.numerics = numerics;
    }
    if (numerics_rank(r.numerics) < numerics_rank(combined.numerics)) {
      combined.numerics = r.numerics;
      combined.r_ratio = r.r_ratio;
    }
    combined.seconds = seconds;
  }
  return combined;
}

namespace {

std::optional<VerdictCache> open_cache(const VerificationOptions& options) {
  if (!options.use_cache) return std::nullopt;  // no cache: nothing read, nothing written, no key made
  return VerdictCache({options.cache_directory, options.write_cache, options.key_file, options.warn});
}

}  // namespace

CachedVerifier::CachedVerifier(VerificationOptions options) : options_(std::move(options)), cache_(open_cache(options_)) {
  if (options_.use_cache)
    for (const auto& dir : options_.read_only_caches) read_only_.emplace_back(VerdictCache::Options{dir, false, options_.key_file, options_.warn});
}

VerifiedRule CachedVerifier::verify(const compiler::CompiledRule& rule, const egraph::OpTable& ops) {
  VerifiedRule out;
  std::string key = VerdictCache::key(rule.meaning_text, options_.verify);
  if (cache_)
    if (auto hit = cache_->find(key, rule.meaning_text)) return {*hit, true};
  for (const auto& cache : read_only_)
    if (auto hit = cache.find(key, rule.meaning_text)) return {*hit, true};
  if (options_.on_verify) options_.on_verify(rule.source->qualified_name());
  try {
    out.report = verify_directions(rule.meaning, ops, options_.verify);
  } catch (const std::exception& e) {
    out.report.verdict = Verdict::Unknown;
    out.report.detail = std::string("verification failed: ") + e.what();
  }
  if (cache_ && out.report.verdict != Verdict::Unknown) cache_->store(key, rule.meaning_text, out.report);
  return out;
}

}  // namespace twin::verify
