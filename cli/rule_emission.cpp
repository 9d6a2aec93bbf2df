#include "cli/rule_emission.h"

#include "compiler/term_printer.h"
#include "interp/parser.h"
#include "interp/printer.h"

#include <map>

namespace twin::cli {

namespace {

Annotation make_annotation(const std::string& name, std::vector<std::pair<std::string, ExprPtr>> args) {
  Annotation a;
  a.name = name;
  a.has_parens = true;
  for (auto& [n, e] : args) {
    a.arg_names.push_back(n);
    a.args.push_back(e);
  }
  return a;
}

ExprPtr name_expr(const std::string& text) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Name;
  e->text = text;
  return e;
}

ExprPtr number_expr(long long value) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Number;
  e->number = Rational(value);
  e->text = std::to_string(value);
  return e;
}

// The annotations that record a verdict: @verified(z3) / @verified(random, trials=256, seed=7),
// and @numerics(...) when the rule is not exact in floating point. A refuted or unknown rule
// records nothing: it is not verified.
}  // namespace

std::vector<Annotation> verdict_annotations(const verify::RuleReport& r) {
  std::vector<Annotation> out;
  if (r.verdict == verify::Verdict::Proved) {
    out.push_back(make_annotation("verified", {{"", name_expr(r.method)}}));
  } else if (r.verdict == verify::Verdict::Tested) {
    out.push_back(make_annotation("verified", {{"", name_expr(r.method)},
                                               {"trials", number_expr(r.trials)},
                                               {"seed", number_expr(static_cast<long long>(r.seed))}}));
  } else {
    return out;
  }
  if (r.numerics == "within bf16 baseline") out.push_back(make_annotation("numerics", {{"", name_expr("within_bf16_baseline")}}));
  if (r.numerics == "changes precision") out.push_back(make_annotation("numerics", {{"", name_expr("changes_precision")}}));
  return out;
}


std::string synthesized_rules_text(const check::CheckResult& result, const std::string& reference,
                                   const std::string& port) {
  std::map<std::string, const check::RuleUse*> uses;
  for (const auto& u : result.rules_used) uses[u.rule] = &u;
  std::string rules;
  for (const auto& r : result.synthesized) {
    auto use = uses.find(r.name);
    if (use == uses.end()) continue;  // made, but the proof does not need it
    std::string fired;
    for (const auto& m : use->second->modules) fired += (fired.empty() ? "" : ", ") + (m.empty() ? "<model>" : m);
    rules += "  # Made for " + r.node + " (" + (r.module.empty() ? "<model>" : r.module) + "); fired in " + fired + ".\n  ";
    for (const auto& a : verdict_annotations(r.report)) rules += print_annotation(a) + " ";
    rules += "rule " + r.source->name + ": " + print_term(*r.source->lhs) + " => " + print_term(*r.source->rhs);
    if (!r.source->guard_text.empty()) rules += " if " + r.source->guard_text;
    rules += "\n";
  }
  std::string text = "version 1\n\n"
                     "# Rules `twin check` synthesized to prove " + port + " equivalent to " + reference + ",\n"
                     "# each validated before it was used. `twin verify` re-verifies them; `twin check --rules\n"
                     "# THIS_FILE --no-synthesis` re-proves the pair with them.\n\n"
                     "ruleset synthesized {\n" + rules + "}\n";
  // Through the canonical printer: the file is `twin fmt` clean.
  return format_program(parse_program(std::make_shared<SourceFile>("<synthesized rules>", text)));
}

}  // namespace twin::cli
