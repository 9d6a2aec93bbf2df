// Constant folding: classes know their exact value and contain the constant leaf.
#include "egraph/constant_folding.h"
#include "egraph/egraph.h"
#include "egraph/sexpr.h"

#include <doctest/doctest.h>

using namespace twin::egraph;
using twin::Rational;

TEST_CASE("constant folding is exact: 1/3 + 1/6 is in the class of 1/2") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  EClassId sum = g.add_expr(parse_term("(add 1/3 1/6)", *ops));
  EClassId half = g.add_expr(parse_term("1/2", *ops));
  CHECK(g.equivalent(sum, half));
  CHECK(g.constant_of(sum) == Rational(1) / 2);
}

TEST_CASE("folding covers add sub mul div neg pow") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  auto value = [&](const char* t) { return g.constant_of(g.add_expr(parse_term(t, *ops))); };
  CHECK(value("(sub 2 5)") == Rational(-3));
  CHECK(value("(mul 3/4 4)") == Rational(3));
  CHECK(value("(div 1 3)") == Rational(1) / 3);
  CHECK(value("(neg 7)") == Rational(-7));
  CHECK(value("(pow 2 10)") == Rational(1024));
  CHECK(value("(pow 2 -2)") == Rational(1) / 4);
  CHECK_FALSE(value("(pow 2 1/2)").has_value());    // not an integer exponent
  CHECK_FALSE(value("(pow 2 100000)").has_value());  // too large
  CHECK_FALSE(value("(add x 1)").has_value());
}

TEST_CASE("division by a zero constant folds to nothing and does not crash") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  EClassId q = g.add_expr(parse_term("(div 1 (sub 2 2))", *ops));
  CHECK_FALSE(g.constant_of(q).has_value());
  CHECK_FALSE(g.constant_of(g.add_expr(parse_term("(pow 0 -1)", *ops))).has_value());
  g.rebuild();
}

TEST_CASE("a constant discovered by a union flows up to the parents") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  EClassId sum = g.add_expr(parse_term("(add x 1)", *ops));
  EClassId x = *g.lookup_expr(parse_term("x", *ops));
  g.union_classes(x, g.add_expr(parse_term("2", *ops)));
  g.rebuild();
  CHECK(g.constant_of(sum) == Rational(3));
  CHECK(g.equivalent(sum, g.add_expr(parse_term("3", *ops))));
}

TEST_CASE("pruning keeps only the leaves of a constant class") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops, false);
  ConstantFolding::Options options;
  options.prune = true;
  g.add_analysis(std::make_unique<ConstantFolding>(options));
  EClassId c = g.add_expr(parse_term("(mul 2 3)", *ops));
  auto nodes = g.class_nodes(c);
  REQUIRE(nodes.size() == 1);
  CHECK(ops->info(nodes[0].op).constant == 6);
}

TEST_CASE("unioning two different constants is reported as a contradiction") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  g.union_classes(g.add_expr(parse_term("1", *ops)), g.add_expr(parse_term("2", *ops)));
  g.rebuild();
  CHECK(g.analysis<ConstantFolding>()->contradiction());
}
