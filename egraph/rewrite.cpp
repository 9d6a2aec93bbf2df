#include "egraph/rewrite.h"

#include "egraph/pattern_compiler.h"

#include <algorithm>
#include <stdexcept>

namespace twin::egraph {

namespace {
std::uint32_t plan(const Pattern& p, const std::vector<std::string>& vars, const std::string& rule,
                   std::vector<CompiledRewrite::Step>& out) {
  CompiledRewrite::Step step;
  if (p.is_var()) {
    auto it = std::find(vars.begin(), vars.end(), p.var);
    if (it == vars.end())
      throw std::invalid_argument("rule " + rule + ": ?" + p.var + " is not bound by the left-hand side");
    step.is_var = true;
    step.slot = static_cast<std::uint32_t>(it - vars.begin());
  } else {
    step.op = p.op;
    for (const Pattern& c : p.children) step.children.push_back(plan(c, vars, rule, out));
  }
  out.push_back(std::move(step));
  return static_cast<std::uint32_t>(out.size() - 1);
}
}  // namespace

CompiledRewrite compile_rule(const Rewrite& rule, const OpTable& ops, const QueryRegistry& queries) {
  CompiledRewrite c;
  c.rule = &rule;
  c.program = compile(rule.lhs, ops);
  plan(rule.rhs, c.program.variables, rule.name, c.rhs);
  plan(rule.lhs, c.program.variables, rule.name, c.lhs);
  if (rule.guard) {
    try {
      c.guard = resolve(*rule.guard, c.program.variables, queries);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("rule " + rule.name + ": guard: " + e.what());
    }
  }
  return c;
}

}  // namespace twin::egraph
