// The canonical text of a term, in the language's own syntax: what `print(term ...)`, proofs,
// relations and emitted rules show.
//
//   add(mul(x, 2), 1)            -> x * 2 + 1
//   neg(pow(x, 2))               -> -x ** 2
//   cat([g, u], dim=-1)          -> cat([g, u], dim=-1)
//   constant 1/3, -2             -> 1/3, -2 (exact)
//
// Parentheses appear only where the grammar's precedence needs them; the text parses back to
// the same term. The front end's printer (interp/printer.h) prints whole syntax trees with the
// same precedence table (compiler/operator_precedence.h), so a term prints the same whether it
// was quoted in a script or came out of an e-graph.
#pragma once

#include "compiler/term.h"

#include <string>

namespace twin {

std::string print_term(const Term& term);

// A string literal as the language writes it: quotes around, backslash escapes inside.
std::string quote_string(const std::string& text);

}  // namespace twin
