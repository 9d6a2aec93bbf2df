#include "check/fingerprints.h"

#include "capture/graph_runner.h"
#include "check/match_definitions.h"
#include "check/tensor_values.h"
#include "ops/op_spec.h"
#include "ops/shape_analysis.h"

#include <cmath>
#include <map>
#include <set>

namespace twin::check {

namespace eg = twin::egraph;

namespace {

// A class's value: one tensor, or the items of a `list` (cat's operand).
struct Fingerprint {
  std::vector<ops::Tensor> tensors;
  bool tuple = false;
};

bool floating_capture(const Graph& g) {
  const ops::DType d = g.capture_dtype();
  return d == ops::DType::F32 || d == ops::DType::F64;
}

double relative_l2(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) {
      if (a[i] != b[i]) return INFINITY;
      continue;
    }
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += b[i] * b[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

}  // namespace

std::vector<FingerprintCandidate> fingerprint_candidates(Saturation& s, const Graph& reference, const Graph& port,
                                                         const DivergenceReport& numerics,
                                                         const FingerprintOptions& options) {
  std::vector<FingerprintCandidate> out;
  if (!floating_capture(reference) || !floating_capture(port)) return out;
  eg::EGraph& graph = s.graph;
  graph.rebuild();
  if (!graph.analysis<ops::ShapeAnalysis>()) return out;

  // The port values nothing matched (an extension, consistent for localization, is no
  // equation): the only ones fingerprints are for.
  std::set<std::string> unmatched;
  for (const auto& m : numerics.value_matches)
    if ((m.status == "none" || m.status == "extends") && m.data_dependent) unmatched.insert(value_name(m.node, m.output));
  if (unmatched.empty()) return out;

  // ---- seeds: the reference's values on its example inputs, and known constants ----------
  std::map<eg::EClassId, Fingerprint> value;
  const RunResult ref_run = run_graph(reference, {}, {RunMode::F32, std::nullopt, {}});
  auto seed = [&](eg::EClassId cls, const std::vector<ops::Tensor>& tensors, int output) {
    if (output < 0 || std::size_t(output) >= tensors.size()) return;
    value.emplace(graph.find(cls), Fingerprint{{tensors[std::size_t(output)]}, false});
  };
  for (const auto& n : s.ref_lowered.nodes)
    if (const auto* t = ref_run.find(n.node)) seed(n.value.id, *t, n.output);
  // Sources: inputs from the run, parameters and buffers as stored (floating ones at f32, as run).
  std::map<std::string, ops::Tensor> stored;
  for (const auto* list : {&reference.parameters(), &reference.buffers()})
    for (const auto& p : *list)
      if (p.value) stored.emplace(p.name, ops::is_floating(p.value->dtype()) ? p.value->to(ops::DType::F32) : *p.value);
  for (const auto& [name, v] : s.ref_sources) {
    if (const auto* t = ref_run.find(name)) seed(v.id, *t, 0);
    else if (auto it = stored.find(name); it != stored.end()) seed(v.id, {it->second}, 0);
  }
  std::set<eg::EClassId> port_nodes;
  for (const auto& n : s.port_lowered.nodes) port_nodes.insert(graph.find(n.value.id));

  // ---- propagation: evaluate every e-node whose operands have values ----------------------
  std::size_t evaluations = 0;
  const std::vector<eg::EClassId> classes = graph.class_ids();
  // Classes come in creation order, nearly topological: a few passes reach what rules added.
  bool changed = true;
  for (int pass = 0; changed && pass < options.max_passes && evaluations < options.max_evaluations; ++pass) {
    changed = false;
    for (eg::EClassId cls : classes) {
      if (evaluations >= options.max_evaluations) break;
      cls = graph.find(cls);
      if (value.count(cls)) continue;
      if (const auto* constant = s.values->value(graph, cls)) {
        if (constant->is_tuple) value[cls] = Fingerprint{constant->tuple, true};
        else value[cls] = Fingerprint{{constant->tensor}, false};
        changed = true;
        continue;
      }
      auto operand = [&](eg::EClassId c) -> std::optional<std::vector<ops::Tensor>> {
        auto it = value.find(graph.find(c));
        if (it == value.end()) return std::nullopt;
        return it->second.tensors;
      };
      for (const eg::ENode& node : graph.class_nodes(cls)) {
        if (graph.ops().info(node.op).name == "list") {
          Fingerprint items{{}, true};
          bool ready = true;
          for (eg::EClassId c : node.children) {
            auto tensors = operand(c);
            if (!tensors) ready = false;
            else items.tensors.insert(items.tensors.end(), tensors->begin(), tensors->end());
          }
          if (!ready) continue;
          value[cls] = std::move(items);
          changed = true;
          break;
        }
        bool missing = false;  // an operand without a value: nothing was evaluated
        std::optional<ops::Tensor> result =
            evaluate_apply(graph, node.op, node.children, [&](eg::EClassId c) {
              auto tensors = operand(c);
              missing = missing || !tensors;
              return tensors;
            });
        if (!missing) ++evaluations;
        if (!result || result->numel() > options.max_elements) continue;
        value[cls] = Fingerprint{{*result}, false};
        changed = true;
        break;
      }
    }
  }

  // ---- candidates: the unmatched port values against the fingerprints of their shape ------
  std::map<std::vector<std::int64_t>, std::vector<eg::EClassId>> by_shape;
  for (const auto& [cls, fp] : value)
    if (!fp.tuple && fp.tensors.size() == 1 && ops::is_floating(fp.tensors[0].dtype()) && !port_nodes.count(cls) &&
        fp.tensors[0].numel() >= 2)
      by_shape[fp.tensors[0].shape()].push_back(cls);
  const RunResult port_run = run_graph(port, {}, {RunMode::Captured, std::nullopt, {}});
  for (const auto& n : s.port_lowered.nodes) {
    if (!unmatched.count(value_name(n.node, n.output))) continue;
    const auto* t = port_run.find(n.node);
    if (!t || std::size_t(n.output) >= t->size()) continue;
    const ops::Tensor& p = (*t)[std::size_t(n.output)];
    auto bucket = by_shape.find(p.shape());
    if (bucket == by_shape.end()) continue;
    const std::vector<double> pv = p.to_doubles();
    const eg::EClassId port_cls = graph.find(n.value.id);
    std::optional<FingerprintCandidate> best;
    for (eg::EClassId cls : bucket->second) {
      if (graph.find(cls) == port_cls) continue;
      const double e = relative_l2(pv, value[cls].tensors[0].to_doubles());
      if (e <= options.rel_tol && (!best || e < best->rel_error))
        best = FingerprintCandidate{port_cls, cls, value_name(n.node, n.output), n.module, e};
    }
    if (best) out.push_back(*best);
  }
  return out;
}

}  // namespace twin::check
