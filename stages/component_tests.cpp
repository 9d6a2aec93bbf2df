// Stage 2: the 3-tensor R-ratio per mapped component, each component tested in isolation.
//
// Isolation, the way the skill's component tests feed a module a fixed input: the reference
// at low precision runs with every node outside the component's source modules replaced by
// its ref32 value (cast to the run's dtype), so only the component computes; the port runs
// with the output of every other component replaced by the reference's value for it (read
// through the mapping's view, cast), so the component sees the reference's inputs and the
// port's glue (residual adds) recomputes from them. The same outputs are also compared in
// the full runs (`r_ratio_propagated`): stage 3 reads a step there.
#include "stages/stages.h"

#include "check/value_views.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace twin::stages {
namespace {

using json = nlohmann::ordered_json;
using check::values::Shape;

const std::vector<ops::Tensor>* find_value(const RunResult& run, const std::string& name) { return run.find(name); }

// A reference output read through a piece's view, in the port value's squeezed element order.
std::vector<double> read_piece(const std::vector<double>& ref, const check::ReadView& v) {
  if (v.read_shape.empty()) return ref;
  std::vector<double> out = v.permutation.empty() ? ref : check::values::permute(ref, v.read_shape, v.permutation);
  if (v.slice_dim >= 0) {
    Shape shape = v.permutation.empty() ? v.read_shape : check::values::permuted_shape(v.read_shape, v.permutation);
    out = check::values::slice(out, shape, std::size_t(v.slice_dim), v.slice_start, v.slice_size);
  }
  if (v.negated)
    for (double& x : out) x = -x;
  return out;
}

// The reference's values for a compared port output, in the port's element order; empty when
// the sizes do not fit.
std::vector<double> reference_layout(const ComparedOutput& co, const std::vector<std::vector<double>>& ref_outputs,
                                     const Shape& port_full_shape) {
  Shape shape = check::values::squeezed(port_full_shape);
  const std::int64_t numel = std::accumulate(shape.begin(), shape.end(), std::int64_t(1), std::multiplies<>());
  std::vector<std::vector<double>> pieces;
  for (const auto& p : co.pieces) {
    if (p.ref_output >= ref_outputs.size()) return {};
    pieces.push_back(read_piece(ref_outputs[p.ref_output], p.view));
  }
  if (pieces.size() == 1 && co.concat_dim < 0) {
    if (std::int64_t(pieces[0].size()) != numel) return {};
    return pieces[0];
  }
  int dim = co.concat_dim;
  if (dim == -2) dim = int(shape.size()) - 1;  // a hand-given fused entry: the last dim
  if (dim < 0 || std::size_t(dim) >= shape.size()) return {};
  std::int64_t inner = 1, outer = 1;
  for (std::size_t d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
  for (int d = 0; d < dim; ++d) outer *= shape[d];
  std::vector<std::int64_t> lengths;
  std::int64_t total = 0;
  for (std::size_t k = 0; k < pieces.size(); ++k) {
    std::int64_t len = co.pieces[k].length ? co.pieces[k].length : std::int64_t(pieces[k].size()) / std::max<std::int64_t>(1, outer * inner);
    if (len * outer * inner != std::int64_t(pieces[k].size())) return {};
    lengths.push_back(len);
    total += len;
  }
  if (total != shape[dim]) return {};
  std::vector<double> out;
  out.reserve(numel);
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::size_t k = 0; k < pieces.size(); ++k) {
      const std::int64_t chunk = lengths[k] * inner;
      out.insert(out.end(), pieces[k].begin() + o * chunk, pieces[k].begin() + (o + 1) * chunk);
    }
  return out;
}

ops::DType run_dtype(RunMode mode, ops::DType recorded) {
  if (!ops::is_floating(recorded)) return recorded;
  switch (mode) {
    case RunMode::F32: return ops::DType::F32;
    case RunMode::BF16: return ops::DType::BF16;
    case RunMode::F64: return ops::DType::F64;
    case RunMode::Captured: return recorded;
  }
  return recorded;
}

std::vector<double> values_of(const RunResult& run, const GraphRef& ref) {
  const auto* v = find_value(run, ref.name);
  if (!v || std::size_t(ref.output) >= v->size()) return {};
  return (*v)[ref.output].to_doubles();
}

struct Metrics {
  double error = 0, baseline = 0, max_abs = 0, dot = 0, n_port = 0, n_ref = 0;
  std::vector<double> port_error, baseline_error;
};

void accumulate(Metrics& m, const std::vector<double>& port, const std::vector<double>& ref16, const std::vector<double>& ref32) {
  for (std::size_t i = 0; i < ref32.size() && i < port.size() && i < ref16.size(); ++i) {
    const double r = ref32[i], p = port[i], b = ref16[i];
    if (!std::isfinite(r) || std::abs(r) >= 1e9) continue;  // masks: never compared
    const double e = std::isfinite(p) ? p - r : 1e30, eb = std::isfinite(b) ? b - r : 1e30;
    m.error += e * e;
    m.baseline += eb * eb;
    m.max_abs = std::max(m.max_abs, std::abs(e));
    m.dot += p * r;
    m.n_port += p * p;
    m.n_ref += r * r;
    m.port_error.push_back(e);
    m.baseline_error.push_back(eb);
  }
}

// The port outputs' values as the reference produces them: what the port's component outputs
// take when another component is under test.
std::map<std::string, std::vector<ops::Tensor>> port_overrides(const Graph& port, const ComponentMapping& mapping,
                                                               const RunResult& ref32, RunMode port_mode,
                                                               const Component& under_test) {
  std::map<std::string, std::vector<ops::Tensor>> out;
  for (const auto& c : mapping.components) {
    std::vector<std::vector<double>> refs;
    for (const auto& r : c.ref_outputs) refs.push_back(values_of(ref32, r));
    for (const auto& co : c.compared) {
      const GraphRef& target = c.port_outputs[co.port_output];
      const GraphNode* node = port.find_node(target.name);
      if (!node) continue;
      bool inside = false;
      for (const auto& t : under_test.target_modules) inside = inside || in_subtree(node->module, t);
      if (inside || out.count(node->name)) continue;
      const auto& type = node->outputs[target.output];
      std::vector<double> v = reference_layout(co, refs, type.shape);
      if (v.empty()) continue;
      if (node->outputs.size() != 1) continue;  // a multi-output node is left to compute
      out[node->name] = {ops::Tensor::from_doubles(v, type.shape, ops::DType::F32).to(run_dtype(port_mode, type.dtype))};
    }
  }
  return out;
}

// The floating values computed outside `roots` (by nodes: parameters and buffers are the
// module's own) that nodes inside read, in order of first read: the activations, and tables
// computed elsewhere (cos/sin, masks), since the reference's isolated run takes every value
// from outside at the reference's f32 value, and the port's must take the same.
std::vector<std::string> external_inputs(const Graph& g, const std::vector<std::string>& roots) {
  auto inside = [&](const std::string& module) {
    for (const auto& r : roots)
      if (in_subtree(module, r)) return true;
    return false;
  };
  std::vector<std::string> out;
  for (const auto& node : g.nodes()) {
    if (!inside(node.module)) continue;
    for (const auto& r : node.reads) {
      const GraphNode* src = g.find_node(r);
      // A node with several outputs (a split into gate and up) is an input as a whole: the
      // overrides give every output.
      if (!src || inside(src->module) || src->outputs.empty() ||
          !std::all_of(src->outputs.begin(), src->outputs.end(), [](const auto& o) { return ops::is_floating(o.dtype); }))
        continue;
      if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
    }
  }
  return out;
}

// The component's own inputs: when the port module reads as many values from outside as the
// reference module, with the same squeezed shapes, each takes the reference's (the input of
// o_proj is the attention's output, which is no component's).
//
// Otherwise (a port norm that also does the residual add reads two values where the
// reference's reads their sum), each port input takes the reference value it reads as: the one
// of the same squeezed shape closest to the port's own f32 value, when within 1e-4 of it
// relative, since two f32 runs of one function differ by a few roundings.
void inputs_by_value(const Graph& reference, const Graph& port, const std::vector<std::string>& port_in,
                     const RunResult& ref32, const RunResult& port32, RunMode mode,
                     std::map<std::string, std::vector<ops::Tensor>>& out) {
  for (const auto& name : port_in) {
    const GraphNode* node = port.find_node(name);
    const auto* pv = port32.find(name);
    if (!node || !pv || pv->size() != 1 || out.count(name)) continue;
    const std::vector<double> p = (*pv)[0].to_doubles();
    const auto p_shape = check::values::squeezed((*pv)[0].shape());
    const ops::Tensor* best = nullptr;
    double best_rel = 1e-4;
    for (const auto& r : reference.nodes()) {
      const auto* rv = ref32.find(r.name);
      if (!rv) continue;
      for (const auto& t : *rv) {
        if (!ops::is_floating(t.dtype()) || t.numel() != std::int64_t(p.size()) ||
            check::values::squeezed(t.shape()) != p_shape)
          continue;
        const std::vector<double> v = t.to_doubles();
        double diff = 0, norm = 0;
        for (std::size_t i = 0; i < p.size(); ++i) {
          diff += (p[i] - v[i]) * (p[i] - v[i]);
          norm += v[i] * v[i];
        }
        if (norm == 0 || !std::isfinite(diff)) continue;
        const double rel = std::sqrt(diff / norm);
        if (rel < best_rel) {
          best_rel = rel;
          best = &t;
        }
      }
    }
    if (best)
      out[name] = {ops::Tensor::from_doubles(best->to_doubles(), node->outputs[0].shape, ops::DType::F32)
                       .to(run_dtype(mode, node->outputs[0].dtype))};
  }
}

void input_overrides(const Graph& reference, const Graph& port, const Component& c, const RunResult& ref32,
                     const RunResult& port32, RunMode mode, std::map<std::string, std::vector<ops::Tensor>>& out) {
  const auto ref_in = external_inputs(reference, c.source_modules), port_in = external_inputs(port, c.target_modules);
  if (ref_in.size() != port_in.size()) {
    inputs_by_value(reference, port, port_in, ref32, port32, mode, out);
    return;
  }
  for (std::size_t k = 0; k < ref_in.size(); ++k) {
    const GraphNode* node = port.find_node(port_in[k]);
    const auto* v = ref32.find(ref_in[k]);
    if (!node || !v || v->size() != node->outputs.size()) return;
    for (std::size_t o = 0; o < v->size(); ++o)
      if (check::values::squeezed((*v)[o].shape()) != check::values::squeezed(node->outputs[o].shape)) return;
  }
  for (std::size_t k = 0; k < ref_in.size(); ++k) {
    const GraphNode* node = port.find_node(port_in[k]);
    std::vector<ops::Tensor> values;
    for (std::size_t o = 0; o < node->outputs.size(); ++o) {
      const ops::Tensor& t = (*ref32.find(ref_in[k]))[o];
      values.push_back(ops::Tensor::from_doubles(t.to_doubles(), node->outputs[o].shape, ops::DType::F32)
                           .to(run_dtype(mode, node->outputs[o].dtype)));
    }
    out[node->name] = std::move(values);
  }
}

std::map<std::string, std::vector<ops::Tensor>> reference_overrides(const Graph& reference, const RunResult& ref32,
                                                                    RunMode mode, const Component& under_test) {
  std::map<std::string, std::vector<ops::Tensor>> out;
  for (const auto& node : reference.nodes()) {
    bool inside = false;
    for (const auto& s : under_test.source_modules) inside = inside || in_subtree(node.module, s);
    if (inside) continue;
    const auto* v = ref32.find(node.name);
    if (!v) continue;
    std::vector<ops::Tensor> cast;
    for (std::size_t k = 0; k < v->size(); ++k)
      cast.push_back(ops::is_floating((*v)[k].dtype()) ? (*v)[k].to(run_dtype(mode, node.outputs[k].dtype)) : (*v)[k]);
    out[node.name] = std::move(cast);
  }
  return out;
}

Metrics compare(const Component& c, const RunResult& port16, const RunResult& ref16, const RunResult& ref32) {
  Metrics m;
  std::vector<std::vector<double>> r32, r16;
  for (const auto& r : c.ref_outputs) {
    r32.push_back(values_of(ref32, r));
    r16.push_back(values_of(ref16, r));
  }
  for (const auto& co : c.compared) {
    const GraphRef& target = c.port_outputs[co.port_output];
    const auto* pv = port16.find(target.name);
    if (!pv || std::size_t(target.output) >= pv->size()) continue;
    const ops::Tensor& t = (*pv)[target.output];
    std::vector<double> a = reference_layout(co, r32, t.shape()), b = reference_layout(co, r16, t.shape());
    if (a.empty() || b.empty()) continue;
    accumulate(m, t.to_doubles(), b, a);
  }
  return m;
}

// bf16's unit roundoff: the 2-tensor method's epsilon-perturbation baseline is this times ||ref32||.
constexpr double kBf16Roundoff = 1.0 / 512;

}  // namespace

RunMode low_precision_mode(const Graph& graph) {
  const auto d = graph.capture_dtype();
  return d == ops::DType::BF16 || d == ops::DType::F16 ? RunMode::Captured : RunMode::BF16;
}

std::map<std::string, ops::Tensor> reference_inputs(const Graph& reference) {
  std::map<std::string, ops::Tensor> out;
  for (const auto& in : reference.inputs()) {
    if (!in.value) throw Error(ErrorKind::Value, reference.file() + ": example input " + in.name + " is not stored");
    out[in.name] = *in.value;
  }
  return out;
}

std::map<std::string, ops::Tensor> port_inputs(const Graph& reference, const Graph& port) {
  if (reference.inputs().size() != port.inputs().size())
    throw Error(ErrorKind::Value, port.file() + ": the port has " + std::to_string(port.inputs().size()) +
                                      " inputs, the reference " + std::to_string(reference.inputs().size()));
  std::map<std::string, ops::Tensor> out;
  for (std::size_t i = 0; i < port.inputs().size(); ++i) {
    const auto& in = reference.inputs()[i];
    if (!in.value) throw Error(ErrorKind::Value, reference.file() + ": example input " + in.name + " is not stored");
    if (in.value->shape() != port.inputs()[i].type.shape)
      throw Error(ErrorKind::Value, port.file() + ": input " + port.inputs()[i].name + " has type " +
                                        port.inputs()[i].type.to_string() + ", the reference's " + in.value->type().to_string());
    out[port.inputs()[i].name] = in.value->dtype() == port.inputs()[i].type.dtype ? *in.value : in.value->to(port.inputs()[i].type.dtype);
  }
  return out;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return check::values::kNaN;
  std::sort(values.begin(), values.end());
  const double pos = q * double(values.size() - 1);
  const auto lo = std::size_t(std::floor(pos)), hi = std::size_t(std::ceil(pos));
  return values[lo] + (values[hi] - values[lo]) * (pos - double(lo));
}

Stage2 test_components(const Graph& reference, const Graph& port, const ComponentMapping& mapping,
                       const StageOptions& options) {
  Stage2 s;
  s.tau_r = options.tau_r;
  const RunMode ref_mode = low_precision_mode(reference), port_mode = low_precision_mode(port);
  s.ref_mode = run_mode_name(ref_mode);
  s.port_mode = run_mode_name(port_mode);
  const auto rin = reference_inputs(reference), pin = port_inputs(reference, port);
  if (options.progress) options.progress("stage 2: full runs (reference f32, reference " + s.ref_mode + ", port " + s.port_mode + ")");
  const RunResult ref32 = run_graph(reference, rin, {RunMode::F32, std::nullopt, {}});
  std::optional<RunResult> ref16_full;
  try {
    ref16_full = run_graph(reference, rin, {ref_mode, std::nullopt, {}});
  } catch (const std::exception&) {
    ref16_full.reset();  // the 2-tensor method
  }
  const RunResult port16_full = run_graph(port, pin, {port_mode, std::nullopt, {}});
  const RunResult port32 = run_graph(port, pin, {RunMode::F32, std::nullopt, {}});

  std::size_t k = 0;
  for (const auto& c : mapping.components) {
    ++k;
    if (options.progress) options.progress("stage 2: component " + std::to_string(k) + "/" + std::to_string(mapping.components.size()) + " " + c.name);
    ComponentResult r;
    r.component = &c;
    // Propagated: the full runs.
    {
      Metrics m = compare(c, port16_full, ref16_full ? *ref16_full : ref32, ref32);
      double base = ref16_full ? std::sqrt(m.baseline) : kBf16Roundoff * std::sqrt(m.n_ref);
      if (base == 0) base = kBf16Roundoff * std::sqrt(m.n_ref);
      r.r_ratio_propagated = std::sqrt(m.error) / (base + options.eps);
    }
    // Isolated.
    std::optional<RunResult> ref16;
    if (ref16_full) {
      try {
        ref16 = run_graph(reference, rin, {ref_mode, std::nullopt, reference_overrides(reference, ref32, ref_mode, c)});
      } catch (const std::exception& e) {
        r.note = std::string("the reference could not run the component alone: ") + e.what();
      }
    }
    RunResult port16;
    try {
      auto po = port_overrides(port, mapping, ref32, port_mode, c);
      input_overrides(reference, port, c, ref32, port32, port_mode, po);
      port16 = run_graph(port, pin, {port_mode, std::nullopt, std::move(po)});
    } catch (const std::exception& e) {
      r.note = std::string("the port could not run the component alone: ") + e.what();
      port16 = port16_full;
    }
    Metrics m = compare(c, port16, ref16 ? *ref16 : ref32, ref32);
    if (m.port_error.empty()) {
      r.note = "no output could be compared (shapes differ)";
      r.r_ratio = check::values::kNaN;
      s.components.push_back(std::move(r));
      continue;
    }
    r.error = std::sqrt(m.error);
    r.baseline = std::sqrt(m.baseline);
    r.method = "3-tensor";
    if (!ref16 || r.baseline == 0) {
      // No precision baseline (the reference cannot run at low precision, or its component is
      // exact there, e.g. an embedding lookup): one bf16 rounding of ref32.
      r.baseline = kBf16Roundoff * std::sqrt(m.n_ref);
      r.method = "2-tensor";
    }
    r.r_ratio = r.error / (r.baseline + options.eps);
    r.max_abs = m.max_abs;
    r.cosine = m.n_port > 0 && m.n_ref > 0 ? m.dot / std::sqrt(m.n_port * m.n_ref) : (m.n_port == m.n_ref ? 1.0 : 0.0);
    r.pass = r.r_ratio < options.tau_r;
    r.port_error = std::move(m.port_error);
    r.baseline_error = std::move(m.baseline_error);
    s.components.push_back(std::move(r));
  }
  return s;
}

std::string stage2_json(const Stage2& s) {
  json out;
  out["tau_r"] = s.tau_r;
  out["runs"] = {{"ref_fp32", "f32"}, {"ref_bf16", s.ref_mode}, {"target_bf16", s.port_mode}};
  json comps = json::array();
  auto num = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
  for (const auto& r : s.components) {
    json c;
    c["name"] = r.component->name;
    c["source_modules"] = r.component->source_modules;
    c["target_modules"] = r.component->target_modules;
    c["mapped_by"] = r.component->how;
    c["r_ratio"] = std::isnan(r.r_ratio) ? json(nullptr) : json(std::isinf(r.r_ratio) ? 1e300 : r.r_ratio);
    c["r_ratio_propagated"] = num(r.r_ratio_propagated);
    c["max_abs"] = num(r.max_abs);
    c["cosine"] = num(r.cosine);
    c["error_norm"] = num(r.error);
    c["baseline_norm"] = num(r.baseline);
    c["method"] = r.method;
    c["pass"] = r.pass;
    if (!r.note.empty()) c["note"] = r.note;
    comps.push_back(std::move(c));
  }
  out["components"] = comps;
  out["all_pass"] = std::all_of(s.components.begin(), s.components.end(), [](const auto& r) { return r.pass; });
  return out.dump(2) + "\n";
}

}  // namespace twin::stages
