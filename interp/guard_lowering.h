// Guards and cost expressions, from the syntax tree to the engine's scalar IR
// (egraph/scalar_expr.h): the front end's half of stage 4 of the rule compiler.
//
//   ?a != 0 and dim(?x, -1) == 2 * ?h     ->  (and (ne ?a 0) (eq (query dim ?x -1) (mul 2 ?h)))
//
// Allowed: comparisons (a chain `0 < ?k < ?n` is a conjunction), and/or/not, arithmetic
// (+ - * / % **), pattern variables, numbers, strings, booleans, names (dtype names and other
// symbolic constants compare as strings), and calls of the guard queries
// (compiler/guard_queries.h) with positional arguments.
#pragma once

#include "egraph/scalar_expr.h"
#include "interp/ast.h"

#include <string>

namespace twin {

// `context` names where the expression is written ("the guard of rule r", "cost c") for the
// error. Throws Error (Syntax for a form that is not allowed, Name for an unknown query).
egraph::ScalarExpr lower_scalar(const Expr& expr, const std::string& context);

}  // namespace twin
