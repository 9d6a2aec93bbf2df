// `check_graphs(...)` for scripts: the validation stage `twin check` runs, callable from a
// `.twin` script that drives a port's validation (docs/checking.md, "From a script").
//
//   let r = check_graphs("reference.graph", "port.graph", rules=["port.rules"])
//   assert r.verdict == "equivalent"
//   for d in r.divergences { print(d.module, d.op, d.rel_error) }
//
// The result is the `twin check --json` object as a map (lists and maps of strings, numbers
// and booleans). Paths resolve like load_graph's (relative to the script, read permission
// checked). The interpreter library does not depend on the checker, so hosts opt in:
// `twin run` and `twin repl` install it; an embedding host calls install_check_builtins.
#pragma once

#include "interp/interpreter.h"

namespace twin::check {

void install_check_builtins(Interpreter& interpreter);

}  // namespace twin::check
