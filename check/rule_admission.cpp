#include "check/rule_admission.h"

#include "ops/dtype.h"
#include "util/error.h"

namespace twin::check {

namespace {

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

bool changes_precision(const verify::RuleReport& report, const std::vector<egraph::Rewrite>& meaning,
                       const egraph::OpTable& ops) {
  if (report.numerics != "changes precision") return false;
  for (const auto& r : meaning)
    if (sets_dtype(r.lhs, ops) || sets_dtype(r.rhs, ops)) return true;
  return false;
}

verify::VerificationOptions default_admission() {
  verify::VerificationOptions options;
  options.read_only_caches = verify::default_read_only_caches();
  return options;
}

std::vector<AdmittedRule> admit_rules(compiler::RuleCompiler& compiler, const verify::VerificationOptions& options) {
  verify::CachedVerifier verifier(options);
  const egraph::OpTable& ops = *compiler.ops();
  std::vector<AdmittedRule> out;
  for (const auto& source : compiler.declarations()->all_rules()) {
    AdmittedRule a;
    a.name = source->qualified_name();
    const SourceLocation& at = source->location;
    a.file = at.file ? at.file->path() : "";
    a.line = at.line;
    std::shared_ptr<const compiler::CompiledRule> rule;
    try {
      rule = compiler.compile(source);
    } catch (const Error& e) {
      a.report.verdict = verify::Verdict::Unknown;
      a.report.detail = e.message();
      out.push_back(std::move(a));
      continue;
    }
    verify::VerifiedRule verified = verifier.verify(*rule, ops);
    a.report = verified.report;
    a.cached = verified.cached;
    a.admitted = a.report.verdict == verify::Verdict::Proved || a.report.verdict == verify::Verdict::Tested;
    a.changes_precision = changes_precision(a.report, rule->meaning, ops);
    for (egraph::Rewrite r : rule->meaning) {
      r.name = a.name;
      a.rewrites.push_back(std::move(r));
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace twin::check
