// The one canonical printer.
//
// Every declaration, rule, pattern, term and expression prints back as source text that
// parses to the same tree. `twin fmt` is this printer applied to a whole file, with the
// file's comments put back where they were (leading, trailing, or dangling at a block's end).
//
// Canonical form: two-space indentation; one space around binary operators and after
// commas; parentheses only where precedence needs them; at most one blank line between
// items; a rule on one line when it fits in kLineWidth columns, otherwise its left side,
// `=> right side` and `if guard` on lines of their own; a relation on one line when it fits,
// otherwise `relation PORT =` and its right side on the next line. A block that was written
// on one line with a single simple statement stays on one line (`if n < 2 { return n }`).
#pragma once

#include "interp/ast.h"

#include <string>

namespace twin {

inline constexpr int kLineWidth = 100;

std::string print_expr(const Expr& expr);
// `rule name: lhs => rhs if guard` on one line, with annotations before it (space-separated).
std::string print_rule(const RuleDecl& rule);
std::string print_annotation(const Annotation& annotation);
std::string print_op(const OpDecl& op);
// A whole cost block or ruleset, multi-line, as in a file.
std::string print_statement(const Stmt& stmt);
// The canonical text of a whole file, comments included. Always ends with one newline.
std::string format_program(const Program& program);

}  // namespace twin
