#include "check/proof.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace twin::check {

namespace eg = twin::egraph;

std::string shallow_term(const eg::Explainer& ex, const eg::OpTable& ops, eg::EClassId id, int depth) {
  const eg::OpInfo& info = ops.info(ex.term_op(id));
  auto children = ex.term_children(id);
  std::string head = ops.display(ex.term_op(id));
  if (info.kind != eg::OpKind::Apply) {
    if (info.kind == eg::OpKind::Symbol) {
      auto colon = info.name.find(": ");
      return colon == std::string::npos ? info.name : info.name.substr(0, colon);
    }
    return head;
  }
  if (info.name == "list") {
    std::string out = "[";
    for (std::size_t i = 0; i < children.size(); ++i)
      out += (i ? ", " : "") + (depth > 0 ? shallow_term(ex, ops, children[i], depth - 1) : std::string("..."));
    return out + "]";
  }
  std::size_t named = info.attr_names.size();
  std::size_t operands = children.size() - std::min(named, children.size());
  std::string out = info.name + "(";
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (i) out += ", ";
    if (i >= operands) out += info.attr_names[i - operands] + "=" + shallow_term(ex, ops, children[i], 2);
    else out += depth > 0 ? shallow_term(ex, ops, children[i], depth - 1) : "...";
  }
  return out + ")";
}

void summarize_proof(Saturation& s, const std::map<std::string, const AdmittedRule*>& rules, bool full_proof,
                     CheckResult& result) {
  const eg::EGraph& graph = s.graph;
  const eg::OpTable& ops = graph.ops();
  const eg::Explainer& explainer = *graph.explainer();
  // Modules of exact terms, for attributing proof steps: port first, then reference.
  std::map<eg::EClassId, std::string> port_module, ref_module;
  for (const auto& n : s.port_lowered.nodes) port_module.emplace(n.value.id, n.module);
  for (const auto& n : s.ref_lowered.nodes) ref_module.emplace(n.value.id, n.module);
  auto module_of = [&](eg::EClassId id) -> std::string {
    // The exact term, else the nearest lowered subterm (breadth first).
    std::vector<eg::EClassId> frontier{id};
    std::set<eg::EClassId> seen;
    for (int depth = 0; depth < 6 && !frontier.empty(); ++depth) {
      std::vector<eg::EClassId> next;
      for (eg::EClassId x : frontier) {
        if (auto it = port_module.find(x); it != port_module.end()) return it->second;
        if (auto it = ref_module.find(x); it != ref_module.end()) return it->second;
        for (eg::EClassId c : explainer.term_children(x))
          if (seen.insert(c).second) next.push_back(c);
      }
      frontier = std::move(next);
    }
    return "";
  };

  std::map<std::string, std::size_t> rule_index;
  std::ostringstream proof;
  for (std::size_t i = 0; i < s.ref_lowered.outputs.size(); ++i) {
    std::vector<eg::ProofEdge> edges = s.graph.proof_edges(s.port_lowered.outputs[i].id, s.ref_lowered.outputs[i].id);
    if (full_proof) proof << "# output " << i << ": " << edges.size() << " steps, port -> reference\n";
    std::set<std::pair<std::string, std::string>> precision_seen;
    for (const auto& e : edges) {
      std::string module = module_of(e.from);
      if (module.empty()) module = module_of(e.to);
      auto it = rule_index.find(e.rule);
      if (it == rule_index.end()) {
        it = rule_index.emplace(e.rule, result.rules_used.size()).first;
        RuleUse use;
        use.rule = e.rule;
        auto r = rules.find(e.rule);
        use.changes_precision = r != rules.end() && r->second->changes_precision;
        result.rules_used.push_back(use);
      }
      RuleUse& use = result.rules_used[it->second];
      ++use.steps;
      if (std::find(use.modules.begin(), use.modules.end(), module) == use.modules.end()) use.modules.push_back(module);
      if (use.changes_precision && precision_seen.insert({module, e.rule}).second)
        result.precision_differences.push_back(
            PrecisionDifference{module, e.rule, "changes precision", shallow_term(explainer, ops, e.from, 3)});
      if (full_proof)
        proof << e.rule << (e.forward ? "" : " (right to left)") << "  [" << (module.empty() ? "<model>" : module)
              << "]\n    " << shallow_term(explainer, ops, e.from, 4) << "\n => " << shallow_term(explainer, ops, e.to, 4)
              << "\n";
    }
  }
  result.proof_text = proof.str();
  // Precision differences in the port's execution order (by module), so the first listed is
  // where the difference first shows.
  std::map<std::string, std::size_t> module_order;
  for (const auto& n : s.port_lowered.nodes) module_order.emplace(n.module, module_order.size());
  for (const auto& n : s.ref_lowered.nodes) module_order.emplace(n.module, module_order.size());
  std::stable_sort(result.precision_differences.begin(), result.precision_differences.end(),
                   [&](const PrecisionDifference& a, const PrecisionDifference& b) {
                     auto rank = [&](const std::string& m) {
                       auto it = module_order.find(m);
                       return it == module_order.end() ? module_order.size() : it->second;
                     };
                     return rank(a.module) < rank(b.module);
                   });
}

}  // namespace twin::check
