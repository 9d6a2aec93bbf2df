// Explanations: why two terms are equal.
//
// Opt-in (EGraph::enable_explanations() on an empty e-graph). When on, every class id
// the e-graph hands out stands for one exact term: its ExplanationNode records the
// operator and the *ids* of its children as given (not canonicalized). Adding a node that
// exists canonically but not as this exact term creates a fresh id, linked to the existing
// one by a congruence edge (egg's design). When off, none of this exists and the only
// cost is one predictable branch per add/union.
//
// The proof forest: every union records an edge between the two ids the caller passed,
// labelled with a justification (rule name and direction, a host union's name,
// "constant_fold", or congruence). The forest is kept a forest by re-rooting one tree
// before linking (egg's proof forest). explain(a, b) walks the forest path from a to b;
// a rule edge becomes one step rewriting the whole current term at the current position,
// a congruence edge expands into the steps that make each pair of children equal, each
// applied inside its context. So every step rewrites exactly one subterm of the whole
// term (egg's flattened explanations), and steps chain: step i's `after` is step i+1's
// `before`.
#pragma once

#include "egraph/enode.h"
#include "egraph/hashcons.h"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace twin::egraph {

// One rule application on the path between two terms, without the surrounding term: the
// exact terms (ids) it rewrote from and to. Proof summaries of whole models use these
// (a flattened explanation repeats the whole model's term at every step).
struct ProofEdge {
  EClassId from = 0, to = 0;  // exact-term ids (Explainer::term gives their terms)
  std::string rule;           // rule name, host union name, or "constant_fold"
  bool forward = true;        // the rule's lhs -> rhs
};

struct ExplanationStep {
  std::string rule;    // rule name, host union name, or "constant_fold"
  bool forward = true; // true: the rule's lhs -> rhs; false: rhs -> lhs
  RecExpr before;      // the whole term before the step
  RecExpr after;       // the whole term after the step
};

// Why two ids were unioned. name indexes the e-graph's justification names;
// kCongruence marks edges added by rebuilding.
struct Justification {
  static constexpr std::uint32_t kCongruence = 0;
  std::uint32_t name = kCongruence;
  bool reversed = false;  // the rule applied was the reverse half of a `<=>` rule
};

class Explainer {
 public:
  // Records the exact term of a new id (ids arrive densely, in order).
  void add_term(EClassId id, OpId op, std::span<const EClassId> children);
  // The id already standing for exactly this term, if any.
  std::optional<EClassId> find_term(OpId op, std::span<const EClassId> children) const;
  // Records that the term of `from` was made equal to the term of `to` by `why` (applied
  // from `from` to `to`).
  void record_union(EClassId from, EClassId to, Justification why);

  RecExpr term(EClassId id) const;
  OpId term_op(EClassId id) const { return op_of(id); }
  std::span<const EClassId> term_children(EClassId id) const { return children_of(id); }
  // The rule edges on the proof-forest paths that make a equal to b, recursing into the
  // children of congruence edges. Each pair of ids is walked once (memoized), so the cost is
  // linear in the proof's size even when subterms are shared: no term is flattened.
  std::vector<ProofEdge> proof_edges(EClassId a, EClassId b, const std::vector<std::string>& names) const;
  std::vector<ExplanationStep> explain(EClassId a, EClassId b, const std::vector<std::string>& names) const;
  std::size_t size() const { return terms_.size(); }

 private:
  struct TermRecord {
    OpId op;
    std::uint32_t first;  // index of the first child in term_children_
    std::uint32_t arity;
  };
  struct Edge {
    EClassId next;       // parent in the proof forest (self for a root)
    Justification why;
    bool forward;        // traversing id -> next applies `why` forward
  };
  struct Tree;  // a mutable term used while flattening
  void make_root(EClassId id);
  std::vector<EClassId> path_to_root(EClassId id) const;
  void explain_into(EClassId a, EClassId b, Tree& whole, std::vector<std::size_t>& position,
                    const std::vector<std::string>& names, std::vector<ExplanationStep>& out) const;

  OpId op_of(EClassId id) const { return terms_[id].op; }
  std::span<const EClassId> children_of(EClassId id) const {
    return {term_children_.data() + terms_[id].first, terms_[id].arity};
  }

  std::vector<TermRecord> terms_;       // per id: its exact term's node
  std::vector<EClassId> term_children_;
  HashCons by_term_;                    // exact term -> id
  std::vector<Edge> edges_;
};

}  // namespace twin::egraph
