// The pattern compiler: Pattern -> MatchProgram (see machine.h for the instruction set).
//
// Strategy (egg's): start with a Scan of the classes containing the root operator; keep a
// set of (pattern node, register) still to match and repeatedly pick the most constrained
// one: a subterm whose variables are all bound becomes a single Lookup (a hash-cons
// probe instead of a search); otherwise prefer subterms with fewer unbound variables, then
// larger ones, and Bind it, queueing its children in fresh registers. A variable's first
// occurrence just names its register; each later occurrence emits a Compare.
// Ties are broken by position in the pattern, so compilation is deterministic.
#pragma once

#include "egraph/machine.h"
#include "egraph/pattern.h"

namespace twin::egraph {

MatchProgram compile(const Pattern& pattern, const OpTable& ops);

}  // namespace twin::egraph
