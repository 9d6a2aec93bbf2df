// Cost functions for extraction, given as IR (the language's cost blocks lower to this).
//
// A CostFunction is a list of arms, tried in order for each e-node:
//   pattern: its root is an operator pattern, or a variable (a wildcard matching any
//            node; the variable binds the node's own class). The root operator must be the
//            node's operator; child variables bind the node's child classes; nested
//            sub-patterns must e-match the corresponding child class;
//   guard:   optional; evaluated like a rule guard over those bindings;
//   cost:    a ScalarExpr giving the node's *own* cost (a number).
// The first arm that matches (for some binding, in deterministic order) and whose guard
// holds gives the node's own cost; a node no arm prices cannot be extracted. A term's
// tree cost is the sum of its nodes' own costs; its DAG cost counts each distinct
// (class, chosen node) once.
#pragma once

#include "egraph/pattern.h"
#include "egraph/scalar_expr.h"

#include <optional>
#include <vector>

namespace twin::egraph {

struct CostArm {
  Pattern pattern;
  std::optional<ScalarExpr> guard;
  ScalarExpr cost;
};

struct CostFunction {
  std::vector<CostArm> arms;

  // Every node costs 1: the tree cost is the term's size (egg's AstSize).
  static CostFunction ast_size() {
    return CostFunction{{CostArm{Pattern::Var("node"), std::nullopt, ScalarExpr::constant(1)}}};
  }
};

}  // namespace twin::egraph
