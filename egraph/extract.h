// Extraction: the cheapest term of an e-class under a CostFunction (cost.h).
//
// Tree mode: a class's cost is the minimum over its nodes of own cost + the children's
// costs, computed to a fixpoint (egg's Extractor); exact.
// DAG mode: a shared subterm counts once, i.e. the cost of a choice of one node per
// reachable class is the sum of the chosen nodes' own costs. Exact (branch and bound over
// the choices, with cycles excluded) when at most kExactDagClasses classes are reachable
// from the root and the search ends within kExactDagSteps steps; otherwise a heuristic:
// the tree-optimal choices costed as a DAG, or the best choice the interrupted exact
// search found if cheaper. Extraction::exact says which.
// Ties break deterministically: between equal costs the node earlier in the class's
// sorted node order wins.
// The e-graph is rebuilt first if dirty. Throws std::invalid_argument when no term of
// the class can be priced (every candidate node lacks a matching arm, or all are cyclic).
#pragma once

#include "egraph/cost.h"
#include "egraph/egraph.h"

namespace twin::egraph {

enum class ExtractMode { Tree, Dag };

inline constexpr std::size_t kExactDagClasses = 24;
inline constexpr std::size_t kExactDagSteps = 2'000'000;

struct Extraction {
  RecExpr term;
  double cost = 0;
  bool exact = true;  // false: a DAG cost from the heuristic (see above)
};

Extraction extract_best(EGraph& graph, EClassId root, const CostFunction& cost, ExtractMode mode = ExtractMode::Tree,
                        const QueryRegistry& queries = QueryRegistry::builtins());
RecExpr extract(EGraph& graph, EClassId root, const CostFunction& cost, ExtractMode mode = ExtractMode::Tree,
                const QueryRegistry& queries = QueryRegistry::builtins());
double best_cost(EGraph& graph, EClassId root, const CostFunction& cost, ExtractMode mode = ExtractMode::Tree,
                 const QueryRegistry& queries = QueryRegistry::builtins());

}  // namespace twin::egraph
