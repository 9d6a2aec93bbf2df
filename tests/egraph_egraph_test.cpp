// The e-graph: hash-consing, union-find, congruence closure by rebuilding, snapshots,
// determinism.
#include "egraph/egraph.h"
#include "egraph/sexpr.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>

using namespace twin::egraph;

TEST_CASE("adding an existing term returns its class") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  EClassId a = g.add_expr(parse_term("(add x y)", *ops));
  EClassId b = g.add_expr(parse_term("(add x y)", *ops));
  CHECK(g.find(a) == g.find(b));
  CHECK(g.num_classes() == 3);
  CHECK(g.num_nodes() == 3);
  CHECK(g.lookup_expr(parse_term("(add x y)", *ops)) == g.find(a));
  CHECK_FALSE(g.lookup_expr(parse_term("(add y x)", *ops)).has_value());
}

TEST_CASE("union of two classes merges their parents by congruence after rebuild") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  EClassId fx = g.add_expr(parse_term("(f x)", *ops));
  EClassId fy = g.add_expr(parse_term("(f y)", *ops));
  EClassId gfx = g.add_expr(parse_term("(g (f x))", *ops));
  EClassId gfy = g.add_expr(parse_term("(g (f y))", *ops));
  EClassId x = *g.lookup_expr(parse_term("x", *ops));
  EClassId y = *g.lookup_expr(parse_term("y", *ops));
  CHECK(g.union_classes(x, y));
  CHECK_FALSE(g.is_clean());
  CHECK(g.equivalent(fx, fy));  // rebuilds
  CHECK(g.is_clean());
  CHECK(g.equivalent(gfx, gfy));
  CHECK(g.num_classes() == 3);
  CHECK(g.num_nodes() == 4);  // x, y, one f node, one g node
}

namespace {
// Naive congruence closure over a fixed set of terms: repeat "merge two terms with equal
// ops and pairwise equal children" until nothing changes.
struct NaiveClosure {
  std::vector<ENode> terms;  // children index terms
  std::vector<int> cls;
  int find(int t) { return cls[t] == t ? t : cls[t] = find(cls[t]); }
  void merge(int a, int b) { cls[find(a)] = find(b); }
  void close() {
    for (bool changed = true; changed;) {
      changed = false;
      for (std::size_t i = 0; i < terms.size(); ++i)
        for (std::size_t j = i + 1; j < terms.size(); ++j) {
          if (find(i) == find(j) || terms[i].op != terms[j].op || terms[i].children.size() != terms[j].children.size())
            continue;
          bool same = true;
          for (std::size_t k = 0; k < terms[i].children.size(); ++k)
            same &= find(terms[i].children[k]) == find(terms[j].children[k]);
          if (same) {
            merge(i, j);
            changed = true;
          }
        }
    }
  }
};
}  // namespace

TEST_CASE("congruence closure after random unions matches a naive closure") {
  for (unsigned seed = 1; seed <= 30; ++seed) {
    std::mt19937 rng(seed);
    auto ops = std::make_shared<OpTable>();
    OpId leaves[3] = {ops->intern_symbol("a"), ops->intern_symbol("b"), ops->intern_symbol("c")};
    OpId f = ops->intern_apply("f", 1), h = ops->intern_apply("h", 2);
    EGraph g(ops, false);
    NaiveClosure naive;
    std::vector<EClassId> ids;
    for (int i = 0; i < 40; ++i) {
      ENode node;
      int kind = ids.size() < 3 ? 0 : rng() % 3;
      if (kind == 0) node.op = leaves[rng() % 3];
      else if (kind == 1) node = ENode{f, {static_cast<EClassId>(rng() % ids.size())}};
      else node = ENode{h, {static_cast<EClassId>(rng() % ids.size()), static_cast<EClassId>(rng() % ids.size())}};
      std::vector<EClassId> children;
      for (EClassId c : node.children) children.push_back(ids[c]);
      ids.push_back(g.add(node.op, children));
      naive.terms.push_back(node);
      naive.cls.push_back(static_cast<int>(naive.cls.size()));
    }
    naive.close();  // terms built by hash-consing may already be shared
    for (int u = 0; u < 6; ++u) {
      int a = rng() % ids.size(), b = rng() % ids.size();
      g.union_classes(ids[a], ids[b]);
      naive.merge(a, b);
      if (rng() % 2) g.rebuild();  // sometimes several unions between rebuilds
    }
    naive.close();
    g.rebuild();
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (std::size_t j = 0; j < ids.size(); ++j)
        REQUIRE_MESSAGE(g.equivalent(ids[i], ids[j]) == (naive.find(i) == naive.find(j)), "seed " << seed);
    // Each class's nodes are distinct and canonical.
    for (EClassId c : g.class_ids()) {
      auto nodes = g.class_nodes(c);
      std::set<ENode> distinct(nodes.begin(), nodes.end());
      CHECK(distinct.size() == nodes.size());
      for (const ENode& n : nodes)
        for (EClassId ch : n.children) CHECK(g.find(ch) == ch);
    }
  }
}

TEST_CASE("pop restores the e-graph exactly as it was at push") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  g.enable_explanations();
  EClassId a = g.add_expr(parse_term("(add x 1)", *ops));
  EClassId b = g.add_expr(parse_term("(add y 1)", *ops));
  g.rebuild();
  std::string before = g.to_dot();
  std::size_t classes = g.num_classes();
  g.push();
  EClassId x = *g.lookup_expr(parse_term("x", *ops));
  EClassId y = *g.lookup_expr(parse_term("y", *ops));
  g.union_classes(x, y, "guess");
  g.add_expr(parse_term("(mul 2 3)", *ops));
  CHECK(g.equivalent(a, b));
  g.pop();
  CHECK_FALSE(g.equivalent(a, b));
  CHECK(g.num_classes() == classes);
  CHECK(g.to_dot() == before);
  CHECK_FALSE(g.lookup_expr(parse_term("(mul 2 3)", *ops)).has_value());
  CHECK_THROWS_AS(g.pop(), std::logic_error);
  // Explanations were restored too: x and y are no longer explainable as equal.
  CHECK_THROWS(g.explain(x, y));
}

TEST_CASE("the same additions and unions give the same ids and dot text") {
  auto build = [](unsigned salt) {
    auto ops = std::make_shared<OpTable>();
    // Perturb the op table's containers: intern unrelated names first.
    for (unsigned i = 0; i < salt; ++i) ops->intern_symbol("pad" + std::to_string(i));
    EGraph g(ops);
    std::vector<EClassId> ids;
    for (const char* t : {"(add x (mul 2 y))", "(add (mul 2 y) x)", "(sub x x)", "(div 1 0)", "(mul y 2)"})
      ids.push_back(g.add_expr(parse_term(t, *ops)));
    g.union_classes(ids[0], ids[1]);
    g.union_classes(*g.lookup_expr(parse_term("(mul 2 y)", *ops)), ids[4]);
    g.rebuild();
    std::vector<EClassId> canon;
    for (EClassId i : ids) canon.push_back(g.find(i));
    return std::make_pair(canon, g.num_nodes());
  };
  auto first = build(0);
  CHECK(build(0) == first);
  CHECK(build(17) == first);
}

TEST_CASE("to_dot draws one cluster per class") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  g.add_expr(parse_term("(add x 1)", *ops));
  std::string dot = g.to_dot();
  CHECK(dot.find("digraph") == 0);
  CHECK(dot.find("cluster_2") != std::string::npos);
  CHECK(dot.find("label=\"add\"") != std::string::npos);
}

TEST_CASE("adding a node with the wrong number of children is an error") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  OpId add = ops->intern_apply("add", 2);
  EClassId x = g.add(ops->intern_symbol("x"));
  std::vector<EClassId> one{x};
  CHECK_THROWS_AS(g.add(add, one), std::invalid_argument);
}
