// Internal to verify/: the search for concrete shape instances of a rule, shared by the Z3
// checker and random testing (find_instances, in verify/z3_checker.h, is its public face).
//
// An instance gives every tensor variable a type and every integer variable a value such that
// the guard holds at the shape level (verify/z3_guard.h) and the left side types on it under
// the registry's shape inference (verify/z3_rule_walk.h, `shapes_only`). The right side is not
// consulted: where the left side types and the right side does not, the rule is wrong, and
// checking the instance says so.
//
// The search is deterministic and bounded by counts, never by time: at most 150 rank tuples
// and 4,000 trial walks of the left side. docs/verification.md ("Instances") describes the
// order of rank tuples, the dims' preferences (pairwise distinct, in 2..max_dim), the repair
// of a failed walk by unifying two dims, and the variants of the first two instances (other
// integer values; their signs flipped; a unit dim under each squeeze).
#pragma once

#include "egraph/op_table.h"
#include "egraph/rewrite.h"
#include "verify/z3_checker.h"
#include "verify/z3_rule_walk.h"

#include <string>
#include <vector>

namespace twin::verify {

// The instances for a rule already analyzed (`info` from analyze): up to options.instances
// base instances, each of the first two followed by its variants. `last_error`, when given,
// receives the last walk's error (why no instance was found). Throws what Z3 throws.
std::vector<Z3Instance> search_instances(const egraph::Rewrite& rule, const egraph::OpTable& ops,
                                         const Z3Options& options, const RuleInfo& info,
                                         std::string* last_error = nullptr);

}  // namespace twin::verify
