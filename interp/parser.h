// The front end: text -> syntax tree.
//
// ANTLR (grammar/Twin.g4) does the parsing; this room turns its parse tree into the
// immutable tree of ast.h and its diagnostics into twin::Error values that name
// file:line:col and say what was expected. The first syntax error stops the parse: later
// errors after a bad token are usually noise.
//
// Depth limits keep hostile input from exhausting the C++ stack: brackets and prefix
// operators may nest at most kMaxNesting deep, and expressions at most kMaxExprDepth.
#pragma once

#include "interp/ast.h"

#include <memory>
#include <string>

namespace twin {

inline constexpr int kMaxNesting = 200;
inline constexpr int kMaxExprDepth = 2000;

// Parses a whole file (a `.rules` file or a `.twin` script). Throws Error(Syntax).
Program parse_program(std::shared_ptr<const SourceFile> source);

// How many brackets `( [ {` are open at the end of `text` (strings and comments skipped).
// The REPL keeps reading lines while this is positive.
int open_bracket_depth(const std::string& text);

}  // namespace twin
