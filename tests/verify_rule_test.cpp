// verify_rule: the strongest method that applies, and soundness first.
#include "interp/egraph_bindings.h"
#include "support.h"
#include "verify/rule_verifier.h"

#include <doctest/doctest.h>

using namespace twin;

namespace {
verify::RuleReport verify_named(testing::CapturingInterpreter& t, const std::string& ruleset, const std::string& rule) {
  auto set = t.interpreter.get_global(ruleset).as<RulesetValue>();
  REQUIRE(set != nullptr);
  for (const auto& r : set->rules())
    if (r->name() == rule) {
      auto ops = std::make_shared<egraph::OpTable>();
      return verify::verify_rule(rule_to_rewrite(t.interpreter, *r, ops), *ops, {});
    }
  FAIL("no rule " << rule);
  return {};
}
}  // namespace

TEST_CASE("a rule that changes a term's shape is refuted, even where the values would broadcast") {
  // Found by bench/mutants: both were once proved, the right side broadcast to the left's shape.
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule expand_drop: expand(?x, shape=[2, -1]) => ?x if rank(?x) == 2 and dim(?x, 0) == 1\n"
        "  rule to_scalar: ?a * 0 => 0\n"
        "  rule scalar_only: ?a * 0 => 0 if rank(?a) == 0\n"
        "}\n");
  CHECK(verify_named(t, "r", "expand_drop").verdict == verify::Verdict::Refuted);
  CHECK(verify_named(t, "r", "to_scalar").verdict == verify::Verdict::Refuted);
  CHECK(verify_named(t, "r", "scalar_only").verdict == verify::Verdict::Proved);
}

TEST_CASE("random testing takes over where Z3 has no encoding, and refutes with concrete tensors") {
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule right: embedding(?w, ?i) => index_select(?w, ?i, dim=0) if rank(?i) == 1\n"
        "  rule wrong: embedding(?w, ?i) => index_select(?w, ?i, dim=1) if rank(?i) == 1\n"
        "}\n");
  auto right = verify_named(t, "r", "right");
  CHECK(right.verdict == verify::Verdict::Tested);
  CHECK(right.method == "random");
  CHECK(right.trials > 0);
  auto wrong = verify_named(t, "r", "wrong");
  CHECK(wrong.verdict == verify::Verdict::Refuted);
  CHECK(wrong.counterexample.find("?i =") != std::string::npos);
}
