#include "synth/bounded_terms.h"

#include "ops/dtype.h"

#include <limits>
#include <map>
#include <set>

namespace twin::synth {

namespace eg = twin::egraph;

bool portable_symbol(std::string_view name) {
  return name == "true" || name == "false" || name == "none" || ops::parse_dtype(name).has_value();
}

namespace {

constexpr std::size_t kInfinite = std::numeric_limits<std::size_t>::max() / 4;

struct Choice {
  std::size_t cost = kInfinite;
  const eg::ENode* node = nullptr;  // null for a frontier leaf
};

}  // namespace

bool literal_class(eg::EGraph& graph, eg::EClassId id, int depth) {
  if (depth > 3) return false;
  const eg::OpTable& ops = graph.ops();
  for (const auto& n : graph.class_nodes(id)) {
    const eg::OpInfo& info = ops.info(n.op);
    if (info.kind == eg::OpKind::Constant || info.kind == eg::OpKind::String) return true;
    if (info.kind == eg::OpKind::Symbol && portable_symbol(info.name)) return true;
    if (info.kind == eg::OpKind::Apply && info.name == "list" && info.attr_names.empty()) {
      bool all = true;
      for (eg::EClassId c : n.children) all = all && literal_class(graph, c, depth + 1);
      if (all) return true;
    }
  }
  return false;
}

std::vector<eg::EClassId> classes_below(eg::EGraph& graph, eg::EClassId root, std::size_t max_depth) {
  graph.rebuild();
  root = graph.find(root);
  std::set<eg::EClassId> seen{root};
  std::vector<eg::EClassId> out, layer{root};
  for (std::size_t depth = 0; depth < max_depth && !layer.empty(); ++depth) {
    std::vector<eg::EClassId> next;
    for (eg::EClassId c : layer)
      for (const auto& n : graph.class_nodes(c))
        for (eg::EClassId child : n.children)
          if (seen.insert(graph.find(child)).second) {
            next.push_back(graph.find(child));
            out.push_back(graph.find(child));
          }
    layer = std::move(next);
  }
  return out;
}

std::optional<BoundedTerm> smallest_term(eg::EGraph& graph, eg::EClassId root,
                                         const std::function<bool(eg::EClassId)>& frontier, std::size_t max_depth,
                                         std::size_t max_size) {
  graph.rebuild();
  const eg::OpTable& ops = graph.ops();
  root = graph.find(root);
  // The classes within reach, breadth first; frontier classes are not expanded.
  std::map<eg::EClassId, std::vector<eg::ENode>> nodes;
  std::set<eg::EClassId> leaves;
  std::vector<eg::EClassId> layer{root};
  nodes[root] = graph.class_nodes(root);
  for (std::size_t depth = 0; depth < max_depth && !layer.empty(); ++depth) {
    std::vector<eg::EClassId> next;
    for (eg::EClassId c : layer)
      for (const auto& n : nodes[c])
        for (eg::EClassId child : n.children) {
          child = graph.find(child);
          if (nodes.count(child) || leaves.count(child)) continue;
          if (child != root && frontier(child)) {
            leaves.insert(child);
            continue;
          }
          nodes[child] = graph.class_nodes(child);
          next.push_back(child);
        }
    layer = std::move(next);
  }
  // Costs to a fixpoint (a node's cost is one plus its children's).
  std::map<eg::EClassId, Choice> best;
  for (eg::EClassId l : leaves) best[l] = Choice{1, nullptr};
  bool changed = true;
  while (changed) {
    changed = false;
    for (auto& [c, list] : nodes) {
      Choice& choice = best[c];
      for (const auto& n : list) {
        const eg::OpInfo& info = ops.info(n.op);
        std::size_t cost = 1;
        if (info.kind == eg::OpKind::Symbol && !portable_symbol(info.name)) continue;
        for (eg::EClassId child : n.children) {
          auto it = best.find(graph.find(child));
          cost = it == best.end() ? kInfinite : std::min(kInfinite, cost + it->second.cost);
          if (cost >= kInfinite) break;
        }
        if (cost < choice.cost) {
          choice = Choice{cost, &n};
          changed = true;
        }
      }
    }
  }
  const Choice& top = best[root];
  if (top.cost >= kInfinite || top.cost > max_size) return std::nullopt;

  BoundedTerm out;
  out.size = top.cost;
  std::set<eg::EClassId> used;
  std::function<TermPtr(eg::EClassId)> build = [&](eg::EClassId c) -> TermPtr {
    c = graph.find(c);
    const Choice& choice = best.at(c);
    if (!choice.node) {
      if (used.insert(c).second) out.leaves.push_back(c);
      auto t = std::make_shared<Term>();
      t->kind = TermKind::EClass;
      t->eclass = c;
      return t;
    }
    const eg::ENode& n = *choice.node;
    const eg::OpInfo& info = ops.info(n.op);
    switch (info.kind) {
      case eg::OpKind::Symbol: return make_symbol(info.name);
      case eg::OpKind::Constant: return make_constant(info.constant);
      case eg::OpKind::String: return make_string(info.name);
      case eg::OpKind::Apply: break;
    }
    std::size_t positional = n.children.size() - info.attr_names.size();
    std::vector<TermPtr> operands;
    std::vector<std::pair<std::string, TermPtr>> attributes;
    for (std::size_t i = 0; i < n.children.size(); ++i) {
      TermPtr child = build(n.children[i]);
      if (i < positional) operands.push_back(child);
      else attributes.emplace_back(info.attr_names[i - positional], child);
    }
    if (info.name == "list" && info.attr_names.empty()) return make_term_list(std::move(operands));
    return make_apply(info.name, std::move(operands), std::move(attributes));
  };
  out.term = build(root);
  return out;
}

}  // namespace twin::synth
