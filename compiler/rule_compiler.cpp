#include "compiler/rule_compiler.h"

#include "compiler/guard_queries.h"
#include "util/error.h"

namespace twin::compiler {

namespace eg = twin::egraph;

RuleCompiler::RuleCompiler(std::shared_ptr<const Declarations> declarations, std::shared_ptr<eg::OpTable> ops)
    : declarations_(declarations ? std::move(declarations) : std::make_shared<Declarations>()),
      ops_(std::move(ops)),
      form_(declarations_) {}

namespace {

// One rewrite per direction of a rule whose sides are canonical terms.
std::vector<eg::Rewrite> directions(const RuleSource& rule, const Term& lhs, const Term& rhs, eg::OpTable& ops) {
  eg::Pattern left = to_pattern(lhs, ops), right = to_pattern(rhs, ops);
  std::vector<eg::Rewrite> out;
  out.push_back(eg::Rewrite{rule.name, left, right, rule.guard, false});
  if (rule.bidirectional) out.push_back(eg::Rewrite{rule.name, right, left, rule.guard, true});
  return out;
}

std::string direction_text(const eg::Rewrite& rw, const RuleSource& rule, const eg::OpTable& ops) {
  std::string text = pattern_text(rw.lhs, ops) + " => " + pattern_text(rw.rhs, ops);
  if (rw.guard) text += " if " + rw.guard->to_string();
  return text;
}

}  // namespace

std::shared_ptr<const CompiledRule> RuleCompiler::compile(const std::shared_ptr<const RuleSource>& rule) {
  auto known = compiled_.find(rule.get());
  if (known != compiled_.end()) return known->second;
  auto out = std::make_shared<CompiledRule>();
  out->source = rule;
  try {
    out->lhs = form_.canonical(rule->lhs);
    out->rhs = form_.canonical(rule->rhs);
    out->rewrites = directions(*rule, *out->lhs, *out->rhs, *ops_);
    out->expands_bodies = form_.uses_bodies(*rule->lhs) || form_.uses_bodies(*rule->rhs);
    if (out->expands_bodies) {
      TermPtr lhs = form_.canonical(form_.expand_bodies(rule->lhs));
      TermPtr rhs = form_.canonical(form_.expand_bodies(rule->rhs));
      out->meaning = directions(*rule, *lhs, *rhs, *ops_);
    } else {
      out->meaning = out->rewrites;
    }
    for (const auto& rw : out->meaning) {
      if (!out->meaning_text.empty()) out->meaning_text += "\n";
      out->meaning_text += direction_text(rw, *rule, *ops_);
    }
    // Stage 6. Compiling checks what the engine needs: every variable of the right side and
    // of the guard is bound by the left side, every query exists.
    for (const auto& rw : out->rewrites) out->programs.push_back(eg::compile_rule(rw, *ops_, guard_queries()));
    for (const auto& rw : out->meaning) out->meaning_programs.push_back(eg::compile_rule(rw, *ops_, guard_queries()));
  } catch (Error& e) {
    e.set_location_if_unknown(rule->location);
    throw;
  } catch (const std::invalid_argument& e) {
    throw Error(ErrorKind::Syntax, "rule " + rule->name + ": " + e.what(), rule->location);
  }
  compiled_.emplace(rule.get(), out);
  return out;
}

std::vector<std::shared_ptr<const CompiledRule>> RuleCompiler::compile_all() {
  std::vector<std::shared_ptr<const CompiledRule>> out;
  for (const auto& rule : declarations_->all_rules()) out.push_back(compile(rule));
  return out;
}

}  // namespace twin::compiler
