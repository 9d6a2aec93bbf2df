// Patterns: terms with holes.
//
// A Pattern is a tree whose leaves may be variables: Var(name) matches any e-class, and
// Node(op, children) matches an e-node with that operator whose children match the child
// patterns. A variable occurring twice must bind the same e-class both times.
// Patterns are matched by compiling them to a MatchProgram (pattern_compiler.h) run by the
// e-matching VM (machine.h); this file only holds the tree and small helpers.
#pragma once

#include "egraph/enode.h"

#include <string>
#include <vector>

namespace twin::egraph {

struct Pattern {
  enum class Kind : std::uint8_t { Var, Node };

  Kind kind = Kind::Var;
  std::string var;                // Var: the name without '?'
  OpId op = 0;                    // Node: the operator
  std::vector<Pattern> children;  // Node: one per operator child

  static Pattern Var(std::string name) {
    Pattern p;
    p.kind = Kind::Var;
    p.var = std::move(name);
    return p;
  }
  static Pattern Node(OpId op, std::vector<Pattern> children = {}) {
    Pattern p;
    p.kind = Kind::Node;
    p.op = op;
    p.children = std::move(children);
    return p;
  }

  bool is_var() const { return kind == Kind::Var; }
  bool operator==(const Pattern&) const = default;

  // Variable names in order of first occurrence (pre-order, left to right).
  std::vector<std::string> variables() const;
  // Number of Node entries (variables excluded).
  std::size_t node_count() const;
  // `(add ?a 0)`
  std::string to_string(const OpTable& ops) const;
  // A ground pattern (no variables) as a term; a pattern from a term.
  static Pattern from_expr(const RecExpr& expr);
  static Pattern from_expr(const RecExpr& expr, EClassId index);
};

}  // namespace twin::egraph
