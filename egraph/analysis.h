// E-class analyses: facts attached to every e-class, kept consistent with merging.
//
// An analysis is a join-semilattice of per-class data (egg's make/merge/modify):
//   - every new class id starts at "nothing known" (grow);
//   - join_node(cls, node) joins what `node` implies (computed from the data of its
//     child classes) into cls's data; this is egg's make followed by merge;
//   - merge(into, from) joins the data of class `from` into class `into` when the two
//     classes are unioned, and reports which side's data changed: the e-graph then
//     re-examines the parents of each changed side during rebuild (so a fact discovered
//     in one class flows up through every term that uses it);
//   - modify(cls) may change the e-graph in response (add nodes, union classes), e.g.
//     constant folding adds the constant leaf and unions it with the class.
// The analysis stores its data itself, indexed by e-class id; the e-graph only calls the
// hooks. clone() supports push()/pop() snapshots. Several analyses can be registered on
// one e-graph (add_analysis) without touching the core: constant folding is one, a later
// tensor shape/dtype analysis is another.
//
// Invariant after rebuild(): for every root class c and every node n in c,
// data(c) == join over n of what n implies, and merge has been applied for every union.
#pragma once

#include "egraph/enode.h"

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace twin::egraph {

class EGraph;

struct MergeResult {
  bool into_changed = false;  // data of `into` grew
  bool from_changed = false;  // the result differs from what `from` had
};

class Analysis {
 public:
  virtual ~Analysis() = default;
  virtual std::string_view name() const = 0;
  virtual std::unique_ptr<Analysis> clone() const = 0;
  // Class ids 0..n_ids-1 exist; new ones start at "nothing known".
  virtual void grow(std::size_t n_ids) = 0;
  // Joins what the node (op, canonical children) implies into cls; true if cls's data changed.
  virtual bool join_node(const EGraph& graph, EClassId cls, OpId op, std::span<const EClassId> children) = 0;
  virtual MergeResult merge(EClassId into, EClassId from) = 0;
  virtual void modify(EGraph& graph, EClassId cls) {}
  // Short text for to_dot() and debugging; empty when nothing is known.
  virtual std::string describe(const EGraph& graph, EClassId cls) const { return {}; }
};

}  // namespace twin::egraph
