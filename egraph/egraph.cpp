#include "egraph/egraph.h"

#include "egraph/constant_folding.h"

#include <algorithm>
#include <stdexcept>

namespace twin::egraph {

namespace {
// Children are copied to a small stack buffer when canonicalized: add() is re-entrant
// (analyses' modify hooks add nodes), so no shared scratch buffer is used.
constexpr std::size_t kInlineChildren = 8;
}  // namespace

EGraph::EGraph(std::shared_ptr<OpTable> ops, bool constant_folding) : ops_(std::move(ops)) {
  if (!ops_) throw std::invalid_argument("EGraph needs an OpTable");
  if (constant_folding) add_analysis(std::make_unique<ConstantFolding>());
}

EGraph::EGraph(const EGraph& other) : ops_(other.ops_), s_(other.s_), snapshots_(other.snapshots_) {
  refresh_folding_pointer();
}
EGraph& EGraph::operator=(const EGraph& other) {
  if (this != &other) {
    ops_ = other.ops_;
    s_ = other.s_;
    snapshots_ = other.snapshots_;
    refresh_folding_pointer();
  }
  return *this;
}
EGraph::EGraph(EGraph&&) noexcept = default;
EGraph& EGraph::operator=(EGraph&&) noexcept = default;
EGraph::~EGraph() = default;

void EGraph::refresh_folding_pointer() {
  s_.folding = nullptr;
  for (auto& slot : s_.analyses)
    if (auto* f = dynamic_cast<ConstantFolding*>(slot.ptr.get())) s_.folding = f;
}

// ---- analyses ------------------------------------------------------------------------

void EGraph::add_analysis(std::unique_ptr<Analysis> analysis) {
  if (s_.uf.size() != 0) throw std::logic_error("add_analysis: the e-graph is not empty");
  for (auto& slot : s_.analyses) {
    if (slot.ptr->name() == analysis->name()) {
      slot.ptr = std::move(analysis);
      refresh_folding_pointer();
      return;
    }
  }
  s_.analyses.emplace_back(std::move(analysis));
  refresh_folding_pointer();
}

Analysis* EGraph::find_analysis(std::string_view name) const {
  for (auto& slot : s_.analyses)
    if (slot.ptr->name() == name) return slot.ptr.get();
  return nullptr;
}

bool EGraph::has_op(EClassId id, OpId op) const {
  for (NodeId n : record(find(id)).nodes)
    if (s_.nodes[n].op == op && !s_.node_dead[n]) return true;
  return false;
}

std::optional<OpId> EGraph::constant_op(EClassId id) const {
  if (s_.folding) return s_.folding->constant_op(*this, id);
  for (NodeId n : record(find(id)).nodes)
    if (!s_.node_dead[n] && ops_->kind(s_.nodes[n].op) == OpKind::Constant) return s_.nodes[n].op;
  return std::nullopt;
}

std::optional<Rational> EGraph::constant_of(EClassId id) const {
  auto op = constant_op(id);
  if (!op) return std::nullopt;
  return ops_->info(*op).constant;
}

bool EGraph::has_symbol(EClassId id) const {
  for (NodeId n : record(find(id)).nodes)
    if (!s_.node_dead[n] && ops_->kind(s_.nodes[n].op) == OpKind::Symbol) return true;
  return false;
}

// ---- explanations --------------------------------------------------------------------

void EGraph::enable_explanations() {
  if (s_.uf.size() != 0) throw std::logic_error("enable_explanations: the e-graph is not empty");
  s_.explain.emplace();
}

std::vector<ProofEdge> EGraph::proof_edges(EClassId a, EClassId b) {
  if (!s_.explain) throw std::logic_error("proof_edges: explanations are not enabled");
  rebuild();
  if (find(a) != find(b)) throw std::invalid_argument("proof_edges: the two terms are not equal");
  return s_.explain->proof_edges(a, b, s_.justification_names);
}

std::vector<ExplanationStep> EGraph::explain(EClassId a, EClassId b) {
  if (!s_.explain) throw std::logic_error("explain: explanations are not enabled");
  ensure_clean();
  if (find(a) != find(b)) throw std::invalid_argument("explain: the two terms are not equal");
  return s_.explain->explain(a, b, s_.justification_names);
}

RecExpr EGraph::term_of(EClassId id) const {
  if (!s_.explain) throw std::logic_error("term_of: explanations are not enabled");
  return s_.explain->term(id);
}

// ---- building ------------------------------------------------------------------------

bool EGraph::node_equals(NodeId n, OpId op, std::span<const EClassId> children) const {
  const NodeRecord& r = s_.nodes[n];
  if (r.op != op || r.arity != children.size()) return false;
  const EClassId* mine = s_.pool.data() + r.first;
  for (std::size_t i = 0; i < children.size(); ++i)
    if (mine[i] != children[i]) return false;
  return true;
}

EClassId EGraph::new_id() {
  EClassId id = s_.uf.make_set();
  s_.slot.push_back(kNoSlot);
  for (auto& slot : s_.analyses) slot.ptr->grow(s_.uf.size());
  return id;
}

EClassId EGraph::add(OpId op, std::span<const EClassId> children) {
  if (op >= ops_->size()) throw std::out_of_range("add: unknown operator id");
  if (ops_->arity(op) != children.size())
    throw std::invalid_argument("add: operator " + ops_->display(op) + " expects " +
                                std::to_string(ops_->arity(op)) + " children");
  EClassId inline_buf[kInlineChildren];
  std::vector<EClassId> heap_buf;
  EClassId* canon = inline_buf;
  if (children.size() > kInlineChildren) {
    heap_buf.resize(children.size());
    canon = heap_buf.data();
  }
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (children[i] >= s_.uf.size()) throw std::out_of_range("add: unknown child class id");
    canon[i] = s_.uf.find_compress(children[i]);
  }
  std::span<const EClassId> canonical(canon, children.size());

  if (s_.explain) {
    if (auto existing = s_.explain->find_term(op, children)) return *existing;
  }
  std::uint32_t hash = hash_enode(op, canonical);
  NodeId found = s_.memo.find(hash, [&](NodeId n) { return node_equals(n, op, canonical); });
  if (found == HashCons::kEmpty) return new_class(op, canonical, hash, children);
  if (!s_.explain) return s_.uf.find_compress(s_.node_class[found]);

  // The node exists canonically but not as this exact term: a fresh id for the term,
  // equal to the existing one by congruence.
  EClassId existing = s_.node_class[found];
  EClassId id = new_id();
  s_.explain->add_term(id, op, children);
  s_.uf.link(s_.uf.find_compress(existing), id);
  s_.explain->record_union(existing, id, Justification{});
  return id;
}

EClassId EGraph::new_class(OpId op, std::span<const EClassId> canonical, std::uint32_t hash,
                           std::span<const EClassId> original) {
  EClassId id = new_id();
  NodeId n = static_cast<NodeId>(s_.nodes.size());
  s_.nodes.push_back(NodeRecord{op, static_cast<std::uint32_t>(canonical.size()),
                                static_cast<std::uint32_t>(s_.pool.size())});
  s_.pool.insert(s_.pool.end(), canonical.begin(), canonical.end());
  s_.node_class.push_back(id);
  s_.node_dead.push_back(0);
  if (s_.free_slots.empty()) {
    s_.slot[id] = static_cast<std::uint32_t>(s_.records.size());
    s_.records.emplace_back();
  } else {
    s_.slot[id] = s_.free_slots.back();
    s_.free_slots.pop_back();
  }
  record(id).nodes.push_back(n);
  for (EClassId c : canonical) record(c).parents.push_back(n);
  s_.memo.insert(hash, n);
  ++s_.class_count;
  s_.clean = false;
  if (s_.explain) s_.explain->add_term(id, op, original);
  for (std::size_t i = 0; i < s_.analyses.size(); ++i) s_.analyses[i].ptr->join_node(*this, id, op, canonical);
  for (std::size_t i = 0; i < s_.analyses.size(); ++i) s_.analyses[i].ptr->modify(*this, id);
  return id;
}

EClassId EGraph::add_expr(const RecExpr& expr) {
  if (expr.empty()) throw std::invalid_argument("add_expr: empty expression");
  std::vector<EClassId> ids(expr.size());
  std::vector<EClassId> children;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    const ENode& node = expr[static_cast<EClassId>(i)];
    children.clear();
    for (EClassId c : node.children) children.push_back(ids[c]);
    ids[i] = add(node.op, children);
  }
  return ids.back();
}

std::optional<EClassId> EGraph::lookup(OpId op, std::span<const EClassId> children) const {
  EClassId inline_buf[kInlineChildren];
  std::vector<EClassId> heap_buf;
  EClassId* canon = inline_buf;
  if (children.size() > kInlineChildren) {
    heap_buf.resize(children.size());
    canon = heap_buf.data();
  }
  for (std::size_t i = 0; i < children.size(); ++i) canon[i] = find(children[i]);
  std::span<const EClassId> canonical(canon, children.size());
  NodeId found =
      s_.memo.find(hash_enode(op, canonical), [&](NodeId n) { return node_equals(n, op, canonical); });
  if (found == HashCons::kEmpty) return std::nullopt;
  return find(s_.node_class[found]);
}

std::optional<EClassId> EGraph::lookup_expr(const RecExpr& expr) const {
  std::vector<EClassId> ids(expr.size());
  std::vector<EClassId> children;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    const ENode& node = expr[static_cast<EClassId>(i)];
    children.clear();
    for (EClassId c : node.children) children.push_back(ids[c]);
    auto id = lookup(node.op, children);
    if (!id) return std::nullopt;
    ids[i] = *id;
  }
  return ids.back();
}

// ---- union and rebuild ---------------------------------------------------------------

std::uint32_t EGraph::intern_justification(std::string_view name) {
  if (auto it = s_.justification_ids.find(name); it != s_.justification_ids.end()) return it->second;
  auto id = static_cast<std::uint32_t>(s_.justification_names.size());
  s_.justification_names.emplace_back(name);
  s_.justification_ids.emplace(std::string(name), id);
  return id;
}

bool EGraph::union_classes(EClassId a, EClassId b, std::string_view justification) {
  if (a >= s_.uf.size() || b >= s_.uf.size()) throw std::out_of_range("union_classes: unknown class id");
  return perform_union(a, b, Justification{intern_justification(justification), false});
}

bool EGraph::union_justified(EClassId a, EClassId b, Justification why) { return perform_union(a, b, why); }

bool EGraph::perform_union(EClassId a, EClassId b, Justification why) {
  EClassId ra = s_.uf.find_compress(a);
  EClassId rb = s_.uf.find_compress(b);
  if (ra == rb) return false;
  s_.clean = false;
  // The class with more parents survives, so fewer parents are queued (egg's choice).
  if (record(ra).parents.size() < record(rb).parents.size()) std::swap(ra, rb);
  if (s_.explain) s_.explain->record_union(a, b, why);
  s_.uf.link(ra, rb);
  --s_.class_count;

  ClassRecord absorbed = std::move(record(rb));
  record(rb) = ClassRecord{};
  s_.free_slots.push_back(s_.slot[rb]);
  s_.slot[rb] = kNoSlot;
  s_.pending.insert(s_.pending.end(), absorbed.parents.begin(), absorbed.parents.end());
  bool into_changed = false, from_changed = false;
  for (auto& slot : s_.analyses) {
    MergeResult m = slot.ptr->merge(ra, rb);
    into_changed |= m.into_changed;
    from_changed |= m.from_changed;
  }
  ClassRecord& kept = record(ra);
  if (into_changed) s_.analysis_pending.insert(s_.analysis_pending.end(), kept.parents.begin(), kept.parents.end());
  if (from_changed)
    s_.analysis_pending.insert(s_.analysis_pending.end(), absorbed.parents.begin(), absorbed.parents.end());
  kept.nodes.insert(kept.nodes.end(), absorbed.nodes.begin(), absorbed.nodes.end());
  kept.parents.insert(kept.parents.end(), absorbed.parents.begin(), absorbed.parents.end());
  for (std::size_t i = 0; i < s_.analyses.size(); ++i) s_.analyses[i].ptr->modify(*this, ra);
  return true;
}

void EGraph::process_pending() {
  while (!s_.pending.empty() || !s_.analysis_pending.empty()) {
    while (!s_.pending.empty()) {
      NodeId n = s_.pending.back();
      s_.pending.pop_back();
      if (s_.node_dead[n]) continue;
      NodeRecord r = s_.nodes[n];
      bool canonical = true;
      for (std::uint32_t i = 0; i < r.arity && canonical; ++i)
        canonical = s_.uf.find_compress(s_.pool[r.first + i]) == s_.pool[r.first + i];
      if (canonical) continue;  // unchanged: still hash-consed under its own content
      // A node's children change only here, after it left the hash-cons, so its stored
      // hash is the hash of its current children.
      s_.memo.erase(hash_enode(r.op, std::span<const EClassId>(s_.pool.data() + r.first, r.arity)), n);
      for (std::uint32_t i = 0; i < r.arity; ++i) s_.pool[r.first + i] = s_.uf.find_compress(s_.pool[r.first + i]);
      std::span<const EClassId> children(s_.pool.data() + r.first, r.arity);
      std::uint32_t hash = hash_enode(r.op, children);
      NodeId twin = s_.memo.find(hash, [&](NodeId m) { return node_equals(m, r.op, children); });
      if (twin == HashCons::kEmpty) {
        s_.memo.insert(hash, n);
      } else {
        // Congruent to a live node: n disappears, its class joins the twin's.
        s_.node_dead[n] = 1;
        perform_union(s_.node_class[twin], s_.node_class[n], Justification{});
      }
    }
    while (!s_.analysis_pending.empty()) {
      NodeId n = s_.analysis_pending.back();
      s_.analysis_pending.pop_back();
      if (s_.node_dead[n]) continue;
      EClassId cls = s_.uf.find_compress(s_.node_class[n]);
      NodeRecord r = s_.nodes[n];
      std::vector<EClassId> children(s_.pool.begin() + r.first, s_.pool.begin() + r.first + r.arity);
      for (EClassId& c : children) c = s_.uf.find_compress(c);
      bool changed = false;
      for (auto& slot : s_.analyses) changed |= slot.ptr->join_node(*this, cls, r.op, children);
      if (changed) {
        const auto& parents = record(cls).parents;
        s_.analysis_pending.insert(s_.analysis_pending.end(), parents.begin(), parents.end());
        for (std::size_t i = 0; i < s_.analyses.size(); ++i) s_.analyses[i].ptr->modify(*this, cls);
      }
    }
  }
}

void EGraph::rebuild_classes() {
  if (s_.by_op.size() < ops_->size()) s_.by_op.resize(ops_->size());
  for (auto& v : s_.by_op) v.clear();
  auto less = [this](NodeId x, NodeId y) {
    const NodeRecord& a = s_.nodes[x];
    const NodeRecord& b = s_.nodes[y];
    if (a.op != b.op) return a.op < b.op;
    if (a.arity != b.arity) return a.arity < b.arity;
    for (std::uint32_t i = 0; i < a.arity; ++i) {
      EClassId ca = s_.pool[a.first + i], cb = s_.pool[b.first + i];
      if (ca != cb) return ca < cb;
    }
    return false;
  };
  const auto& dead = s_.node_dead;
  for (EClassId id = 0; id < s_.slot.size(); ++id) {
    if (s_.slot[id] == kNoSlot) continue;
    ClassRecord& c = record(id);
    std::erase_if(c.nodes, [&](NodeId n) { return dead[n] != 0; });
    std::erase_if(c.parents, [&](NodeId n) { return dead[n] != 0; });
    std::sort(c.nodes.begin(), c.nodes.end(), less);
    OpId previous = 0xffffffffu;
    for (NodeId n : c.nodes) {
      OpId op = s_.nodes[n].op;
      if (op != previous) s_.by_op[op].push_back(id);
      previous = op;
    }
  }
}

std::size_t EGraph::rebuild() {
  std::size_t classes_before = s_.class_count;
  process_pending();
  rebuild_classes();
  s_.clean = true;
  return classes_before - std::min(classes_before, s_.class_count);
}

bool EGraph::equivalent(EClassId a, EClassId b) {
  ensure_clean();
  return find(a) == find(b);
}

void EGraph::prune_to_leaves(EClassId id) {
  auto& nodes = record(find(id)).nodes;
  std::erase_if(nodes, [&](NodeId n) { return s_.nodes[n].arity != 0; });
}

std::span<const EClassId> EGraph::classes_with_op(OpId op) const {
  if (op >= s_.by_op.size()) return {};
  return s_.by_op[op];
}

// ---- observing -----------------------------------------------------------------------

std::size_t EGraph::num_classes() {
  ensure_clean();
  return s_.class_count;
}

std::size_t EGraph::num_nodes() {
  ensure_clean();
  std::size_t total = 0;
  for (EClassId id = 0; id < s_.slot.size(); ++id)
    if (s_.slot[id] != kNoSlot) total += record(id).nodes.size();
  return total;
}

std::vector<EClassId> EGraph::class_ids() {
  ensure_clean();
  std::vector<EClassId> out;
  out.reserve(s_.class_count);
  for (EClassId id = 0; id < s_.slot.size(); ++id)
    if (s_.slot[id] != kNoSlot) out.push_back(id);
  return out;
}

std::vector<ENode> EGraph::class_nodes(EClassId id) {
  ensure_clean();
  std::vector<ENode> out;
  for (NodeId n : record(find(id)).nodes) {
    auto ch = node_children(n);
    out.push_back(ENode{node_op(n), std::vector<EClassId>(ch.begin(), ch.end())});
  }
  return out;
}

std::string EGraph::to_dot() {
  ensure_clean();
  auto escape = [](const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out;
  };
  std::string out = "digraph egraph {\n  compound=true;\n  clusterrank=local;\n";
  std::vector<EClassId> ids = class_ids();
  for (EClassId id : ids) {
    out += "  subgraph cluster_" + std::to_string(id) + " {\n    style=dotted;\n";
    std::string label = "e" + std::to_string(id);
    for (auto& slot : s_.analyses) {
      std::string d = slot.ptr->describe(*this, id);
      if (!d.empty()) label += " " + d;
    }
    out += "    label=\"" + escape(label) + "\";\n";
    const auto& nodes = record(id).nodes;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      out += "    n" + std::to_string(id) + "_" + std::to_string(i) + " [label=\"" +
             escape(ops_->display(node_op(nodes[i]))) + "\"];\n";
    out += "  }\n";
  }
  for (EClassId id : ids) {
    const auto& nodes = record(id).nodes;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      auto ch = node_children(nodes[i]);
      for (std::size_t k = 0; k < ch.size(); ++k) {
        EClassId child = find(ch[k]);
        out += "  n" + std::to_string(id) + "_" + std::to_string(i) + " -> n" + std::to_string(child) +
               "_0 [lhead=cluster_" + std::to_string(child) + ", label=" + std::to_string(k) + "];\n";
      }
    }
  }
  return out + "}\n";
}

// ---- snapshots -----------------------------------------------------------------------

void EGraph::push() { snapshots_.push_back(s_); }

void EGraph::pop() {
  if (snapshots_.empty()) throw std::logic_error("pop: no snapshot to restore");
  s_ = std::move(snapshots_.back());
  snapshots_.pop_back();
  refresh_folding_pointer();
}

}  // namespace twin::egraph
