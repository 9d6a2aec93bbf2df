#include "check/rule_admission.h"

#include "check/graph_lowering.h"
#include "interp/egraph_bindings.h"
#include "interp/evaluator.h"
#include "interp/printer.h"
#include "ops/dtype.h"
#include "verify/verdict_cache.h"

#ifndef TWIN_BUILD_STDLIB_VERDICTS
#define TWIN_BUILD_STDLIB_VERDICTS ""
#endif

namespace twin::check {

namespace fs = std::filesystem;

namespace {

// Whether a pattern sets a dtype: a cast, or a dtype attribute (softmax(dtype=f32)).
bool sets_dtype(const egraph::Pattern& p, const egraph::OpTable& ops) {
  if (p.is_var()) return false;
  const egraph::OpInfo& info = ops.info(p.op);
  if (info.kind == egraph::OpKind::Apply && info.name == "cast") return true;
  if (info.kind == egraph::OpKind::Symbol && ops::parse_dtype(info.name)) return true;
  for (const auto& c : p.children)
    if (sets_dtype(c, ops)) return true;
  return false;
}

}  // namespace

std::vector<fs::path> default_read_only_caches() {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back(exe.parent_path() / "stdlib-verdicts");
  fs::path build(TWIN_BUILD_STDLIB_VERDICTS);
  if (!build.empty() && (out.empty() || out[0] != build)) out.push_back(build);
  return out;
}

std::string rule_meaning(const RuleDecl& decl) {
  std::string text = print_expr(*decl.lhs) + (decl.bidirectional ? " <=> " : " => ") + print_expr(*decl.rhs);
  if (decl.guard) text += " if " + print_expr(*decl.guard);
  return text;
}

verify::RuleReport verify_directions(const std::vector<egraph::Rewrite>& rewrites, const egraph::OpTable& ops,
                                     const verify::VerifyOptions& options) {
  auto strength = [](verify::Verdict v) {
    switch (v) {
      case verify::Verdict::Refuted: return 0;
      case verify::Verdict::Unknown: return 1;
      case verify::Verdict::Tested: return 2;
      case verify::Verdict::Proved: return 3;
    }
    return 1;
  };
  auto numerics_rank = [](const std::string& n) {
    return n == "changes precision" ? 0 : n == "within bf16 baseline" ? 1 : n == "exact" ? 2 : 3;
  };
  verify::RuleReport combined;
  for (std::size_t i = 0; i < rewrites.size(); ++i) {
    verify::RuleReport r = verify::verify_rule(rewrites[i], ops, options);
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

std::vector<AdmittedRule> admit_rules(Interpreter& interpreter, const std::shared_ptr<egraph::OpTable>& ops,
                                      const AdmissionOptions& options) {
  verify::VerdictCache cache;
  std::vector<verify::VerdictCache> read_only;
  for (const auto& dir : options.read_only_caches) read_only.emplace_back(dir);
  std::vector<AdmittedRule> out;
  for (const auto& ruleset : interpreter.evaluator().rulesets()) {
    for (const auto& rule : ruleset->rules()) {
      AdmittedRule a;
      a.name = ruleset->name() + "." + rule->name();
      const SourceLocation& at = rule->decl().location;
      a.file = at.file ? at.file->path() : "";
      a.line = at.line;
      std::vector<egraph::Rewrite> rewrites;
      try {
        rewrites = rule_to_rewrites(interpreter, *rule, ops);
      } catch (const Error& e) {
        a.report.verdict = verify::Verdict::Unknown;
        a.report.detail = e.message();
        out.push_back(std::move(a));
        continue;
      }
      std::string key = verify::VerdictCache::key(rule_meaning(rule->decl()), options.verify);
      if (options.use_cache) {
        if (auto hit = cache.find(key)) a.report = *hit, a.cached = true;
        for (std::size_t i = 0; !a.cached && i < read_only.size(); ++i)
          if (auto hit = read_only[i].find(key)) a.report = *hit, a.cached = true;
      }
      if (!a.cached) {
        if (options.on_verify) options.on_verify(a.name);
        try {
          a.report = verify_directions(rewrites, *ops, options.verify);
        } catch (const std::exception& e) {
          a.report.verdict = verify::Verdict::Unknown;
          a.report.detail = std::string("verification failed: ") + e.what();
        }
        if (options.use_cache && a.report.verdict != verify::Verdict::Unknown) cache.store(key, a.report);
      }
      a.admitted = a.report.verdict == verify::Verdict::Proved || a.report.verdict == verify::Verdict::Tested;
      // Precision for `twin check`: the rule changes the precision at which something is
      // computed (it moves, adds or drops a cast). Rules whose floating-point results differ
      // only by rounding order (row-parallel partial sums, x / 4 against x * 0.25) are the
      // everyday freedom of a port, not a precision difference.
      bool dtype_rule = false;
      for (const auto& r : rewrites) dtype_rule = dtype_rule || sets_dtype(r.lhs, *ops) || sets_dtype(r.rhs, *ops);
      a.changes_precision = a.report.numerics == "changes precision" && dtype_rule;
      for (auto& r : rewrites) {
        r.name = a.name;
        r.lhs = canonical_pattern(r.lhs, *ops);
        r.rhs = canonical_pattern(r.rhs, *ops);
        a.rewrites.push_back(std::move(r));
      }
      out.push_back(std::move(a));
    }
  }
  return out;
}

}  // namespace twin::check
