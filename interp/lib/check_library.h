// The check library a host opens: `check_graphs(...)`, the validation stage `twin check` runs,
// callable from a `.twin` script that drives a port's validation (docs/checking.md, "From a
// script").
//
//   let r = check_graphs("reference.graph", "port.graph", rules=["port.rules"])
//   assert r.verdict == "equivalent"
//   for d in r.divergences { print(d.module, d.op, d.rel_error) }
//
// The result is the `twin check --json` object as a map (lists and maps of strings, numbers
// and booleans). Paths resolve like load_graph's (relative to the script, read permission
// checked). Opening it links the checker, and with it Z3: a host that does not open it does not.
// Progress of a long check reaches the host through InterpreterOptions::diagnostics.
#pragma once

#include "interp/interpreter.h"

namespace twin {

void open_check_library(Interpreter& interpreter);

}  // namespace twin
