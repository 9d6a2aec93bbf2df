// Running rules: egg's math suite as the specification of the runner, schedulers and limits.
#include "egraph/egg_math_workload.h"
#include "egraph/runner.h"
#include "egraph/sexpr.h"

#include <doctest/doctest.h>

using namespace twin::egraph;

TEST_CASE("egg's math goals are proved") {
  for (const egg_math::Goal& goal : egg_math::goals()) {
    auto ops = std::make_shared<OpTable>();
    EGraph g = egg_math::make_egraph(ops);
    EClassId start = g.add_expr(parse_term(goal.start, *ops));
    for (const std::string& extra : goal.extra_terms) g.add_expr(parse_term(extra, *ops));
    RunLimits limits;
    limits.nodes = goal.node_limit;
    limits.iterations = goal.iter_limit;
    limits.time_seconds = goal.time_limit;
    run(g, egg_math::rules(*ops), limits);
    EClassId target = g.add_expr(parse_term(goal.goal, *ops));
    CHECK_MESSAGE(g.equivalent(start, target), goal.name);
  }
}

TEST_CASE("an unprovable goal stays unproved: x + y is not x / y") {
  auto ops = std::make_shared<OpTable>();
  EGraph g = egg_math::make_egraph(ops);
  EClassId a = g.add_expr(parse_term("(add x y)", *ops));
  run(g, egg_math::rules(*ops));
  CHECK_FALSE(g.equivalent(a, g.add_expr(parse_term("(div x y)", *ops))));
}

TEST_CASE("associating adds for 7 iterations gives egg's 127 classes") {
  auto ops = std::make_shared<OpTable>();
  EGraph g = egg_math::make_egraph(ops);
  EClassId a = g.add_expr(parse_term("(add 1 (add 2 (add 3 (add 4 (add 5 (add 6 7))))))", *ops));
  RunLimits limits;
  limits.iterations = 7;
  // egg runs this test without constant folding.
  EGraph plain(ops, false);
  a = plain.add_expr(parse_term("(add 1 (add 2 (add 3 (add 4 (add 5 (add 6 7))))))", *ops));
  run(plain, egg_math::rules(*ops, {"comm-add", "assoc-add"}), limits, SchedulerKind::Simple);
  CHECK(plain.equivalent(a, plain.add_expr(parse_term("(add 7 (add 6 (add 5 (add 4 (add 3 (add 2 1))))))", *ops))));
  CHECK(plain.num_classes() == 127);
}

TEST_CASE("a run that changes nothing stops saturated") {
  auto ops = std::make_shared<OpTable>();
  EGraph g = egg_math::make_egraph(ops);
  g.add_expr(parse_term("(mul x 1)", *ops));
  Report r = run(g, egg_math::rules(*ops), RunLimits{3, 10000, 5.0});
  CHECK(r.stop_reason == StopReason::Saturated);
}

TEST_CASE("egg's e-matching benchmark after 7 iterations has egg's 52432 nodes and 20449 classes") {
  auto ops = std::make_shared<OpTable>();
  EGraph g = egg_math::make_egraph(ops);
  for (const std::string& e : egg_math::bench_expressions()) g.add_expr(parse_term(e, *ops));
  RunLimits limits{7, 1'000'000, 100.0};
  Report r = run(g, egg_math::rules(*ops), limits, SchedulerKind::Simple);
  CHECK(r.stop_reason == StopReason::IterationLimit);
  CHECK(r.iterations == 7);
  CHECK(r.nodes == 52432);
  CHECK(r.classes == 20449);
  REQUIRE(r.rules.size() == egg_math::rule_texts().size());
  CHECK(r.rules[0].name == "comm-add");
  CHECK(r.rules[0].matches > 0);
}

TEST_CASE("the node limit is checked during application: AC explosion stops within 10%") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  std::string term = "t0";
  for (int i = 1; i < 12; ++i) term = "(add t" + std::to_string(i) + " " + term + ")";
  g.add_expr(parse_term(term, *ops));
  RunLimits limits{100, 200'000, 60.0};
  Report r = run(g, egg_math::rules(*ops, {"comm-add", "assoc-add"}), limits, SchedulerKind::Simple);
  CHECK(r.stop_reason == StopReason::NodeLimit);
  CHECK(r.nodes <= 220'000);
  CHECK(r.nodes >= 150'000);
}

TEST_CASE("the same run twice gives the same report counts and ids") {
  auto once = [] {
    auto ops = std::make_shared<OpTable>();
    EGraph g = egg_math::make_egraph(ops);
    EClassId a = g.add_expr(parse_term("(d x (add 1 (mul 2 x)))", *ops));
    Report r = run(g, egg_math::rules(*ops), RunLimits{6, 20000, 60.0});
    std::vector<std::size_t> counts{r.iterations, r.nodes, r.classes, g.find(a)};
    for (const RuleReport& rr : r.rules) {
      counts.push_back(rr.matches);
      counts.push_back(rr.applications);
    }
    return counts;
  };
  CHECK(once() == once());
}

TEST_CASE("the backoff scheduler bans a rule that matches too often") {
  BackoffScheduler s(10, 2);
  CHECK(s.search_limit(0, 0) == 11);
  CHECK_FALSE(s.accept(0, 0, 11));
  CHECK(s.search_limit(1, 0) == 0);  // banned for 2 iterations
  CHECK(s.search_limit(2, 0) == 21);  // then allowed twice as many
  CHECK(s.accept(2, 0, 15));
  CHECK_FALSE(s.accept(3, 0, 100));
  CHECK_FALSE(s.can_stop(4));  // banned: fast-forwards instead of stopping
  CHECK(s.search_limit(4, 0) > 0);
}

TEST_CASE("a guard that fails skips only that match") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  EClassId a = g.add_expr(parse_term("(div x x)", *ops));
  EClassId b = g.add_expr(parse_term("(div (sub 2 2) (sub 2 2))", *ops));
  run(g, egg_math::rules(*ops, {"cancel-div"}), RunLimits{}, SchedulerKind::Simple);
  EClassId one = g.add_expr(parse_term("1", *ops));
  CHECK(g.equivalent(a, one));
  CHECK_FALSE(g.equivalent(b, one));
}

TEST_CASE("the progress callback reports the rule being run") {
  auto ops = std::make_shared<OpTable>();
  EGraph g = egg_math::make_egraph(ops);
  g.add_expr(parse_term("(d x (sub (pow x 3) (mul 7 (pow x 2))))", *ops));
  RunLimits limits{5, 100000, 60.0, 0.0};
  std::size_t calls = 0;
  std::string last_rule;
  run(g, egg_math::rules(*ops), limits, SchedulerKind::Backoff, [&](const Progress& p) {
    ++calls;
    last_rule = std::string(p.rule);
  });
  CHECK(calls >= 5 * egg_math::rules(*ops).size());
  CHECK_FALSE(last_rule.empty());
}

TEST_CASE("a rule whose right-hand side uses an unbound variable is rejected") {
  OpTable ops;
  Rewrite bad{"bad", parse_pattern("(f ?a)", ops), parse_pattern("(g ?b)", ops), std::nullopt, false};
  CHECK_THROWS_AS(compile_rule(bad, ops), std::invalid_argument);
}

TEST_CASE("a run stops at its time limit") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  std::string term = "t0";
  for (int i = 1; i < 14; ++i) term = "(add t" + std::to_string(i) + " " + term + ")";
  g.add_expr(parse_term(term, *ops));
  RunLimits limits{1000, 100'000'000, 0.2};
  Report r = run(g, egg_math::rules(*ops, {"comm-add", "assoc-add"}), limits, SchedulerKind::Simple);
  CHECK(r.stop_reason == StopReason::TimeLimit);
  CHECK(r.seconds < 2.0);
  CHECK(g.is_clean());
}

TEST_CASE("with the backoff scheduler an exploding rule is banned and the run still saturates or stops") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  std::string term = "t0";
  for (int i = 1; i < 8; ++i) term = "(add t" + std::to_string(i) + " " + term + ")";
  g.add_expr(parse_term(term, *ops));
  Report simple_report, backoff_report;
  {
    EGraph copy = g;
    simple_report = run(copy, egg_math::rules(*ops, {"comm-add", "assoc-add"}), RunLimits{4, 1'000'000, 60.0},
                        SchedulerKind::Simple);
  }
  backoff_report = run(g, egg_math::rules(*ops, {"comm-add", "assoc-add"}), RunLimits{4, 1'000'000, 60.0},
                       SchedulerKind::Backoff);
  // Bans make the backoff run apply fewer matches than applying everything.
  CHECK(backoff_report.rules[1].matches < simple_report.rules[1].matches);
}

TEST_CASE("a shared search over all rules gives the same run as searching rule by rule") {
  auto once = [](bool shared, SchedulerKind kind) {
    auto ops = std::make_shared<OpTable>();
    EGraph g = egg_math::make_egraph(ops);
    for (const std::string& e : egg_math::bench_expressions()) g.add_expr(parse_term(e, *ops));
    RunLimits limits{6, 1'000'000, 60.0};
    limits.shared_search = shared;
    Report r = run(g, egg_math::rules(*ops), limits, kind);
    std::vector<std::size_t> counts{r.iterations, r.nodes, r.classes};
    for (const RuleReport& rr : r.rules) {
      counts.push_back(rr.matches);
      counts.push_back(rr.applications);
    }
    return counts;
  };
  CHECK(once(true, SchedulerKind::Simple) == once(false, SchedulerKind::Simple));
  CHECK(once(true, SchedulerKind::Backoff) == once(false, SchedulerKind::Backoff));
}

TEST_CASE("a stop_when hook ends the run as soon as its goal holds") {
  auto ops = std::make_shared<OpTable>();
  EGraph g = egg_math::make_egraph(ops);
  EClassId a = g.add_expr(parse_term("(add x (add y z))", *ops));
  EClassId b = g.add_expr(parse_term("(add z (add y x))", *ops));
  RunLimits limits;
  limits.iterations = 30;
  limits.nodes = 100'000;
  std::size_t checks = 0;
  limits.stop_when = [&](const EGraph& graph) {
    ++checks;
    return graph.find(a) == graph.find(b);
  };
  Report r = run(g, egg_math::rules(*ops), limits);
  CHECK(r.stop_reason == StopReason::Goal);
  CHECK(to_string(r.stop_reason) == "goal");
  CHECK(g.equivalent(a, b));
  CHECK(r.iterations == checks);  // checked once per iteration, stopping at the first success
  CHECK(r.iterations < 30);
}
