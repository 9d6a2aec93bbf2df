#include "egraph/explain.h"

#include <set>

#include "egraph/hashcons.h"

#include <algorithm>
#include <stdexcept>

namespace twin::egraph {

void Explainer::add_term(EClassId id, OpId op, std::span<const EClassId> children) {
  if (id != terms_.size()) throw std::logic_error("Explainer: ids must arrive in order");
  terms_.push_back(TermRecord{op, static_cast<std::uint32_t>(term_children_.size()),
                              static_cast<std::uint32_t>(children.size())});
  term_children_.insert(term_children_.end(), children.begin(), children.end());
  edges_.push_back(Edge{id, Justification{}, true});
  by_term_.insert(hash_enode(op, children), id);
}

std::optional<EClassId> Explainer::find_term(OpId op, std::span<const EClassId> children) const {
  EClassId found = by_term_.find(hash_enode(op, children), [&](EClassId id) {
    if (terms_[id].op != op || terms_[id].arity != children.size()) return false;
    auto mine = children_of(id);
    return std::equal(mine.begin(), mine.end(), children.begin());
  });
  if (found == HashCons::kEmpty) return std::nullopt;
  return found;
}

void Explainer::make_root(EClassId id) {
  // Reverse every edge on the path from id to its root.
  EClassId current = id;
  Edge carried = edges_[current];
  edges_[current] = Edge{current, Justification{}, true};
  while (carried.next != current) {
    EClassId next = carried.next;
    Edge following = edges_[next];
    edges_[next] = Edge{current, carried.why, !carried.forward};
    current = next;
    carried = following;
  }
}

void Explainer::record_union(EClassId from, EClassId to, Justification why) {
  make_root(from);
  edges_[from] = Edge{to, why, true};
}

std::vector<EClassId> Explainer::path_to_root(EClassId id) const {
  std::vector<EClassId> path{id};
  while (edges_[id].next != id) {
    id = edges_[id].next;
    path.push_back(id);
  }
  return path;
}

RecExpr Explainer::term(EClassId id) const {
  // Post-order copy of the tree below id (shared subterms are repeated: a term is a tree).
  RecExpr out;
  struct Frame {
    EClassId id;
    std::size_t next_child;
    std::vector<EClassId> built;
  };
  std::vector<Frame> stack{{id, 0, {}}};
  EClassId last = 0;
  while (!stack.empty()) {
    Frame& f = stack.back();
    auto children = children_of(f.id);
    if (f.next_child < children.size()) {
      EClassId child = children[f.next_child++];
      stack.push_back(Frame{child, 0, {}});
      continue;
    }
    last = out.add(op_of(f.id), f.built);
    stack.pop_back();
    if (!stack.empty()) stack.back().built.push_back(last);
  }
  return out;
}

// A term as a tree that can be rewritten in place while a flattened explanation is built.
struct Explainer::Tree {
  OpId op = 0;
  std::vector<Tree> children;

  static Tree of(const Explainer& ex, EClassId id) {
    Tree t;
    t.op = ex.op_of(id);
    for (EClassId c : ex.children_of(id)) t.children.push_back(of(ex, c));
    return t;
  }
  Tree& at(const std::vector<std::size_t>& position) {
    Tree* t = this;
    for (std::size_t i : position) t = &t->children[i];
    return *t;
  }
  EClassId append_to(RecExpr& out) const {
    std::vector<EClassId> ids;
    for (const Tree& c : children) ids.push_back(c.append_to(out));
    return out.add(op, std::move(ids));
  }
  RecExpr to_expr() const {
    RecExpr out;
    append_to(out);
    return out;
  }
};

void Explainer::explain_into(EClassId a, EClassId b, Tree& whole, std::vector<std::size_t>& position,
                             const std::vector<std::string>& names, std::vector<ExplanationStep>& out) const {
  if (a == b) return;
  std::vector<EClassId> up_a = path_to_root(a);
  std::vector<EClassId> up_b = path_to_root(b);
  if (up_a.back() != up_b.back()) throw std::logic_error("Explainer: ids are not connected");
  // Drop the common tail to find the meeting point.
  while (up_a.size() >= 2 && up_b.size() >= 2 && up_a[up_a.size() - 2] == up_b[up_b.size() - 2]) {
    up_a.pop_back();
    up_b.pop_back();
  }
  // The walk: up from a to the meeting point, then down to b.
  struct Hop {
    EClassId from, to;
    Justification why;
    bool forward;
  };
  std::vector<Hop> hops;
  for (std::size_t i = 0; i + 1 < up_a.size(); ++i) {
    const Edge& e = edges_[up_a[i]];
    hops.push_back(Hop{up_a[i], e.next, e.why, e.forward});
  }
  for (std::size_t i = up_b.size() - 1; i-- > 0;) {
    const Edge& e = edges_[up_b[i]];
    hops.push_back(Hop{e.next, up_b[i], e.why, !e.forward});
  }
  for (const Hop& hop : hops) {
    if (hop.why.name == Justification::kCongruence) {
      auto x = children_of(hop.from);
      auto y = children_of(hop.to);
      for (std::size_t i = 0; i < x.size(); ++i) {
        position.push_back(i);
        explain_into(x[i], y[i], whole, position, names, out);
        position.pop_back();
      }
      continue;
    }
    ExplanationStep step;
    step.rule = names[hop.why.name];
    step.forward = hop.forward != hop.why.reversed;
    step.before = whole.to_expr();
    whole.at(position) = Tree::of(*this, hop.to);
    step.after = whole.to_expr();
    out.push_back(std::move(step));
  }
}

std::vector<ProofEdge> Explainer::proof_edges(EClassId a, EClassId b, const std::vector<std::string>& names) const {
  std::vector<ProofEdge> out;
  std::set<std::pair<EClassId, EClassId>> done;
  std::vector<std::pair<EClassId, EClassId>> work{{a, b}};
  while (!work.empty()) {
    auto [x, y] = work.back();
    work.pop_back();
    if (x == y || !done.insert({x, y}).second) continue;
    std::vector<EClassId> up_x = path_to_root(x), up_y = path_to_root(y);
    if (up_x.back() != up_y.back()) throw std::logic_error("Explainer: ids are not connected");
    while (up_x.size() >= 2 && up_y.size() >= 2 && up_x[up_x.size() - 2] == up_y[up_y.size() - 2]) {
      up_x.pop_back();
      up_y.pop_back();
    }
    auto hop = [&](EClassId from, EClassId to, Justification why, bool forward) {
      if (why.name == Justification::kCongruence) {
        auto cx = children_of(from), cy = children_of(to);
        for (std::size_t i = 0; i < cx.size(); ++i) work.push_back({cx[i], cy[i]});
        return;
      }
      out.push_back(ProofEdge{from, to, names[why.name], forward != why.reversed});
    };
    for (std::size_t i = 0; i + 1 < up_x.size(); ++i) {
      const Edge& e = edges_[up_x[i]];
      hop(up_x[i], e.next, e.why, e.forward);
    }
    for (std::size_t i = up_y.size() - 1; i-- > 0;) {
      const Edge& e = edges_[up_y[i]];
      hop(e.next, up_y[i], e.why, !e.forward);
    }
  }
  return out;
}

std::vector<ExplanationStep> Explainer::explain(EClassId a, EClassId b, const std::vector<std::string>& names) const {
  std::vector<ExplanationStep> out;
  Tree whole = Tree::of(*this, a);
  std::vector<std::size_t> position;
  explain_into(a, b, whole, position, names, out);
  return out;
}

}  // namespace twin::egraph
