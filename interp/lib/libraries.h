// The libraries a host may open in an Interpreter, as Lua's hosts open `io` or `os`: an
// Interpreter starts with the language and its core builtins only (printing, strings, lists,
// maps, terms, rules, read_text under the allowed directories); each library below adds a
// family of builtins and links what it needs, and only then.
//
//   library   opens                              brings in
//   egraph    egraph(), disasm()                 the e-graph engine and the rule compiler
//   graph     load_graph(), tensors              graph files; libtorch, loaded on first use
//   check     check_graphs()                     the checker, Z3 (verify/)
//   io        write_text(), to_json(), parse_json() writing needs allowed_write_dirs
//   stages    stages_pair(), charts              the validation stages' parts (stages/)
//
//   twin::Interpreter twin(options);
//   twin::open_egraph_library(twin);           // only what the host wants scripts to have
//   twin::open_all_libraries(twin);            // or everything: what `twin run` and `twin repl` do
#pragma once

#include "interp/interpreter.h"
#include "interp/lib/check_library.h"
#include "interp/lib/egraph_library.h"
#include "interp/lib/graph_library.h"
#include "interp/lib/io_library.h"
#include "interp/lib/stages_library.h"

namespace twin {

void open_all_libraries(Interpreter& interpreter);

}  // namespace twin
