// Binding strength of the language's operators, loosest first: the `expr` rule of
// grammar/Twin.g4. Both printers (the front end's, of syntax trees, and print_term, of terms)
// parenthesize by it, so there is one table.
#pragma once

#include <string>

namespace twin::precedence {

enum Level {
  kQuote = 1,
  kOr,
  kAnd,
  kNot,
  kCompare,
  kAdd,
  kMul,
  kUnary,
  kPower,
  kPostfix,
  kAtom,
};

// The level of a binary operator spelled `infix` ("+", "*", "**", "%", ...).
inline int of_binary(const std::string& infix) {
  if (infix == "+" || infix == "-") return kAdd;
  if (infix == "**") return kPower;
  return kMul;
}

// The level of a number as printed: a fraction `1/3` (or `-1/3`) binds like `/`, a negative
// `-2` like unary minus. The fraction test comes first: `-1/3` parses as (-1)/3.
inline int of_number_text(const std::string& text) {
  if (text.find('/') != std::string::npos) return kMul;
  if (!text.empty() && text[0] == '-') return kUnary;
  return kAtom;
}

}  // namespace twin::precedence
