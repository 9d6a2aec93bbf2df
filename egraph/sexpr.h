// S-expressions: a tiny text form for terms and patterns, for tests, benchmarks and
// debugging. It is not the Twin language (that lives in interp/); it mirrors egg's
// notation so egg workloads can be ported line by line.
//
//   term    := atom | '(' name term* ')'
//   atom    := number (`3`, `-1`, `1/3`, `2.5`) -> Constant leaf
//            | "text"                           -> String leaf
//            | ?name  (patterns only)           -> pattern variable
//            | name                             -> Symbol leaf
// `(name t1 .. tn)` is the Apply operator (name, n), interned on the fly.
#pragma once

#include "egraph/enode.h"
#include "egraph/pattern.h"

#include <string_view>

namespace twin::egraph {

// Throws std::invalid_argument on malformed text.
RecExpr parse_term(std::string_view text, OpTable& ops);
Pattern parse_pattern(std::string_view text, OpTable& ops);

}  // namespace twin::egraph
