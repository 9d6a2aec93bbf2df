// The e-graph library: what a script gets when its host opens it (as Lua's hosts open
// `string` or `io`). The engine (egraph/) knows nothing of syntax; rules reach it compiled by
// the rule compiler (compiler/rule_compiler.h), terms in the canonical form
// (compiler/canonical_form.h).
//
//   let g = egraph()                  # egraph(explain=true) records explanations eagerly
//   let a = g.add(term (x + 0) * 1)   # an e-class id
//   let report = g.run([algebra], iters=10, nodes=10000, time=5.0, scheduler="backoff")
//   g.equal(a, b)  g.union(a, b)  g.find(a)  g.extract(a, cost=size, dag=false)
//   g.cost(a, cost=size)  g.explain(a, b)  g.push()  g.pop()  g.classes()  g.dot()
//   disasm(rule)                      # the rule's match programs (twin disasm's text)
//
// Explanations: an e-graph made with egraph() records nothing, so it runs at full speed.
// g.explain(a, b) on such an e-graph replays the e-graph's history (adds, unions, runs:
// the engine is deterministic) into a recording e-graph and explains there. A run that
// stopped on its time limit may not replay identically; then explain() says so and asks
// for egraph(explain=true).
//
// A long g.run reports its progress to the host (InterpreterOptions::diagnostics).
#pragma once

#include "interp/interpreter.h"

namespace twin {

// Registers egraph() and disasm() in the interpreter.
void open_egraph_library(Interpreter& interpreter);

}  // namespace twin
