// The io library a host opens, as Lua's hosts open `io`: writing files and reading and writing
// JSON, for scripts that produce reports (the validation stages, stdlib/stages/).
//
//   write_text("out/report.md", text)       # only under a directory the host allows writing to
//   let j = to_json({"r": 1.5, "ok": true}) # text; indent=2 by default, indent=nil for one line
//   let v = parse_json(read_text("x.json")) # maps, lists, strings, numbers, booleans, nil
//
// Writing is a capability: InterpreterOptions::allowed_write_dirs (`twin run --allow-write
// DIR`); a host that opens this library but grants no directory lets scripts write nothing.
#pragma once

#include "interp/interpreter.h"

namespace twin {

void open_io_library(Interpreter& interpreter);
}  // namespace twin
