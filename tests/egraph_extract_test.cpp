// Extraction: the cheapest term under tree cost and DAG cost.
#include "egraph/extract.h"
#include "egraph/sexpr.h"

#include "egraph_support.h"

#include <doctest/doctest.h>

#include <functional>
#include <limits>
#include <random>

using namespace twin::egraph;
using S = ScalarExpr;

TEST_CASE("ast_size extraction picks the smallest term") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  EClassId big = g.add_expr(parse_term("(add (mul x 1) 0)", *ops));
  g.union_classes(big, g.add_expr(parse_term("x", *ops)));
  RecExpr t = extract(g, big, CostFunction::ast_size());
  CHECK(t.to_string(*ops) == "x");
  CHECK(best_cost(g, big, CostFunction::ast_size()) == 1);
}

TEST_CASE("cost arms: first matching arm prices the node, guards and nested patterns apply") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  EClassId a = g.add_expr(parse_term("(mul x 2)", *ops));
  g.union_classes(a, g.add_expr(parse_term("(add x x)", *ops)));
  g.union_classes(a, g.add_expr(parse_term("(shl x 1)", *ops)));
  CostFunction cost;
  // mul by 2 is expensive, add is free, shl is free only when its amount is below 1
  cost.arms.push_back({parse_pattern("(mul ?a 2)", *ops), std::nullopt, S::constant(10)});
  cost.arms.push_back({parse_pattern("(add ?a ?a)", *ops), std::nullopt, S::constant(0)});
  cost.arms.push_back({parse_pattern("(shl ?a ?n)", *ops),
                       S::compare_op(S::CompareOp::Lt, S::var("n"), S::constant(1)), S::constant(0)});
  cost.arms.push_back({Pattern::Var("any"), std::nullopt, S::constant(1)});
  // shl's guard fails (n = 1), so it costs 1 like any node: (shl x 1) = 1 + 1 + 1 = 3,
  // (add x x) = 0 + 1 + 1 = 2, (mul x 2) = 10 + 1 + 1.
  CHECK(best_cost(g, a, cost) == 2);
  CHECK(extract(g, a, cost).to_string(*ops) == "(add x x)");
}

namespace {
// The oracle: every choice of one node per class, costed as a DAG from the root.
double brute_force_dag(EGraph& g, EClassId root) {
  std::vector<EClassId> ids = g.class_ids();
  std::vector<std::vector<ENode>> nodes;
  for (EClassId c : ids) nodes.push_back(g.class_nodes(c));
  auto index = [&](EClassId c) {
    return static_cast<std::size_t>(std::find(ids.begin(), ids.end(), g.find(c)) - ids.begin());
  };
  std::vector<std::size_t> choice(ids.size(), 0);
  double best = std::numeric_limits<double>::infinity();
  std::function<void(std::size_t)> enumerate = [&](std::size_t k) {
    if (k == ids.size()) {
      std::vector<int> state(ids.size(), 0);
      double total = 0;
      bool cycle = false;
      std::function<void(std::size_t)> visit = [&](std::size_t c) {
        if (cycle || state[c] == 2) return;
        if (state[c] == 1) {
          cycle = true;
          return;
        }
        state[c] = 1;
        total += 1;
        for (EClassId ch : nodes[c][choice[c]].children) visit(index(ch));
        state[c] = 2;
      };
      visit(index(root));
      if (!cycle) best = std::min(best, total);
      return;
    }
    for (std::size_t i = 0; i < nodes[k].size(); ++i) {
      choice[k] = i;
      enumerate(k + 1);
    }
  };
  enumerate(0);
  return best;
}
}  // namespace

TEST_CASE("DAG extraction matches brute force on small random e-graphs") {
  for (unsigned seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    auto ops = std::make_shared<OpTable>();
    OpId leaves[2] = {ops->intern_symbol("a"), ops->intern_symbol("b")};
    OpId f = ops->intern_apply("f", 1), h = ops->intern_apply("h", 2);
    EGraph g(ops, false);
    std::vector<EClassId> ids = testing::add_random_terms(g, rng, {leaves[0], leaves[1]}, f, h, 9);
    for (int u = 0; u < 3; ++u) g.union_classes(ids[2 + rng() % (ids.size() - 2)], ids[2 + rng() % (ids.size() - 2)]);
    g.rebuild();
    if (g.num_classes() > 9) continue;
    EClassId root = ids.back();
    double expected = brute_force_dag(g, root);
    Extraction e = extract_best(g, root, CostFunction::ast_size(), ExtractMode::Dag);
    REQUIRE_MESSAGE(e.cost == expected, "seed " << seed);
    CHECK(e.exact);
    // The term returned really has that many distinct nodes and is in the root's class.
    CHECK(e.term.size() == static_cast<std::size_t>(expected));
    CHECK(g.lookup_expr(e.term) == g.find(root));
    // Tree cost is never below DAG cost.
    CHECK(best_cost(g, root, CostFunction::ast_size(), ExtractMode::Tree) >= expected);
  }
}

TEST_CASE("DAG cost counts a shared subterm once") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  EClassId shared = g.add_expr(parse_term("(h (f (f a)) (f (f a)))", *ops));
  g.union_classes(shared, g.add_expr(parse_term("(h (f b) (g b))", *ops)));
  // As a tree (h (f (f a)) (f (f a))) has 7 nodes and (h (f b) (g b)) 5; as a DAG the
  // first has 4 distinct nodes.
  CHECK(best_cost(g, shared, CostFunction::ast_size(), ExtractMode::Tree) == 5);
  CHECK(best_cost(g, shared, CostFunction::ast_size(), ExtractMode::Dag) == 4);
  CHECK(extract(g, shared, CostFunction::ast_size(), ExtractMode::Dag).to_string(*ops) == "(h (f (f a)) (f (f a)))");
}
