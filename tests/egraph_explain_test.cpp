// Explanations: every step rewrites one subterm by a named rule and the steps chain.
#include "egraph/egg_math_workload.h"
#include "egraph/runner.h"
#include "egraph/sexpr.h"

#include <doctest/doctest.h>

#include <map>
#include <optional>

using namespace twin::egraph;

namespace {
// A term as a tree, to compare subterms structurally.
struct Tree {
  OpId op;
  std::vector<Tree> children;
  bool operator==(const Tree&) const = default;
};
Tree tree_of(const RecExpr& e, EClassId i) {
  Tree t{e[i].op, {}};
  for (EClassId c : e[i].children) t.children.push_back(tree_of(e, c));
  return t;
}
Tree tree_of(const RecExpr& e) { return tree_of(e, e.root()); }

// Syntactic matching of a pattern against a tree.
bool match(const Pattern& p, const Tree& t, std::map<std::string, Tree>& b) {
  if (p.is_var()) {
    auto it = b.find(p.var);
    if (it != b.end()) return it->second == t;
    b.emplace(p.var, t);
    return true;
  }
  if (p.op != t.op || p.children.size() != t.children.size()) return false;
  for (std::size_t k = 0; k < t.children.size(); ++k)
    if (!match(p.children[k], t.children[k], b)) return false;
  return true;
}

// Whether `after` is `before` with exactly one subterm rewritten from `from` to `to`.
bool rewrites_one_subterm(const Tree& before, const Tree& after, const Pattern& from, const Pattern& to) {
  std::map<std::string, Tree> b;
  if (match(from, before, b) && match(to, after, b)) return true;
  if (before.op != after.op || before.children.size() != after.children.size()) return false;
  std::optional<std::size_t> differing;
  for (std::size_t k = 0; k < before.children.size(); ++k)
    if (!(before.children[k] == after.children[k])) {
      if (differing) return false;
      differing = k;
    }
  return differing && rewrites_one_subterm(before.children[*differing], after.children[*differing], from, to);
}

// A folding step: one subterm (op c1 c2) replaced by its value.
bool folds_one_subterm(const Tree& before, const Tree& after, const OpTable& ops) {
  auto is_fold = [&](const Tree& x, const Tree& y) {
    if (ops.kind(y.op) != OpKind::Constant || x.children.empty()) return false;
    for (const Tree& c : x.children)
      if (ops.kind(c.op) != OpKind::Constant) return false;
    return true;
  };
  if (is_fold(before, after)) return true;
  if (before.op != after.op || before.children.size() != after.children.size()) return false;
  for (std::size_t k = 0; k < before.children.size(); ++k)
    if (!(before.children[k] == after.children[k])) return folds_one_subterm(before.children[k], after.children[k], ops);
  return false;
}

void check_replay(const std::vector<ExplanationStep>& steps, const RecExpr& a, const RecExpr& b,
                  const std::vector<Rewrite>& rules, const OpTable& ops) {
  if (steps.empty()) {
    CHECK(tree_of(a) == tree_of(b));
    return;
  }
  CHECK(tree_of(steps.front().before) == tree_of(a));
  CHECK(tree_of(steps.back().after) == tree_of(b));
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const ExplanationStep& s = steps[i];
    if (i > 0) REQUIRE(tree_of(steps[i - 1].after) == tree_of(s.before));
    Tree before = tree_of(s.before), after = tree_of(s.after);
    if (s.rule == "constant_fold") {
      CHECK_MESSAGE(folds_one_subterm(before, after, ops), s.before.to_string(ops) << " -> " << s.after.to_string(ops));
      continue;
    }
    if (s.rule == "union") continue;  // host unions are axioms
    const Rewrite* rule = nullptr;
    for (const Rewrite& r : rules)
      if (r.name == s.rule && !r.reversed) rule = &r;
    REQUIRE_MESSAGE(rule != nullptr, s.rule);
    bool ok = s.forward ? rewrites_one_subterm(before, after, rule->lhs, rule->rhs)
                        : rewrites_one_subterm(before, after, rule->rhs, rule->lhs);
    CHECK_MESSAGE(ok, s.rule << (s.forward ? " => " : " <= ") << s.before.to_string(ops) << " -> "
                             << s.after.to_string(ops));
  }
}
}  // namespace

TEST_CASE("every explanation of egg's math goals replays step by step") {
  for (const egg_math::Goal& goal : egg_math::goals()) {
    if (goal.node_limit > 10'000) continue;  // keep the suite fast
    auto ops = std::make_shared<OpTable>();
    EGraph g = egg_math::make_egraph(ops, /*explanations=*/true);
    RecExpr start = parse_term(goal.start, *ops);
    EClassId a = g.add_expr(start);
    std::vector<Rewrite> rules = egg_math::rules(*ops);
    run(g, rules, RunLimits{30, 10'000, 5.0});
    RecExpr target = parse_term(goal.goal, *ops);
    EClassId b = g.add_expr(target);
    REQUIRE_MESSAGE(g.equivalent(a, b), goal.name);
    auto steps = g.explain(a, b);
    CAPTURE(goal.name);
    check_replay(steps, start, target, rules, *ops);
  }
}

TEST_CASE("host unions and reversed rules are named in explanations") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops, false);
  g.enable_explanations();
  RecExpr t1 = parse_term("(f (g x))", *ops), t2 = parse_term("(f (h x))", *ops);
  EClassId a = g.add_expr(t1);
  EClassId b = g.add_expr(t2);
  EClassId gx = *g.lookup_expr(parse_term("(g x)", *ops));
  EClassId hx = *g.lookup_expr(parse_term("(h x)", *ops));
  g.union_classes(gx, hx, "because");
  REQUIRE(g.equivalent(a, b));
  auto steps = g.explain(a, b);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].rule == "because");
  CHECK(steps[0].before.to_string(*ops) == "(f (g x))");
  CHECK(steps[0].after.to_string(*ops) == "(f (h x))");

  // A reversed rule (the right-to-left half of `<=>`) reports the backward direction.
  std::vector<Rewrite> rules = {
      Rewrite{"swap", parse_pattern("(p ?a)", *ops), parse_pattern("(q ?a)", *ops), std::nullopt, false},
      Rewrite{"swap", parse_pattern("(q ?a)", *ops), parse_pattern("(p ?a)", *ops), std::nullopt, true}};
  EClassId q = g.add_expr(parse_term("(q y)", *ops));
  run(g, {rules[1]}, RunLimits{}, SchedulerKind::Simple);
  EClassId p = g.add_expr(parse_term("(p y)", *ops));
  auto back = g.explain(q, p);
  REQUIRE(back.size() == 1);
  CHECK(back[0].rule == "swap");
  CHECK_FALSE(back[0].forward);
  check_replay(back, parse_term("(q y)", *ops), parse_term("(p y)", *ops), rules, *ops);
}

TEST_CASE("explaining terms that are not equal is an error") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  g.enable_explanations();
  EClassId a = g.add_expr(parse_term("x", *ops)), b = g.add_expr(parse_term("y", *ops));
  CHECK_THROWS_AS(g.explain(a, b), std::invalid_argument);
  EGraph off(ops);
  off.add_expr(parse_term("x", *ops));
  CHECK_THROWS_AS(off.enable_explanations(), std::logic_error);
}
