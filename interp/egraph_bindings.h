// The bridge between the language and the e-graph engine.
//
// The engine (egraph/) knows nothing of syntax: it sees interned operators, patterns, a
// small scalar IR for guards and costs, and RecExprs. This room lowers the language's
// values into those (Term -> RecExpr / Pattern, guard and cost expressions -> ScalarExpr,
// `<=>` -> two rewrites) and lifts results back (RecExpr -> Term, reports and explanations
// -> values). It also gives scripts the e-graph API:
//
//   let g = egraph()                  # egraph(explain=true) records explanations eagerly
//   let a = g.add(term (x + 0) * 1)   # an e-class id
//   let report = g.run([algebra], iters=10, nodes=10000, time=5.0, scheduler="backoff")
//   g.equal(a, b)  g.union(a, b)  g.find(a)  g.extract(a, cost=size, dag=false)
//   g.cost(a, cost=size)  g.explain(a, b)  g.push()  g.pop()  g.classes()  g.dot()
//
// Explanations: an e-graph made with egraph() records nothing, so it runs at full speed.
// g.explain(a, b) on such an e-graph replays the e-graph's history (adds, unions, runs:
// the engine is deterministic) into a recording e-graph and explains there. A run that
// stopped on its time limit may not replay identically; then explain() says so and asks
// for egraph(explain=true).
#pragma once

#include "egraph/op_table.h"
#include "egraph/rewrite.h"
#include "interp/interpreter.h"
#include "interp/term.h"

#include <optional>
#include <string>

namespace twin {

// Registers egraph() and the engine-backed builtins in the interpreter.
void install_egraph_builtins(Interpreter& interpreter);

// The VM programs of every rule declared so far (or only `rule_name`), for `twin disasm`
// and the REPL's :disasm. Throws Error when `rule_name` names no rule.
std::string disassemble_rules(Interpreter& interpreter, const std::optional<std::string>& rule_name);

// The engine's form of a rule for validation, left to right, interned in `ops`: calls of
// declared ops with a body are replaced by their bodies (their meaning), as evaluation and
// Z3 need. Throws Error (located at the rule) for guards the engine cannot express.
egraph::Rewrite rule_to_rewrite(Interpreter& interpreter, const RuleValue& rule, std::shared_ptr<egraph::OpTable> ops);
// Both directions of a `<=>` rule (one rewrite for `=>`): validating a `<=>` rule checks each,
// since a direction may be undefined where the other is not (?a => ?a * ?b / ?b).
std::vector<egraph::Rewrite> rule_to_rewrites(Interpreter& interpreter, const RuleValue& rule,
                                              std::shared_ptr<egraph::OpTable> ops);

}  // namespace twin
