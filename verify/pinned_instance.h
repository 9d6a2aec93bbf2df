// A rule whose guard pins every tensor variable's shape (`shape(?x) == "[1, 8, 64]"`) and
// every integer variable's value (`?k == 4`) has exactly one instance: the one the guard
// names. Rules synthesized from a graph (synth/) are written this way, so they hold where they
// were found and are validated there; the instance search (z3_instances.h) takes it instead
// of searching. Dtypes come from `dtype(?x) == bf16` conjuncts, else f32.
#pragma once

#include "egraph/scalar_expr.h"
#include "verify/z3_checker.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin::verify {

// The pinned instance when the guard pins every variable in `tensors` and `integers` (as
// conjuncts at its top level); nullopt otherwise.
std::optional<Z3Instance> pinned_instance(const std::optional<egraph::ScalarExpr>& guard,
                                          const std::vector<std::string>& tensors,
                                          const std::vector<std::string>& integers);

// The ranks the guard fixes: `rank(?x) == 4` conjuncts at its top level, carried across
// `shape(?a) == shape(?b)` conjuncts (equal shapes have equal ranks). A variable whose rank
// the guard does not fix is absent.
std::map<std::string, int> pinned_ranks(const std::optional<egraph::ScalarExpr>& guard);

// The groups of variables whose shapes the guard makes equal (`shape(?a) == shape(?b)`
// conjuncts at its top level, transitively): each variable of `tensors` in exactly one group,
// groups in order of their first member.
std::vector<std::vector<std::string>> equal_shape_groups(const std::optional<egraph::ScalarExpr>& guard,
                                                         const std::vector<std::string>& tensors);

// The total number of elements an instance's tensor variables hold: a measure of how large
// its encoding for Z3 would be.
std::int64_t instance_elements(const Z3Instance& instance);

}  // namespace twin::verify
