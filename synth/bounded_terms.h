// The smallest term of an e-class whose leaves lie on a frontier: the first step of turning
// two e-classes that should be one into a rule (synth/rule_synthesis.h).
//
// A *frontier* is a set of classes a term may stop at: they become the rule's pattern
// variables. Besides frontier classes, a term may contain only leaves that mean the same in
// every graph: numbers, strings, and the symbols attributes are written with (`true`, `false`,
// `none`, dtype names). A graph's own symbols (its inputs, parameters, buffers) are never
// inside a rule: a class holding only such a symbol is usable only as a frontier leaf.
//
// "Smallest" counts e-nodes, a frontier leaf counting one. Only classes within `max_depth`
// applications of the root are explored, so an answer is found or refused quickly even in a
// saturated e-graph; among terms of equal size the result is deterministic (nodes are
// considered in the e-graph's canonical order).
#pragma once

#include "compiler/term.h"
#include "egraph/egraph.h"

#include <functional>
#include <optional>
#include <vector>

namespace twin::synth {

struct BoundedTerm {
  TermPtr term;  // frontier leaves are TermKind::EClass terms (eclass = the class id)
  std::vector<egraph::EClassId> leaves;  // the frontier classes it uses, in first-use order
  std::size_t size = 0;                  // e-nodes, a frontier leaf counting one
};

// Whether a symbol leaf means the same in every graph (an attribute's spelling).
bool portable_symbol(std::string_view name);

// Whether the class holds a literal: a number, a string, an attribute's symbol, or a list of
// literals (`dims=[-1]`). A literal is written in a rule as it is, never as a variable.
bool literal_class(egraph::EGraph& graph, egraph::EClassId id, int depth = 0);

// The classes within `max_depth` applications below `root` (root excluded).
std::vector<egraph::EClassId> classes_below(egraph::EGraph& graph, egraph::EClassId root, std::size_t max_depth);

// The smallest term of `root` over the frontier (nullopt when none within the bounds or
// larger than `max_size`). `root` itself is never taken as a leaf.
std::optional<BoundedTerm> smallest_term(egraph::EGraph& graph, egraph::EClassId root,
                                         const std::function<bool(egraph::EClassId)>& frontier,
                                         std::size_t max_depth = 10, std::size_t max_size = 64);

}  // namespace twin::synth
