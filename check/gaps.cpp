#include "check/gaps.h"

#include "check/proof.h"

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
  auto operands_of = [&](eg::EClassId id) {
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
  std::vector<UnmatchedPiece> out;
  std::set<eg::EClassId> reported;
  for (const auto& n : s.port_lowered.nodes) {
    if (matched(n.value.id) || !reaches_output[n.value.id]) continue;
    bool inputs_matched = true;
    for (eg::EClassId c : operands_of(n.value.id)) inputs_matched = inputs_matched && matched(c);
    if (!inputs_matched || !reported.insert(graph.find(n.value.id)).second) continue;
    UnmatchedPiece piece{n.node + (n.output ? "[" + std::to_string(n.output) + "]" : ""), n.module, n.op,
                         n.value.type ? n.value.type->to_string() : "", shallow_term(explainer, ops, n.value.id, 3),
                         "", "", "", ""};
    if (auto it = value_match.find({n.node, n.output}); it != value_match.end() && it->second->status != "none") {
      piece.numeric_match = it->second->status;
      piece.reference = it->second->reference;
      piece.reference_module = it->second->reference_module;
    }
    out.push_back(std::move(piece));
    if (out.size() >= limit) break;
  }
  return out;
}

}  // namespace twin::check
