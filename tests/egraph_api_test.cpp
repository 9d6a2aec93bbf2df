// The embedding API as egraph/README.md shows it, end to end.
#include "egraph/egraph.h"
#include "egraph/extract.h"
#include "egraph/pattern_compiler.h"
#include "egraph/runner.h"

#include <doctest/doctest.h>

using namespace twin::egraph;
using twin::Rational;

TEST_CASE("the README's API walk-through works") {
  auto ops = std::make_shared<OpTable>();
  OpId add = ops->intern_apply("add", 2);
  OpId x = ops->intern_symbol("x");
  OpId one = ops->intern_constant(Rational(1));
  OpId zero = ops->intern_constant(Rational(0));

  RecExpr e;  // (add (add x 0) 1)
  EClassId ix = e.add(x), i0 = e.add(zero);
  EClassId inner = e.add(add, {ix, i0});
  EClassId i1 = e.add(one);
  e.add(add, {inner, i1});

  EGraph g(ops);
  g.enable_explanations();
  EClassId a = g.add_expr(e);
  Rewrite rule{"zero_add", Pattern::Node(add, {Pattern::Var("a"), Pattern::Node(zero)}), Pattern::Var("a"),
               std::nullopt, false};
  std::size_t progress_calls = 0;
  Report rep = run(g, {rule}, RunLimits{30, 10'000, 5.0, 0.0}, SchedulerKind::Backoff,
                   [&](const Progress&) { ++progress_calls; });
  CHECK(rep.stop_reason == StopReason::Saturated);
  CHECK(rep.rules.at(0).applications == 1);
  CHECK(progress_calls > 0);

  RecExpr simpler;  // (add x 1)
  EClassId sx = simpler.add(x), s1 = simpler.add(one);
  simpler.add(add, {sx, s1});
  EClassId b = g.add_expr(simpler);
  CHECK(g.equivalent(a, b));
  CHECK(extract(g, a, CostFunction::ast_size()).to_string(*ops) == "(add x 1)");
  CHECK(best_cost(g, a, CostFunction::ast_size(), ExtractMode::Dag) == 3);

  auto steps = g.explain(a, b);
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].rule == "zero_add");
  CHECK(steps[0].forward);
  CHECK(steps[0].before.to_string(*ops) == "(add (add x 0) 1)");
  CHECK(steps[0].after.to_string(*ops) == "(add x 1)");

  g.push();
  g.union_classes(a, g.add(x), "union");
  CHECK(g.equivalent(a, g.add(x)));
  g.pop();
  CHECK_FALSE(g.equivalent(a, g.add(x)));

  std::string text = disassemble(compile(rule.lhs, *ops));
  CHECK(text.find("scan     r0 <- classes with add/2") != std::string::npos);
}
