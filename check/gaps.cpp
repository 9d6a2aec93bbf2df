#include "check/gaps.h"

#include "check/proof.h"

#include <functional>
#include <map>
#include <set>

namespace twin::check {

namespace eg = twin::egraph;

std::vector<UnmatchedPiece> find_gaps(Saturation& s, const DivergenceReport* numerics, std::size_t limit) {
  const eg::EGraph& graph = s.graph;
  const eg::OpTable& ops = graph.ops();
  const eg::Explainer& explainer = *graph.explainer();
  // Connected: in a class of a reference value or source (the port's sources are inputs and
  // terms over the reference's parameters: given), a known constant, or a leaf.
  std::set<eg::EClassId> ref_classes;
  for (const auto& [name, v] : s.ref_sources) ref_classes.insert(graph.find(v.id));
  for (const auto& [name, v] : s.port_sources) ref_classes.insert(graph.find(v.id));
  for (const auto& n : s.ref_lowered.nodes) ref_classes.insert(graph.find(n.value.id));
  auto matched = [&](eg::EClassId id) {
    eg::EClassId root = graph.find(id);
    if (ref_classes.count(root)) return true;
    if (s.values->value(graph, root)) return true;
    return ops.is_leaf(explainer.term_op(id));
  };
  // The port's own values (node outputs and sources), by exact-term id: a node's inputs are
  // these, found through the intermediate steps of its lowering (an einsum's permutes and
  // reshapes belong to the einsum, so an unconnected einsum is listed, not hidden behind a
  // step no node owns).
  std::set<eg::EClassId> port_values;
  for (const auto& n : s.port_lowered.nodes) port_values.insert(n.value.id);
  for (const auto& [name, v] : s.port_sources) port_values.insert(v.id);
  std::function<void(eg::EClassId, std::vector<eg::EClassId>&, int)> collect = [&](eg::EClassId c, std::vector<eg::EClassId>& out,
                                                                                  int depth) {
    if (ops.info(explainer.term_op(c)).name == "list") {
      for (eg::EClassId item : explainer.term_children(c)) collect(item, out, depth);
      return;
    }
    if (port_values.count(c) || ops.is_leaf(explainer.term_op(c)) || depth >= 16) {
      out.push_back(c);
      return;
    }
    for (eg::EClassId child : explainer.term_children(c)) collect(child, out, depth + 1);
  };
  auto operands_of = [&](eg::EClassId id) {
    std::vector<eg::EClassId> out;
    for (eg::EClassId c : explainer.term_children(id)) collect(c, out, 0);
    return out;
  };
  // The operands of a term itself (a list's items), for the classes above a class.
  auto direct_operands = [&](eg::EClassId id) {
    std::vector<eg::EClassId> out;
    for (eg::EClassId c : explainer.term_children(id)) {
      if (ops.info(explainer.term_op(c)).name == "list") {
        for (eg::EClassId item : explainer.term_children(c)) out.push_back(item);
      } else {
        out.push_back(c);
      }
    }
    return out;
  };
  // Consumers of each port value (by exact-term id).
  std::map<eg::EClassId, std::vector<eg::EClassId>> consumers;
  for (const auto& n : s.port_lowered.nodes)
    for (eg::EClassId c : operands_of(n.value.id)) consumers[c].push_back(n.value.id);
  std::set<eg::EClassId> port_outputs;
  for (const auto& o : s.port_lowered.outputs) port_outputs.insert(o.id);
  std::map<std::pair<std::string, int>, const ValueMatch*> value_match;
  if (numerics)
    for (const auto& m : numerics->value_matches) value_match[{m.node, m.output}] = &m;
  // Whether some path from a value to a graph output runs through unmatched values only.
  std::map<eg::EClassId, bool> reaches_output;
  for (std::size_t k = s.port_lowered.nodes.size(); k-- > 0;) {
    eg::EClassId id = s.port_lowered.nodes[k].value.id;
    bool r = port_outputs.count(id) && !matched(id);
    for (eg::EClassId c : consumers[id]) r = r || (!matched(c) && reaches_output[c]);
    reaches_output[id] = r;
  }
  // Where each never-applied rule's guard refused a match, and the classes above each class
  // (its consumers, in either graph), for the per-piece diagnosis.
  std::map<eg::EClassId, std::vector<std::string>> refused_here;
  for (const auto& r : s.rule_reports) {
    if (r.applications > 0 || r.matches > 0) continue;
    std::set<eg::EClassId> seen;
    for (eg::EClassId c : r.refused_at)
      if (seen.insert(graph.find(c)).second) refused_here[graph.find(c)].push_back(r.name);
  }
  std::map<eg::EClassId, std::set<eg::EClassId>> above;
  for (const auto* lowered : {&s.port_lowered, &s.ref_lowered})
    for (const auto& n : lowered->nodes)
      for (eg::EClassId c : direct_operands(n.value.id)) above[graph.find(c)].insert(graph.find(n.value.id));
  std::map<std::string, eg::EClassId> ref_node;
  for (const auto& n : s.ref_lowered.nodes) ref_node.emplace(n.node, n.value.id);
  auto nearly_matched = [&](eg::EClassId piece, const std::string& reference) {
    std::set<eg::EClassId> around = {graph.find(piece)};
    if (auto it = ref_node.find(reference); it != ref_node.end()) around.insert(graph.find(it->second));
    for (int level = 0; level < 2; ++level) {
      std::set<eg::EClassId> next = around;
      for (eg::EClassId c : around)
        if (auto it = above.find(c); it != above.end()) next.insert(it->second.begin(), it->second.end());
      around = std::move(next);
    }
    std::set<std::string> names;
    for (eg::EClassId c : around)
      if (auto it = refused_here.find(c); it != refused_here.end()) names.insert(it->second.begin(), it->second.end());
    std::vector<std::string> out(names.begin(), names.end());
    auto size = [&](const std::string& n) {
      auto it = s.pattern_sizes.find(n);
      return it == s.pattern_sizes.end() ? std::size_t(0) : it->second;
    };
    std::stable_sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) { return size(a) > size(b); });
    if (out.size() > 3) out.resize(3);
    return out;
  };
  std::vector<UnmatchedPiece> out;
  std::set<eg::EClassId> reported;
  for (const auto& n : s.port_lowered.nodes) {
    if (matched(n.value.id) || !reaches_output[n.value.id]) continue;
    bool inputs_matched = true;
    for (eg::EClassId c : operands_of(n.value.id)) inputs_matched = inputs_matched && matched(c);
    if (!inputs_matched || !reported.insert(graph.find(n.value.id)).second) continue;
    UnmatchedPiece piece{n.node + (n.output ? "[" + std::to_string(n.output) + "]" : ""), n.module, n.op,
                         n.value.type ? n.value.type->to_string() : "", shallow_term(explainer, ops, n.value.id, 3),
                         "", "", "", "", {}};
    if (auto it = value_match.find({n.node, n.output}); it != value_match.end() && it->second->status != "none") {
      piece.numeric_match = it->second->status;
      piece.reference = it->second->reference;
      piece.reference_module = it->second->reference_module;
    }
    piece.nearly_matched = nearly_matched(n.value.id, piece.reference);
    out.push_back(std::move(piece));
    if (out.size() >= limit) break;
  }
  return out;
}

}  // namespace twin::check
