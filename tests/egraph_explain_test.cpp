// Explanations: every step rewrites one subterm by a named rule and the steps chain.
#include "egraph/egg_math_workload.h"
#include "egraph/runner.h"
#include "egraph/sexpr.h"

#include "egraph_support.h"

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <random>

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
EClassId append(const Tree& t, RecExpr& out) {
  std::vector<EClassId> ids;
  for (const Tree& c : t.children) ids.push_back(append(c, out));
  return out.add(t.op, ids);
}
RecExpr to_expr(const Tree& t) {
  RecExpr out;
  append(t, out);
  return out;
}

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

// The one differing subterm pair of two trees (nullopt when they differ in more than one place).
std::optional<std::pair<Tree, Tree>> single_difference(const Tree& x, const Tree& y) {
  if (x == y) return std::nullopt;
  if (x.op != y.op || x.children.size() != y.children.size()) return std::make_pair(x, y);
  std::optional<std::size_t> differing;
  for (std::size_t k = 0; k < x.children.size(); ++k)
    if (!(x.children[k] == y.children[k])) {
      if (differing) return std::make_pair(x, y);
      differing = k;
    }
  return single_difference(x.children[*differing], y.children[*differing]);
}

using Axioms = std::vector<std::pair<Tree, Tree>>;  // host unions, as terms

void check_replay(const std::vector<ExplanationStep>& steps, const RecExpr& a, const RecExpr& b,
                  const std::vector<Rewrite>& rules, const OpTable& ops, const Axioms& axioms = {}) {
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
    if (s.rule == "union") {  // a host union: one subterm replaced by the term it was unioned with
      bool found = false;
      for (const auto& [x, y] : axioms) {
        found |= rewrites_one_subterm(before, after, Pattern::from_expr(to_expr(x)), Pattern::from_expr(to_expr(y))) ||
                 rewrites_one_subterm(before, after, Pattern::from_expr(to_expr(y)), Pattern::from_expr(to_expr(x)));
      }
      CHECK_MESSAGE(found, "union step " << s.before.to_string(ops) << " -> " << s.after.to_string(ops));
      continue;
    }
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

TEST_CASE("explanations on random e-graphs with host unions and rules replay step by step") {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    auto ops = std::make_shared<OpTable>();
    OpId leaves[3] = {ops->intern_symbol("a"), ops->intern_symbol("b"), ops->intern_symbol("c")};
    OpId f = ops->intern_apply("f", 1), h = ops->intern_apply("h", 2);
    EGraph g(ops, false);
    g.enable_explanations();
    std::vector<EClassId> ids = testing::add_random_terms(g, rng, {leaves[0], leaves[1], leaves[2]}, f, h, 25);
    Axioms axioms;
    for (int u = 0; u < 3; ++u) {
      EClassId x = ids[rng() % ids.size()], y = ids[rng() % ids.size()];
      axioms.emplace_back(tree_of(g.term_of(x)), tree_of(g.term_of(y)));
      g.union_classes(x, y, "union");
    }
    std::vector<Rewrite> rules = {
        Rewrite{"comm", parse_pattern("(h ?x ?y)", *ops), parse_pattern("(h ?y ?x)", *ops), std::nullopt, false},
        Rewrite{"ff", parse_pattern("(f (f ?x))", *ops), parse_pattern("?x", *ops), std::nullopt, false},
        Rewrite{"unff", parse_pattern("?x", *ops), parse_pattern("(f (f ?x))", *ops), std::nullopt, false}};
    run(g, {rules[0], rules[1]}, RunLimits{3, 2000, 5.0}, SchedulerKind::Simple);
    for (int k = 0; k < 15; ++k) {
      EClassId x = ids[rng() % ids.size()], y = ids[rng() % ids.size()];
      if (!g.equivalent(x, y)) continue;
      CAPTURE(seed);
      check_replay(g.explain(x, y), g.term_of(x), g.term_of(y), rules, *ops, axioms);
    }
  }
}

TEST_CASE("explanations do not change what a run does") {
  auto counts = [](bool explain) {
    auto ops = std::make_shared<OpTable>();
    EGraph g = egg_math::make_egraph(ops, explain);
    for (const std::string& e : egg_math::bench_expressions()) g.add_expr(parse_term(e, *ops));
    Report r = run(g, egg_math::rules(*ops), RunLimits{5, 1'000'000, 60.0}, SchedulerKind::Simple);
    return std::make_pair(r.nodes, r.classes);
  };
  CHECK(counts(true) == counts(false));
}
