// Random testing draws each variable from the domain of the op that reads it, also when the op
// reads it through a rearrangement (check/ needs `embedding(?w, squeeze(?i, dim=-2))`).
#include "support.h"
#include "verify/random_tester.h"
#include "verify/rule_verifier.h"

#include <doctest/doctest.h>

using namespace twin;

namespace {
egraph::Rewrite only_rule(testing::CapturingInterpreter& t, std::shared_ptr<egraph::OpTable> ops) {
  auto set = t.interpreter.get_global("r").as<RulesetValue>();
  REQUIRE(set != nullptr);
  return testing::rule_meaning(t.interpreter, *set->rules().at(0), ops);
}
}  // namespace

TEST_CASE("indices read through a squeeze are drawn in range, so the rule is tested") {
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule e: embedding(?w, squeeze(?i, dim=-2)) => squeeze(embedding(?w, ?i), dim=-3) if rank(?i) == 2\n"
        "}\n");
  auto ops = std::make_shared<egraph::OpTable>();
  verify::RuleReport r = verify::verify_rule(only_rule(t, ops), *ops, {});
  CHECK(r.verdict == verify::Verdict::Tested);
}

TEST_CASE("a wrong rule over rearranged indices is still refuted") {
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule e: embedding(?w, squeeze(?i, dim=-2)) => squeeze(embedding(?w, ?i) * 2, dim=-3) if rank(?i) == 2\n"
        "}\n");
  auto ops = std::make_shared<egraph::OpTable>();
  verify::RuleReport r = verify::verify_rule(only_rule(t, ops), *ops, {});
  CHECK(r.verdict == verify::Verdict::Refuted);
}
