// The e-graph: hash-consed e-nodes, e-classes under union-find, deferred rebuilding.
//
// Structure (egg's design, with nodes stored once):
//   - a node table: each e-node (op, children) lives once, identified by a NodeId;
//     e-classes list NodeIds, and each class lists the parent NodeIds that use it;
//   - the hash-cons maps each live canonical node to its NodeId, so adding an existing
//     term returns its class;
//   - a union-find over EClassIds; find(id) is the canonical id of id's class.
//
// Clean and dirty (egg's deferred rebuilding). union_classes() is cheap: it links the two
// roots, concatenates node and parent lists, and queues the parents of the absorbed class.
// The e-graph is then *dirty*: some nodes may have non-canonical children, two congruent
// nodes may sit in different classes, analysis data may be stale. rebuild() restores the
// invariants:
//   (1) congruence closure: two live nodes with the same op and equivalent children are in
//       the same class, and the hash-cons holds each live node exactly once under its
//       canonical form;
//   (2) every root class's node list holds its live nodes, canonical, sorted by
//       (op, children), so the matcher can find the nodes of one operator by binary search;
//   (3) the operator index lists, for each op, the root classes containing it, ascending;
//   (4) every analysis is at its fixpoint.
// Every public method that observes classes (equivalent, num_classes, class_ids, ...)
// rebuilds first, so the host never sees a dirty e-graph. The matcher, extractor and
// runner use the low-level accessors (nodes_of, classes_with_op) that require is_clean().
//
// Determinism: no container is iterated in hash order and hashes have no seed, so the same
// sequence of calls gives the same ids, counts and results in every process.
//
// Snapshots: push() saves the whole state (classes, nodes, analysis data, explanations);
// pop() restores it exactly. A snapshot is a copy, O(size of the e-graph). The shared
// OpTable is not part of it: operators interned meanwhile stay interned (and harmless).
#pragma once

#include "egraph/analysis.h"
#include "egraph/enode.h"
#include "egraph/explain.h"
#include "egraph/hashcons.h"
#include "egraph/op_table.h"
#include "egraph/union_find.h"

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace twin::egraph {

using NodeId = std::uint32_t;
class ConstantFolding;

class EGraph {
 public:
  // Constant folding (default options) is registered unless `constant_folding` is false.
  explicit EGraph(std::shared_ptr<OpTable> ops, bool constant_folding = true);
  EGraph(const EGraph& other);
  EGraph& operator=(const EGraph& other);
  EGraph(EGraph&&) noexcept;
  EGraph& operator=(EGraph&&) noexcept;
  ~EGraph();

  OpTable& ops() const { return *ops_; }
  const std::shared_ptr<OpTable>& shared_ops() const { return ops_; }

  // ---- analyses ----------------------------------------------------------------------
  // Registers an analysis; only on an empty e-graph (throws std::logic_error otherwise).
  // Replaces an analysis of the same name.
  void add_analysis(std::unique_ptr<Analysis> analysis);
  Analysis* find_analysis(std::string_view name) const;
  template <class A>
  A* analysis() const {
    return dynamic_cast<A*>(find_analysis(A::kName));
  }
  // The exact value the class is known to equal: from constant folding when registered,
  // otherwise a Constant leaf among the class's nodes. These three read the current state
  // without rebuilding (they are const, for guards and queries): after unions, call
  // rebuild() first so facts have propagated; the runner and the extractor always do.
  std::optional<OpId> constant_op(EClassId id) const;
  std::optional<Rational> constant_of(EClassId id) const;
  // Whether the class contains a Symbol leaf.
  bool has_symbol(EClassId id) const;
  bool has_op(EClassId id, OpId op) const;

  // ---- explanations ------------------------------------------------------------------
  // Only on an empty e-graph (throws std::logic_error otherwise).
  void enable_explanations();
  bool explanations_enabled() const { return s_.explain.has_value(); }
  // The steps turning the term of `a` into the term of `b`; they must be equivalent
  // (throws std::invalid_argument otherwise, std::logic_error when explanations are off).
  std::vector<ExplanationStep> explain(EClassId a, EClassId b);
  // The rule edges of the proof that a == b (see Explainer::proof_edges); a, b must be equal.
  std::vector<ProofEdge> proof_edges(EClassId a, EClassId b);
  // The explainer (nullptr when explanations are off): exact terms of ids for proof summaries.
  const Explainer* explainer() const { return s_.explain ? &*s_.explain : nullptr; }
  // With explanations on: the exact term `id` was created for.
  RecExpr term_of(EClassId id) const;

  // ---- building ----------------------------------------------------------------------
  // Adds the node (or finds it); returns its class. Children must be ids of this e-graph.
  // With explanations on, the id returned stands for exactly this term (see explain.h);
  // compare ids with find() or equivalent(), never with ==.
  EClassId add(OpId op, std::span<const EClassId> children = {});
  EClassId add(const ENode& node) { return add(node.op, node.children); }
  EClassId add_expr(const RecExpr& expr);
  // The class of an existing node / term, or nothing. Exact on a clean e-graph; while dirty
  // it may miss a node that congruence will find (as egg's lookup does).
  std::optional<EClassId> lookup(OpId op, std::span<const EClassId> children) const;
  std::optional<EClassId> lookup_expr(const RecExpr& expr) const;

  // Merges the classes of a and b; `justification` names the reason in explanations.
  // Returns false when they were already equal. Leaves the e-graph dirty.
  bool union_classes(EClassId a, EClassId b, std::string_view justification = "union");
  // Same, with an interned justification (the runner's path).
  bool union_justified(EClassId a, EClassId b, Justification why);
  std::uint32_t intern_justification(std::string_view name);

  // Restores the invariants listed above; returns the number of unions it performed.
  std::size_t rebuild();
  bool is_clean() const { return s_.clean; }

  EClassId find(EClassId id) const { return s_.uf.find(id); }
  EClassId find_compress(EClassId id) { return s_.uf.find_compress(id); }
  bool equivalent(EClassId a, EClassId b);  // rebuilds first

  // ---- observing (each rebuilds first) -----------------------------------------------
  std::size_t num_classes();
  std::size_t num_nodes();  // e-nodes listed in classes (egg's total_number_of_nodes)
  std::vector<EClassId> class_ids();
  std::vector<ENode> class_nodes(EClassId id);  // canonical children, sorted
  std::string to_dot();

  // ---- snapshots ---------------------------------------------------------------------
  void push();
  void pop();  // throws std::logic_error without a matching push
  std::size_t snapshot_depth() const { return snapshots_.size(); }

  // ---- low level (for the matcher, extractor, analyses, runner) -----------------------
  // Valid only while is_clean(), except live_node_count().
  std::span<const NodeId> nodes_of(EClassId root) const { return s_.records[s_.slot[root]].nodes; }
  OpId node_op(NodeId n) const { return s_.nodes[n].op; }
  std::span<const EClassId> node_children(NodeId n) const {
    return {s_.pool.data() + s_.nodes[n].first, s_.nodes[n].arity};
  }
  std::span<const EClassId> classes_with_op(OpId op) const;
  std::size_t live_node_count() const { return s_.memo.size(); }  // distinct hash-consed nodes
  std::size_t class_count() const { return s_.class_count; }      // roots, no rebuild
  std::size_t id_count() const { return s_.uf.size(); }
  std::size_t node_id_count() const { return s_.nodes.size(); }  // NodeIds are < this
  // Removes every non-leaf node from the class's node list (they stay hash-consed); used by
  // analyses that prune, as egg's math example does.
  void prune_to_leaves(EClassId id);
  const std::vector<std::string>& justification_names() const { return s_.justification_names; }

 private:
  struct NodeRecord {
    OpId op;
    std::uint32_t arity;
    std::uint32_t first;  // index of the first child in pool
  };
  struct ClassRecord {
    std::vector<NodeId> nodes;
    std::vector<NodeId> parents;
  };
  struct AnalysisSlot {
    std::unique_ptr<Analysis> ptr;
    AnalysisSlot() = default;
    explicit AnalysisSlot(std::unique_ptr<Analysis> p) : ptr(std::move(p)) {}
    AnalysisSlot(const AnalysisSlot& o) : ptr(o.ptr ? o.ptr->clone() : nullptr) {}
    AnalysisSlot& operator=(const AnalysisSlot& o) {
      ptr = o.ptr ? o.ptr->clone() : nullptr;
      return *this;
    }
    AnalysisSlot(AnalysisSlot&&) noexcept = default;
    AnalysisSlot& operator=(AnalysisSlot&&) noexcept = default;
  };
  // Everything push() saves.
  struct State {
    UnionFind uf;
    // Per class id, the index of its record in `records` (roots only; kNoSlot otherwise).
    // Most ids stop being roots, so records are kept dense and their slots reused.
    std::vector<std::uint32_t> slot;
    std::vector<ClassRecord> records;
    std::vector<std::uint32_t> free_slots;
    std::vector<NodeRecord> nodes;
    std::vector<EClassId> pool;        // children of all nodes
    std::vector<EClassId> node_class;  // the id the node was created in
    std::vector<std::uint8_t> node_dead;  // 1: merged into a congruent twin
    HashCons memo;
    std::vector<NodeId> pending;           // nodes whose children may be non-canonical
    std::vector<NodeId> analysis_pending;  // nodes whose children's data changed
    std::vector<std::vector<EClassId>> by_op;
    std::size_t class_count = 0;
    bool clean = true;
    std::vector<AnalysisSlot> analyses;
    ConstantFolding* folding = nullptr;  // points into analyses; fixed up on copy
    std::optional<Explainer> explain;
    std::vector<std::string> justification_names{"congruence"};
    std::map<std::string, std::uint32_t, std::less<>> justification_ids{{"congruence", 0}};
  };

  EClassId new_class(OpId op, std::span<const EClassId> canonical, std::uint32_t hash,
                     std::span<const EClassId> original);
  EClassId new_id();
  bool perform_union(EClassId a, EClassId b, Justification why);
  void process_pending();
  void rebuild_classes();
  bool node_equals(NodeId n, OpId op, std::span<const EClassId> children) const;
  void refresh_folding_pointer();
  static constexpr std::uint32_t kNoSlot = 0xffffffffu;
  ClassRecord& record(EClassId root) { return s_.records[s_.slot[root]]; }
  const ClassRecord& record(EClassId root) const { return s_.records[s_.slot[root]]; }
  void ensure_clean() {
    if (!s_.clean) rebuild();
  }

  std::shared_ptr<OpTable> ops_;
  State s_;
  std::vector<State> snapshots_;
};

}  // namespace twin::egraph
