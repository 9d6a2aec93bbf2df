// Where a port diverges: see check/divergence.h for the rule and docs/checking.md.
#include "check/divergence.h"

#include "capture/graph_runner.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <unordered_map>

namespace twin::check {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Shape = std::vector<std::int64_t>;

Shape squeezed(const Shape& shape) {
  Shape out;
  for (auto s : shape)
    if (s != 1) out.push_back(s);
  return out;
}

// The finite part's L2 norm and the number of non-finite elements.
struct Norms {
  double norm = 0;
  std::int64_t nonfinite = 0;
};
Norms norms_of(const std::vector<double>& v) {
  Norms n;
  double s = 0;
  for (double x : v) {
    if (std::isfinite(x)) s += x * x;
    else ++n.nonfinite;
  }
  n.norm = std::sqrt(s);
  return n;
}

double norm_of(const std::vector<double>& v) { return norms_of(v).norm; }

// ||a - b|| with non-finite elements required to agree (inf when they do not). Stops early
// (returning a value > limit) once the distance exceeds `limit`.
double distance(const std::vector<double>& a, const std::vector<double>& b, double limit = kInf) {
  const double limit2 = limit * limit;
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      if (x == y || (std::isnan(x) && std::isnan(y))) continue;
      return kInf;
    }
    const double d = x - y;
    s += d * d;
    if (s > limit2) return std::sqrt(s);
  }
  return std::sqrt(s);
}

double max_abs(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      if (x == y || (std::isnan(x) && std::isnan(y))) continue;
      return kInf;
    }
    m = std::max(m, std::abs(x - y));
  }
  return m;
}

// For reporting the closest value: positions where either side is non-finite or a mask fill
// (|x| > 1e30, finfo.min) are left out and counted when the two sides differ there.
struct Lenient {
  double dist = 0, max_abs = 0, ref_norm = 0, baseline = 0;
  std::int64_t mismatches = 0;
};
Lenient lenient(const std::vector<double>& p, const std::vector<double>& r, const std::vector<double>& d16) {
  Lenient l;
  double s = 0, n = 0, b = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double x = p[i], y = r[i];
    const bool mx = !std::isfinite(x) || std::abs(x) >= 1e9, my = !std::isfinite(y) || std::abs(y) >= 1e9;
    if (mx || my) {
      if (mx != my) ++l.mismatches;
      continue;
    }
    s += (x - y) * (x - y);
    n += y * y;
    if (!d16.empty()) b += d16[i] * d16[i];
    l.max_abs = std::max(l.max_abs, std::abs(x - y));
  }
  l.dist = std::sqrt(s);
  l.ref_norm = std::sqrt(n);
  l.baseline = d16.empty() ? kNaN : std::sqrt(b);
  return l;
}

std::vector<double> difference(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> d(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    d[i] = (!std::isfinite(x) || !std::isfinite(y)) ? 0.0 : x - y;
  }
  return d;
}

// `data` (row-major, `shape`) with its dims permuted: result dim i is input dim perm[i].
std::vector<double> permute(const std::vector<double>& data, const Shape& shape, const std::vector<int>& perm) {
  const std::size_t rank = shape.size();
  Shape strides(rank, 1);
  for (std::size_t i = rank; i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  Shape out_shape(rank), out_strides(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    out_shape[i] = shape[perm[i]];
    out_strides[i] = strides[perm[i]];
  }
  std::vector<double> out(data.size());
  Shape index(rank, 0);
  std::int64_t src = 0;
  for (std::size_t k = 0; k < out.size(); ++k) {
    out[k] = data[src];
    for (std::size_t d = rank; d-- > 0;) {
      ++index[d];
      src += out_strides[d];
      if (index[d] < out_shape[d]) break;
      src -= out_strides[d] * out_shape[d];
      index[d] = 0;
    }
  }
  return out;
}

// Elements [start, start + size) along dim `dim` of `data` (row-major, `shape`).
std::vector<double> slice(const std::vector<double>& data, const Shape& shape, std::size_t dim, std::int64_t start, std::int64_t size) {
  std::int64_t outer = 1, inner = 1;
  for (std::size_t i = 0; i < dim; ++i) outer *= shape[i];
  for (std::size_t i = dim + 1; i < shape.size(); ++i) inner *= shape[i];
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(outer * size * inner));
  for (std::int64_t o = 0; o < outer; ++o) {
    const auto base = (o * shape[dim] + start) * inner;
    out.insert(out.end(), data.begin() + base, data.begin() + base + size * inner);
  }
  return out;
}

// Chunk `k` of size `size` along dim `dim` of `data` (row-major, `shape`).
std::vector<double> chunk(const std::vector<double>& data, const Shape& shape, std::size_t dim, std::int64_t size, std::int64_t k) {
  return slice(data, shape, dim, k * size, size);
}

// Every permutation of 0..rank-1 except the identity (rank <= 6; above that, none).
std::vector<std::vector<int>> permutations(std::size_t rank) {
  std::vector<std::vector<int>> out;
  if (rank < 2 || rank > 6) return out;
  std::vector<int> p(rank);
  std::iota(p.begin(), p.end(), 0);
  while (std::next_permutation(p.begin(), p.end())) out.push_back(p);
  return out;
}

Shape permuted_shape(const Shape& shape, const std::vector<int>& perm) {
  Shape out(shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) out[i] = shape[perm[i]];
  return out;
}

std::string ref_name(const std::string& name, int output) {
  return output ? name + "[" + std::to_string(output) + "]" : name;
}

// A reference value: r32 (fp32 run) and d16 = r16 - r32 (empty without a bf16 run).
struct RefValue {
  std::string name, module;
  Shape shape;  // squeezed
  std::vector<double> r32, d16;
  Norms n32;
  double baseline = 0;  // ||d16||
};

// A port value.
struct PortValue {
  Shape shape;  // squeezed
  std::vector<double> p;
  Norms n;
};

// The comparison of p with one view of r.
struct ViewResult {
  double dist = kInf, allowed = 0, max_abs = kInf, ref_norm = 0, baseline = kNaN;
};

class Matcher {
 public:
  Matcher(const DivergenceOptions& options, ops::DType port_dtype, bool have_bf16)
      : options_(options), low_precision_(port_dtype == ops::DType::BF16 || port_dtype == ops::DType::F16),
        have_bf16_(have_bf16) {}

  double allowed(double ref_norm, double baseline, std::int64_t numel) const {
    if (low_precision_) {
      const double b = std::isnan(baseline) ? 0.0 : baseline;
      return options_.tau * b + options_.low_precision_floor * ref_norm + options_.abs_tol * std::sqrt(double(numel));
    }
    return options_.rel_tol * ref_norm + options_.abs_tol * std::sqrt(double(numel));
  }

  // p against r viewed flat (`r32`, `d16` already permuted / chunked to p's element order).
  ViewResult compare(const std::vector<double>& p, const std::vector<double>& r32, const std::vector<double>* d16,
                     bool full, double limit_scale = 1.0) const {
    ViewResult v;
    v.ref_norm = norm_of(r32);
    v.baseline = (d16 && !d16->empty()) ? norm_of(*d16) : kNaN;
    v.allowed = allowed(v.ref_norm, v.baseline, std::int64_t(p.size()));
    v.dist = distance(p, r32, full ? kInf : v.allowed * limit_scale);
    if (full) v.max_abs = max_abs(p, r32);
    return v;
  }

  // Calls f(view_r32, view_d16) for every full view of r in p's element order; stops when f
  // returns true.
  void for_each_full_view(const PortValue& pv, const RefValue& r,
                          const std::function<bool(const std::vector<double>&, const std::vector<double>&)>& f) const {
    if (f(r.r32, r.d16)) return;
    // r's dims permuted, then reshaped to p.
    for (const auto& perm : permutations(r.shape.size())) {
      auto a = permute(r.r32, r.shape, perm);
      auto b = r.d16.empty() ? std::vector<double>{} : permute(r.d16, r.shape, perm);
      if (f(a, b)) return;
    }
    // p's dims permuted: compare r with perm(p) is the same as comparing p with perm^-1(r),
    // where r is first reshaped to perm(p's shape).
    for (const auto& perm : permutations(pv.shape.size())) {
      const Shape pshape = permuted_shape(pv.shape, perm);
      std::vector<int> inverse(perm.size());
      for (std::size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = int(i);
      auto a = permute(r.r32, pshape, inverse);
      auto b = r.d16.empty() ? std::vector<double>{} : permute(r.d16, pshape, inverse);
      if (f(a, b)) return;
    }
  }

  bool full_match(const PortValue& pv, const RefValue& r) const {
    if (r.r32.size() != pv.p.size() || r.n32.nonfinite != pv.n.nonfinite) return false;
    const double allowed_whole = allowed(r.n32.norm, r.baseline, std::int64_t(pv.p.size()));
    if (std::abs(pv.n.norm - r.n32.norm) > allowed_whole) return false;
    bool found = false;
    for_each_full_view(pv, r, [&](const std::vector<double>& a, const std::vector<double>& b) {
      found = distance(pv.p, a, allowed_whole) <= allowed_whole;
      return found;
    });
    return found;
  }

  bool part_match(const PortValue& pv, const RefValue& r) const {
    const auto pn = pv.p.size();
    if (pn == 0 || r.r32.size() <= pn || r.r32.size() % pn != 0) return false;
    if (r.shape.size() != pv.shape.size() || r.shape.empty()) return false;
    // A chunk's norm is at most the whole's.
    if (pv.n.norm > r.n32.norm + allowed(r.n32.norm, r.baseline, std::int64_t(r.r32.size()))) return false;
    std::vector<std::vector<int>> perms = permutations(r.shape.size());
    std::vector<int> identity(r.shape.size());
    std::iota(identity.begin(), identity.end(), 0);
    perms.insert(perms.begin(), identity);
    for (const auto& perm : perms) {
      const Shape q = permuted_shape(r.shape, perm);
      int differing = -1, count = 0;
      for (std::size_t i = 0; i < q.size(); ++i)
        if (q[i] != pv.shape[i]) { differing = int(i); ++count; }
      if (count != 1 || q[differing] % pv.shape[differing] != 0) continue;
      const auto a_full = perm == identity ? r.r32 : permute(r.r32, r.shape, perm);
      const auto b_full = r.d16.empty() ? std::vector<double>{} : (perm == identity ? r.d16 : permute(r.d16, r.shape, perm));
      const std::int64_t size = pv.shape[differing];
      for (std::int64_t k = 0; k < q[differing] / size; ++k) {
        auto a = chunk(a_full, q, std::size_t(differing), size, k);
        auto na = norms_of(a);
        if (na.nonfinite != pv.n.nonfinite) continue;
        std::vector<double> b = b_full.empty() ? std::vector<double>{} : chunk(b_full, q, std::size_t(differing), size, k);
        const double al = allowed(na.norm, b.empty() ? kNaN : norm_of(b), std::int64_t(pn));
        if (std::abs(pv.n.norm - na.norm) > al) continue;
        if (distance(pv.p, a, al) <= al) return true;
      }
    }
    return false;
  }

  // The closest full view of r to p (mismatches = -1 when r has another numel): fewest
  // positions where only one side is masked / non-finite, then the smallest relative error.
  Lenient closest_view(const PortValue& pv, const RefValue& r) const {
    Lenient best;
    best.mismatches = -1;
    if (r.r32.size() != pv.p.size()) return best;
    auto rel = [](const Lenient& l) { return l.dist / std::max(l.ref_norm, 1e-300); };
    for_each_full_view(pv, r, [&](const std::vector<double>& a, const std::vector<double>& b) {
      Lenient v = lenient(pv.p, a, b);
      if (best.mismatches < 0 || v.mismatches < best.mismatches || (v.mismatches == best.mismatches && rel(v) < rel(best)))
        best = v;
      return false;
    });
    return best;
  }

  double r_ratio(double dist, double baseline) const {
    if (!have_bf16_ || std::isnan(baseline)) return kNaN;
    return dist / (baseline + options_.eps);
  }

  double r_ratio(const ViewResult& v) const {
    if (!have_bf16_ || std::isnan(v.baseline)) return kNaN;
    return v.dist / (v.baseline + options_.eps);
  }

 private:
  const DivergenceOptions& options_;
  bool low_precision_;
  bool have_bf16_;
};

std::vector<double> doubles_of(const ops::Tensor& t) { return t.to_doubles(); }

RefValue make_ref(std::string name, std::string module, const ops::Tensor& t32, const ops::Tensor* t16) {
  RefValue r;
  r.name = std::move(name);
  r.module = std::move(module);
  r.shape = squeezed(t32.shape());
  r.r32 = doubles_of(t32);
  r.n32 = norms_of(r.r32);
  if (t16 && t16->defined() && t16->numel() == t32.numel()) {
    r.d16 = difference(doubles_of(*t16), r.r32);
    r.baseline = norm_of(r.d16);
  } else {
    r.baseline = kNaN;
  }
  return r;
}

bool is_floating_tensor(const ops::Tensor& t) { return ops::is_floating(t.dtype()); }

}  // namespace

std::vector<const Divergence*> DivergenceReport::first_per_module() const {
  std::vector<const Divergence*> out;
  for (const auto& d : divergences)
    if (d.first_in_module) out.push_back(&d);
  return out;
}

std::string DivergenceReport::to_text() const {
  std::ostringstream os;
  os << (outputs_agree ? "outputs agree" : "outputs differ") << " (" << matched_values << " of " << port_values
     << " port values match a reference value, " << part_matched_values << " a part of one, "
     << concat_matched_values << " a concatenation)\n";
  for (const auto* d : first_per_module()) {
    os << "  diverges at " << (d->module.empty() ? "<model>" : d->module) << ": " << ref_name(d->node, d->output)
       << " = " << d->op << " " << d->type;
    if (!d->closest_reference.empty())
      os << "; closest reference " << d->closest_reference << " (" << d->closest_reference_module
         << "): max abs " << d->max_abs_error << ", rel " << d->rel_error;
    if (!std::isnan(d->r_ratio)) os << ", R " << d->r_ratio;
    os << "\n";
  }
  return os.str();
}

DivergenceReport localize_divergence(const Graph& reference, const Graph& port, const DivergenceOptions& options) {
  DivergenceReport report;
  report.port_capture_dtype = port.capture_dtype();

  // Inputs: the reference's stored example inputs, by position.
  if (reference.inputs().size() != port.inputs().size())
    throw Error(ErrorKind::Value, port.file() + ": the port has " + std::to_string(port.inputs().size()) +
                                      " inputs, the reference " + reference.file() + " " +
                                      std::to_string(reference.inputs().size()));
  std::map<std::string, ops::Tensor> ref_inputs, port_inputs;
  for (std::size_t i = 0; i < reference.inputs().size(); ++i) {
    const auto& in = reference.inputs()[i];
    if (!in.value) throw Error(ErrorKind::Value, reference.file() + ": example input " + in.name + " is not stored");
    ops::Tensor v = *in.value;
    const auto& pin = port.inputs()[i];
    if (pin.type.shape != v.shape())
      throw Error(ErrorKind::Value, port.file() + ": input " + pin.name + " has type " + pin.type.to_string() +
                                        ", the reference's input " + in.name + " " + v.type().to_string());
    if (v.dtype() != pin.type.dtype) v = v.to(pin.type.dtype);
    ref_inputs[in.name] = *in.value;
    port_inputs[pin.name] = v;
  }

  const RunResult ref32 = run_graph(reference, ref_inputs, {RunMode::F32, std::nullopt});
  std::optional<RunResult> ref16;
  try {
    ref16 = run_graph(reference, ref_inputs, {RunMode::BF16, std::nullopt});
  } catch (const std::exception&) {
    ref16.reset();  // no R-ratios
  }
  report.reference_bf16_run = ref16.has_value();
  const RunResult portrun = run_graph(port, port_inputs, {RunMode::Captured, std::nullopt});

  // Index the reference's values by numel.
  std::vector<RefValue> refs;
  auto add_ref = [&](const std::string& name, const std::string& module, const ops::Tensor& t32, const ops::Tensor* t16) {
    if (!t32.defined() || t32.numel() < 2) return;  // scalars match too much to mean anything
    refs.push_back(make_ref(name, module, t32, t16));
  };
  for (const auto& [name, tensors] : ref32.values) {
    const GraphNode* node = reference.find_node(name);
    const auto* t16 = ref16 ? ref16->find(name) : nullptr;
    for (std::size_t o = 0; o < tensors.size(); ++o)
      add_ref(ref_name(name, int(o)), node ? node->module : std::string(), tensors[o],
              t16 && o < t16->size() ? &(*t16)[o] : nullptr);
  }
  for (const auto* list : {&reference.parameters(), &reference.buffers()})
    for (const auto& t : *list) {
      if (!t.value) continue;
      ops::Tensor t32 = is_floating_tensor(*t.value) ? t.value->to(ops::DType::F32) : *t.value;
      ops::Tensor t16 = is_floating_tensor(*t.value) ? t.value->to(ops::DType::BF16) : *t.value;
      auto dot = t.name.rfind('.');
      add_ref(t.name, dot == std::string::npos ? std::string() : t.name.substr(0, dot), t32, &t16);
    }
  std::unordered_map<std::size_t, std::vector<std::size_t>> by_numel;
  for (std::size_t i = 0; i < refs.size(); ++i) by_numel[refs[i].r32.size()].push_back(i);

  // Judged at the lower precision of the two captures (a bf16 reference rounds its weights).
  const auto low = [](ops::DType t) { return t == ops::DType::BF16 || t == ops::DType::F16; };
  const ops::DType judged = low(reference.capture_dtype()) && !low(port.capture_dtype()) ? reference.capture_dtype()
                                                                                          : port.capture_dtype();
  Matcher matcher(options, judged, report.reference_bf16_run);

  // Match every port node output.
  enum class Status { Source, Matched, Part, Concat, None };
  struct PortEntry {
    const GraphNode* node = nullptr;
    int output = 0;
    PortValue value;
    Status status = Status::None;
    std::string matched_module;  // the reference module of a match
    std::string matched_reference;  // the reference value (the first piece of a concatenation)
    bool reaches_output = false;
  };
  std::map<std::pair<std::string, int>, std::size_t, std::less<>> index;  // (node, output) -> entries
  std::vector<PortEntry> entries;
  for (const auto& node : port.nodes()) {
    const auto* values = portrun.find(node.name);
    if (!values) continue;
    for (std::size_t o = 0; o < values->size(); ++o) {
      PortEntry e;
      e.node = &node;
      e.output = int(o);
      const ops::Tensor& t = (*values)[o];
      e.value.shape = squeezed(t.shape());
      e.value.p = doubles_of(t);
      e.value.n = norms_of(e.value.p);
      index[{node.name, int(o)}] = entries.size();
      entries.push_back(std::move(e));
    }
  }
  for (auto& e : entries) {
    ++report.port_values;
    if (auto it = by_numel.find(e.value.p.size()); it != by_numel.end())
      for (auto i : it->second)
        if (matcher.full_match(e.value, refs[i])) {
          e.status = Status::Matched;
          e.matched_module = refs[i].module;
          e.matched_reference = refs[i].name;
          break;
        }
    if (e.status == Status::None && options.part_matches && e.value.p.size() >= 2)
      for (const auto& r : refs)
        if (matcher.part_match(e.value, r)) {
          e.status = Status::Part;
          e.matched_module = r.module;
          e.matched_reference = r.name;
          break;
        }
    if (e.status == Status::None && options.concat_matches) {
      // A concatenation along one dim of pieces that each match a reference value (the output
      // of a fused qkv_proj or gate_up_proj). Greedy: at each offset the longest piece.
      const auto& shape = e.value.shape;
      const auto numel = std::int64_t(e.value.p.size());
      for (std::size_t d = 0; d < shape.size() && e.status == Status::None; ++d) {
        const std::int64_t rest = numel / shape[d];
        std::set<std::int64_t, std::greater<>> lengths;  // candidate piece lengths, longest first
        for (const auto& [n, list] : by_numel)
          if (std::int64_t(n) % rest == 0 && std::int64_t(n) / rest < shape[d]) lengths.insert(std::int64_t(n) / rest);
        std::int64_t offset = 0;
        int pieces = 0;
        std::string module, first_piece;
        while (offset < shape[d]) {
          bool found = false;
          for (auto len : lengths) {
            if (offset + len > shape[d]) continue;
            PortValue piece;
            piece.shape = shape;
            piece.shape[d] = len;
            piece.shape = squeezed(piece.shape);
            piece.p = slice(e.value.p, shape, d, offset, len);
            piece.n = norms_of(piece.p);
            if (auto it = by_numel.find(piece.p.size()); it != by_numel.end())
              for (auto i : it->second)
                if (matcher.full_match(piece, refs[i])) {
                  found = true;
                  if (module.empty()) module = refs[i].module, first_piece = refs[i].name;
                  break;
                }
            if (found) {
              offset += len;
              ++pieces;
              break;
            }
          }
          if (!found) break;
        }
        if (offset == shape[d] && pieces >= 2) {
          e.status = Status::Concat;
          e.matched_module = module;
          e.matched_reference = first_piece;
        }
      }
    }
    if (e.status == Status::Matched) ++report.matched_values;
    if (e.status == Status::Part) ++report.part_matched_values;
    if (e.status == Status::Concat) ++report.concat_matched_values;
    static const char* kStatus[] = {"source", "matched", "part", "concat", "none"};
    report.value_matches.push_back(ValueMatch{e.node->name, e.output, kStatus[int(e.status)], e.matched_reference,
                                              e.matched_module});
  }

  // The tensor inputs of each node: the entries it reads (node outputs), sources excluded.
  auto inputs_of = [&](const GraphNode& node) {
    std::vector<std::size_t> out;
    std::set<std::size_t> seen;
    for (const auto& step : node.steps)
      for (const auto& operand : step.operands) {
        if (operand.kind != GraphOperand::Kind::Value) continue;
        auto it = index.find(std::pair<std::string, int>{operand.ref.name, operand.ref.output});
        if (it != index.end() && seen.insert(it->second).second) out.push_back(it->second);
      }
    if (node.steps.empty())  // opaque: every output of every value read
      for (const auto& name : node.reads)
        for (auto it = index.lower_bound({name, 0}); it != index.end() && it->first.first == name; ++it)
          if (seen.insert(it->second).second) out.push_back(it->second);
    return out;
  };
  std::vector<std::vector<std::size_t>> node_inputs(entries.size());
  std::vector<std::vector<std::size_t>> consumers(entries.size());  // entry -> entries computed from it
  {
    std::map<std::string, std::vector<std::size_t>> outputs_of;
    for (std::size_t i = 0; i < entries.size(); ++i) outputs_of[entries[i].node->name].push_back(i);
    for (const auto& node : port.nodes()) {
      auto it = outputs_of.find(node.name);
      if (it == outputs_of.end()) continue;
      auto ins = inputs_of(node);
      for (auto out : it->second) {
        node_inputs[out] = ins;
        for (auto in : ins) consumers[in].push_back(out);
      }
    }
  }

  // Condition 3: an unmatched path to a graph output (entries are in topological order).
  std::set<std::size_t> graph_outputs;
  for (const auto& ref : port.outputs())
    if (auto it = index.find(std::pair<std::string, int>{ref.name, ref.output}); it != index.end())
      graph_outputs.insert(it->second);
  for (std::size_t i = entries.size(); i-- > 0;) {
    auto& e = entries[i];
    if (e.status != Status::None) continue;
    e.reaches_output = graph_outputs.count(i) > 0;
    for (auto c : consumers[i])
      if (entries[c].reaches_output) e.reaches_output = true;
  }

  // The outputs, by position.
  report.outputs_agree = reference.outputs().size() == port.outputs().size();
  for (std::size_t k = 0; k < std::min(reference.outputs().size(), port.outputs().size()); ++k) {
    OutputComparison oc;
    oc.port = port.outputs()[k].to_string();
    oc.reference = reference.outputs()[k].to_string();
    const auto* pv = portrun.find(port.outputs()[k].name);
    const auto* rv = ref32.find(reference.outputs()[k].name);
    const auto* rv16 = ref16 ? ref16->find(reference.outputs()[k].name) : nullptr;
    const auto po = std::size_t(port.outputs()[k].output), ro = std::size_t(reference.outputs()[k].output);
    if (pv && rv && po < pv->size() && ro < rv->size() && (*pv)[po].numel() == (*rv)[ro].numel()) {
      PortValue p;
      p.p = doubles_of((*pv)[po]);
      p.shape = squeezed((*pv)[po].shape());
      p.n = norms_of(p.p);
      RefValue r = make_ref(oc.reference, "", (*rv)[ro], rv16 && ro < rv16->size() ? &(*rv16)[ro] : nullptr);
      ViewResult v = matcher.compare(p.p, r.r32, &r.d16, true);
      oc.agree = v.dist <= v.allowed;
      oc.max_abs_error = v.max_abs;
      oc.rel_error = v.dist / std::max(v.ref_norm, 1e-300);
      oc.r_ratio = matcher.r_ratio(v.dist, v.baseline);
    } else {
      oc.agree = false;
      oc.max_abs_error = oc.rel_error = oc.r_ratio = kNaN;
    }
    report.outputs_agree = report.outputs_agree && oc.agree;
    report.outputs.push_back(oc);
  }

  // Data-independent values: computed from parameters, buffers, constants and nodes without
  // inputs alone (masks, RoPE caches, converted weights). Like parameters, whose conversion
  // the port may choose freely, they are sources: they count as matched inputs and are not
  // reported themselves (a wrong one is reported at its first data-dependent consumer).
  std::set<std::string> port_input_names;
  for (const auto& in : port.inputs()) port_input_names.insert(in.name);
  std::vector<bool> data_dependent(entries.size(), false);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    for (const auto& name : entries[i].node->reads)
      if (port_input_names.count(name)) data_dependent[i] = true;
    for (auto in : node_inputs[i])
      if (data_dependent[in]) data_dependent[i] = true;
  }

  // The divergent values: unmatched, inputs matched, reaching an output unmatched.
  auto find_divergences = [&](bool constants_are_sources) {
  report.divergences.clear();
  std::set<std::string> modules_seen, nodes_seen;
  for (std::size_t i = 0; i < entries.size() && report.divergences.size() < options.max_divergences; ++i) {
    const auto& e = entries[i];
    if (e.status != Status::None || !e.reaches_output || nodes_seen.count(e.node->name)) continue;
    if (constants_are_sources && !data_dependent[i]) continue;
    bool inputs_match = true;
    for (auto in : node_inputs[i])
      if (entries[in].status == Status::None && (!constants_are_sources || data_dependent[in])) inputs_match = false;
    if (!inputs_match) continue;
    nodes_seen.insert(e.node->name);
    Divergence d;
    d.node = e.node->name;
    d.output = e.output;
    d.op = e.node->twin_op();
    d.aten_op = e.node->aten_op;
    d.module = e.node->module;
    d.type = e.output < int(e.node->outputs.size()) ? e.node->outputs[e.output].to_string() : std::string();
    d.first_in_module = modules_seen.insert(d.module).second;
    for (auto in : node_inputs[i]) {
      if (entries[in].status == Status::None) continue;  // a data-independent value
      const auto& m = entries[in].matched_module;
      if (std::find(d.input_reference_modules.begin(), d.input_reference_modules.end(), m) ==
          d.input_reference_modules.end())
        d.input_reference_modules.push_back(m);
    }
    // The closest reference value with the same numel.
    Lenient best;
    const RefValue* best_ref = nullptr;
    double best_rel = kInf;
    if (auto it = by_numel.find(e.value.p.size()); it != by_numel.end())
      for (auto k : it->second) {
        Lenient v = matcher.closest_view(e.value, refs[k]);
        if (v.mismatches < 0) continue;
        const double rel = v.dist / std::max(v.ref_norm, 1e-300);
        if (!best_ref || v.mismatches < best.mismatches || (v.mismatches == best.mismatches && rel < best_rel)) {
          best = v;
          best_rel = rel;
          best_ref = &refs[k];
        }
      }
    if (best_ref) {
      d.closest_reference = best_ref->name;
      d.closest_reference_module = best_ref->module;
      d.max_abs_error = best.max_abs;
      d.rel_error = best_rel;
      d.r_ratio = matcher.r_ratio(best.dist, best.baseline);
      d.masked_mismatches = best.mismatches;
    } else {
      d.max_abs_error = d.rel_error = d.r_ratio = kNaN;
    }
    report.divergences.push_back(std::move(d));
  }
  };
  find_divergences(true);
  // Only data-independent values reach the output unmatched (a wrong constant output): name them.
  if (report.divergences.empty() && !report.outputs_agree) find_divergences(false);
  return report;
}

}  // namespace twin::check
