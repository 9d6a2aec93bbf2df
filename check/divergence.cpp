// Where a port diverges: see check/divergence.h for the rule and docs/checking.md.
#include "check/divergence.h"

#include "capture/graph_runner.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <sstream>
#include <unordered_map>

namespace twin::check {
namespace {

using namespace values;

std::string ref_name(const std::string& name, int output) {
  return output ? name + "[" + std::to_string(output) + "]" : name;
}

bool low_precision(ops::DType t) { return t == ops::DType::BF16 || t == ops::DType::F16; }

// The three runs: the reference at f32, its precision baseline (bf16 for a low-precision
// capture, f64 for an f32 one), and the port as captured, on the reference's example inputs.
struct Runs {
  RunResult ref32;
  std::optional<RunResult> baseline;
  RunResult port;
};

Runs run_both(const Graph& reference, const Graph& port, bool low, DivergenceReport& report) {
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
  Runs runs{run_graph(reference, ref_inputs, {RunMode::F32, std::nullopt, {}}), std::nullopt, {}};
  try {
    runs.baseline = run_graph(reference, ref_inputs, {low ? RunMode::BF16 : RunMode::F64, std::nullopt, {}});
  } catch (const std::exception&) {
    runs.baseline.reset();  // no R-ratios
  }
  report.reference_bf16_run = runs.baseline.has_value();
  report.baseline = runs.baseline ? (low ? "bf16" : "f64") : "";
  runs.port = run_graph(port, port_inputs, {RunMode::Captured, std::nullopt, {}});
  return runs;
}

bool is_floating_tensor(const ops::Tensor& t) { return ops::is_floating(t.dtype()); }

// The reference's values: every node output (a scalar matches too much to mean anything),
// parameter and buffer, each with its baseline run's value.
std::vector<RefValue> reference_values(const Graph& reference, const Runs& runs, bool low) {
  std::vector<RefValue> refs;
  auto add = [&](const std::string& name, const std::string& module, const ops::Tensor& t32, const ops::Tensor* tb,
                 const std::string& op = "") {
    if (!t32.defined() || t32.numel() < 2) return;
    std::vector<double> baseline;
    if (tb && tb->defined() && tb->numel() == t32.numel()) baseline = tb->to_doubles();
    refs.push_back(make_ref_value(name, module, t32.to_doubles(), t32.shape(), baseline.empty() ? nullptr : &baseline));
    refs.back().op = op;
  };
  for (const auto& [name, tensors] : runs.ref32.values) {
    const GraphNode* node = reference.find_node(name);
    const auto* tb = runs.baseline ? runs.baseline->find(name) : nullptr;
    for (std::size_t o = 0; o < tensors.size(); ++o)
      add(ref_name(name, int(o)), node ? node->module : std::string(), tensors[o], tb && o < tb->size() ? &(*tb)[o] : nullptr,
          node ? node->aten_op : std::string());
  }
  for (const auto* list : {&reference.parameters(), &reference.buffers()})
    for (const auto& t : *list) {
      if (!t.value) continue;
      ops::Tensor t32 = is_floating_tensor(*t.value) ? t.value->to(ops::DType::F32) : *t.value;
      ops::Tensor tb = is_floating_tensor(*t.value) ? t.value->to(low ? ops::DType::BF16 : ops::DType::F64) : *t.value;
      auto dot = t.name.rfind('.');
      add(t.name, dot == std::string::npos ? std::string() : t.name.substr(0, dot), t32, &tb);
    }
  return refs;
}

// The dim along which a reference value of shape `ref` is a leading slice of a port value of
// shape `port`: the same rank, every other dim equal, that one shorter in `ref`.
std::optional<std::size_t> leading_slice_dim(const Shape& ref, const Shape& port) {
  if (ref.size() != port.size()) return std::nullopt;
  std::optional<std::size_t> dim;
  for (std::size_t i = 0; i < ref.size(); ++i)
    if (ref[i] != port[i]) {
      if (dim || ref[i] > port[i]) return std::nullopt;
      dim = i;
    }
  return dim;
}

// A port value's leading slices, each made once per (dim, size) and read in a reference
// value's shape.
class LeadingSlices {
 public:
  explicit LeadingSlices(const PortValue& value) : value_(value) {}
  const PortValue& along(std::size_t dim, const Shape& ref_shape) {
    auto key = std::make_pair(dim, ref_shape[dim]);
    auto it = made_.find(key);
    if (it == made_.end())
      it = made_.emplace(key, make_port_value(slice(value_.p, value_.shape, dim, 0, ref_shape[dim]), ref_shape)).first;
    return it->second;
  }

 private:
  const PortValue& value_;
  std::map<std::pair<std::size_t, std::int64_t>, PortValue> made_;
};

enum class Status { Matched, Part, Concat, Extends, None };

struct PortEntry {
  const GraphNode* node = nullptr;
  int output = 0;
  PortValue value;
  Status status = Status::None;
  std::vector<MatchPiece> pieces;  // what it reads as (Matched and Part: one piece)
  int concat_dim = -1;
  bool reaches_output = false;
  std::vector<MatchPiece> negated_pieces;  // status None, but the negation matches
};

class PortMatching {
 public:
  PortMatching(const std::vector<RefValue>& refs, const Matcher& matcher, const DivergenceOptions& options)
      : refs_(refs), matcher_(matcher), options_(options) {
    for (std::size_t i = 0; i < refs.size(); ++i) by_numel_[refs[i].r32.size()].push_back(i);
  }

  // The reference value whose whole (under a view) is `value`: of several, the one read most
  // directly (the same shape, else a reshape, else a permutation), so that the equation a
  // match suggests is the simplest one; of those, one computed by the same op (`op`, the
  // port node's), then the closest. (The first one found would do for localization, but a
  // port's `variance + eps` also matches the reference's variance, bit for bit once the
  // variance is large, and synthesis would chase that pairing in every layer.)
  std::optional<MatchPiece> whole(const PortValue& value, const std::string& op = "") const {
    std::optional<MatchPiece> best;
    int best_rank = 3;
    bool best_other_op = true;
    double best_distance = kInf;
    if (auto it = by_numel_.find(value.p.size()); it != by_numel_.end())
      for (auto i : it->second) {
        double d = kInf;
        auto view = matcher_.full_match(value, refs_[i], &d);
        if (!view) continue;
        int rank = !view->permutation.empty() ? 2 : refs_[i].shape != value.shape ? 1 : 0;
        if (refs_[i].full_shape != value.full_shape) rank = std::max(rank, 1);
        const bool other_op = op.empty() || refs_[i].op != op;
        if (std::tie(rank, other_op, d) < std::tie(best_rank, best_other_op, best_distance)) {
          best_rank = rank;
          best_other_op = other_op;
          best_distance = d;
          best = MatchPiece{refs_[i].name, refs_[i].module, *view, 0};
          if (rank == 0 && !other_op && d == 0) break;
        }
      }
    return best;
  }

  void match(PortEntry& e) const {
    if (auto piece = whole(e.value, e.node ? e.node->aten_op : std::string())) {
      e.status = Status::Matched;
      e.pieces = {*piece};
      return;
    }
    if (options_.part_matches && e.value.p.size() >= 2)
      for (const auto& r : refs_)
        if (auto view = matcher_.part_match(e.value, r)) {
          e.status = Status::Part;
          e.pieces = {MatchPiece{r.name, r.module, *view, 0}};
          return;
        }
    if (options_.concat_matches) concat(e);
    if (e.status == Status::None && options_.extension_matches) extension(e);
    if (e.status == Status::None && e.value.p.size() >= 2) {
      PortValue negated = e.value;
      for (double& x : negated.p) x = -x;
      negated.n.sum = -negated.n.sum;  // the norm stays
      std::optional<MatchPiece> piece = whole(negated);
      if (!piece && options_.part_matches)
        for (const auto& r : refs_)
          if (auto view = matcher_.part_match(negated, r)) {
            piece = MatchPiece{r.name, r.module, *view, 0};
            break;
          }
      if (piece) {
        piece->view.negated = true;
        e.negated_pieces = {*piece};
      }
    }
  }

  // A concatenation along one dim of pieces that each match a reference value, whole (the
  // output of a fused qkv_proj or gate_up_proj) or an aligned chunk of one (a fused qkv whose
  // rows interleave the KV groups: each group's q heads, then its k head, then its v head).
  // Greedy: at each offset the longest whole piece, else the longest part.
  void concat(PortEntry& e) const {
    const auto& shape = e.value.shape;
    const auto numel = std::int64_t(e.value.p.size());
    if (numel == 0) return;  // an empty value (x[..., d:] of a d-wide x) is no concatenation
    for (std::size_t d = 0; d < shape.size(); ++d) {
      const std::int64_t rest = numel / shape[d];
      std::set<std::int64_t, std::greater<>> lengths;  // candidate piece lengths, longest first
      // Part lengths: a reference value's extent m along the cut, divided into at most
      // kMaxChunks aligned chunks (heads, groups, halves); single elements never.
      constexpr std::int64_t kMaxChunks = 16;
      std::set<std::int64_t, std::greater<>> part_lengths;
      for (const auto& [n, list] : by_numel_) {
        if (std::int64_t(n) % rest != 0) continue;
        const std::int64_t m = std::int64_t(n) / rest;
        if (m < shape[d]) lengths.insert(m);
        if (options_.part_matches)
          for (std::int64_t chunks = 2; chunks <= kMaxChunks && m / chunks >= 2; ++chunks)
            if (m % chunks == 0 && m / chunks < shape[d]) part_lengths.insert(m / chunks);
      }
      std::int64_t offset = 0;
      std::vector<MatchPiece> pieces;
      bool any_part = false;
      while (offset < shape[d]) {
        std::optional<MatchPiece> found;
        auto piece_at = [&](std::int64_t len) {
          Shape piece_shape = shape;
          piece_shape[d] = len;
          return make_port_value(slice(e.value.p, shape, d, offset, len), piece_shape);
        };
        for (auto len : lengths) {
          if (offset + len > shape[d]) continue;
          if ((found = whole(piece_at(len)))) {
            found->length = len;
            break;
          }
        }
        for (auto len = part_lengths.begin(); !found && len != part_lengths.end(); ++len) {
          if (offset + *len > shape[d]) continue;
          PortValue piece = piece_at(*len);
          for (const auto& r : refs_)
            if (auto view = matcher_.part_match(piece, r)) {
              found = MatchPiece{r.name, r.module, *view, *len};
              any_part = true;
              break;
            }
        }
        if (!found) break;
        offset += found->length;
        pieces.push_back(*found);
      }
      // Parts of a single reference value, rearranged, are that value reordered (a shard
      // gathered in the wrong order): a difference, never a match.
      const bool one_source = std::all_of(pieces.begin(), pieces.end(),
                                          [&](const MatchPiece& p) { return p.reference == pieces.front().reference; });
      if (offset == shape[d] && pieces.size() >= 2 && !(any_part && one_source)) {
        e.status = Status::Concat;
        e.pieces = std::move(pieces);
        e.concat_dim = int(d);
        return;
      }
    }
  }

  // The port value holds a reference value as its leading slice along one dim and more
  // beyond it: a preallocated KV cache written from position 0 (and the scores, the masked
  // scores and the probabilities computed over it, whose extra columns the mask removes), a
  // vocabulary padded to a multiple of 64. Localization only: the value is consistent with
  // the reference (what it adds is the port's own), so the divergence is named where the
  // port first computes something else, not at the cache write; it suggests no equation to
  // synthesis. The slice is compared under the views of a whole match (a cache of keys in
  // Meta's RoPE order extends HF's keys under the interleave view), from position 0 only (a
  // cache written at the wrong position is a difference), never against an all-zero
  // reference value (a zero-filled buffer's slice matches those trivially).
  void extension(PortEntry& e) const {
    LeadingSlices leading(e.value);
    for (const auto& r : refs_) {
      if (r.r32.size() < 2 || r.r32.size() >= e.value.p.size() || r.n32.norm == 0) continue;
      auto dim = leading_slice_dim(r.shape, e.value.shape);
      if (!dim) continue;
      auto view = matcher_.full_match(leading.along(*dim, r.shape), r);
      if (!view) continue;
      e.status = Status::Extends;
      e.pieces = {MatchPiece{r.name, r.module, *view, 0}};
      e.concat_dim = int(*dim);
      return;
    }
  }

  // The closest reference value, for a divergence's report: a computed value with as many
  // elements (under the views), else one the port value extends (its leading slice along the
  // one dim where it is longer: a KV cache against the reference's keys), else a parameter or
  // buffer with as many elements (a divergent node output is rarely meant to be a weight that
  // happens to have its size); within a kind, the fewest masked mismatches, then the smallest
  // relative error.
  void closest(const PortValue& value, Divergence& d) const {
    Lenient best;
    const RefValue* best_ref = nullptr;
    double best_rel = kInf;
    int best_rank = 3;
    auto consider = [&](const Lenient& v, const RefValue& r, int rank) {
      if (v.mismatches < 0) return;
      const double rel = v.dist / std::max(v.ref_norm, 1e-300);
      if (!best_ref || rank < best_rank ||
          (rank == best_rank && (v.mismatches < best.mismatches || (v.mismatches == best.mismatches && rel < best_rel)))) {
        best = v;
        best_rel = rel;
        best_ref = &r;
        best_rank = rank;
      }
    };
    if (auto it = by_numel_.find(value.p.size()); it != by_numel_.end())
      for (auto k : it->second) consider(matcher_.closest_view(value, refs_[k]), refs_[k], refs_[k].op.empty() ? 2 : 0);
    LeadingSlices leading(value);
    for (const auto& r : refs_) {
      if (r.op.empty() || r.r32.size() < 2 || r.r32.size() >= value.p.size()) continue;
      if (auto dim = leading_slice_dim(r.shape, value.shape))
        consider(matcher_.closest_view(leading.along(*dim, r.shape), r), r, 1);
    }
    if (!best_ref) {
      d.max_abs_error = d.rel_error = d.r_ratio = kNaN;
      return;
    }
    report_errors(best, *best_ref, d);
  }

  // The port value against the reference value named `reference` (a divergence's
  // counterpart): under the views when the element counts agree, else its leading slice along
  // the one dim where it is longer (a padded vocabulary's logits against the reference's).
  // Sets the errors and closest_is_counterpart; false (d unchanged) when neither applies.
  bool compare_with(const PortValue& value, const std::string& reference, Divergence& d) const {
    for (const auto& r : refs_) {
      if (r.name != reference) continue;
      Lenient v = matcher_.closest_view(value, r);
      if (v.mismatches < 0 && r.r32.size() < value.p.size())
        if (auto dim = leading_slice_dim(r.shape, value.shape))
          v = matcher_.closest_view(LeadingSlices(value).along(*dim, r.shape), r);
      if (v.mismatches < 0) return false;
      report_errors(v, r, d);
      d.closest_is_counterpart = true;
      return true;
    }
    return false;
  }

 private:
  void report_errors(const Lenient& v, const RefValue& r, Divergence& d) const {
    d.closest_reference = r.name;
    d.closest_reference_module = r.module;
    d.max_abs_error = v.max_abs;
    d.rel_error = v.dist / std::max(v.ref_norm, 1e-300);
    d.r_ratio = matcher_.r_ratio(v.dist, v.baseline);
    d.masked_mismatches = v.mismatches;
  }

  const std::vector<RefValue>& refs_;
  const Matcher& matcher_;
  const DivergenceOptions& options_;
  std::unordered_map<std::size_t, std::vector<std::size_t>> by_numel_;
};

// The port's node outputs in topological order, with the edges between them.
struct PortGraph {
  std::vector<PortEntry> entries;
  std::map<std::pair<std::string, int>, std::size_t, std::less<>> index;  // (node, output) -> entry
  std::vector<std::vector<std::size_t>> inputs;     // entry -> entries it reads (sources excluded)
  std::vector<std::vector<std::size_t>> consumers;  // entry -> entries computed from it
  std::vector<bool> data_dependent;                 // computed (transitively) from the graph inputs
};

PortGraph port_graph(const Graph& port, const RunResult& run) {
  PortGraph g;
  for (const auto& node : port.nodes()) {
    const auto* values = run.find(node.name);
    if (!values) continue;
    for (std::size_t o = 0; o < values->size(); ++o) {
      PortEntry e;
      e.node = &node;
      e.output = int(o);
      e.value = make_port_value((*values)[o].to_doubles(), (*values)[o].shape());
      g.index[{node.name, int(o)}] = g.entries.size();
      g.entries.push_back(std::move(e));
    }
  }
  // The tensor inputs of each node: the entries it reads (node outputs), sources excluded.
  auto inputs_of = [&](const GraphNode& node) {
    std::vector<std::size_t> out;
    std::set<std::size_t> seen;
    for (const auto& step : node.steps)
      for (const auto& operand : step.operands) {
        if (operand.kind != GraphOperand::Kind::Value) continue;
        auto it = g.index.find(std::pair<std::string, int>{operand.ref.name, operand.ref.output});
        if (it != g.index.end() && seen.insert(it->second).second) out.push_back(it->second);
      }
    if (node.steps.empty())  // opaque: every output of every value read
      for (const auto& name : node.reads)
        for (auto it = g.index.lower_bound({name, 0}); it != g.index.end() && it->first.first == name; ++it)
          if (seen.insert(it->second).second) out.push_back(it->second);
    return out;
  };
  g.inputs.assign(g.entries.size(), {});
  g.consumers.assign(g.entries.size(), {});
  std::map<std::string, std::vector<std::size_t>> outputs_of;
  for (std::size_t i = 0; i < g.entries.size(); ++i) outputs_of[g.entries[i].node->name].push_back(i);
  for (const auto& node : port.nodes()) {
    auto it = outputs_of.find(node.name);
    if (it == outputs_of.end()) continue;
    auto ins = inputs_of(node);
    for (auto out : it->second) {
      g.inputs[out] = ins;
      for (auto in : ins) g.consumers[in].push_back(out);
    }
  }
  // Data-independent values: computed from parameters, buffers, constants and nodes without
  // inputs alone (masks, RoPE caches, converted weights).
  std::set<std::string> input_names;
  for (const auto& in : port.inputs()) input_names.insert(in.name);
  g.data_dependent.assign(g.entries.size(), false);
  for (std::size_t i = 0; i < g.entries.size(); ++i) {
    for (const auto& name : g.entries[i].node->reads)
      if (input_names.count(name)) g.data_dependent[i] = true;
    for (auto in : g.inputs[i])
      if (g.data_dependent[in]) g.data_dependent[i] = true;
  }
  return g;
}

// CloseSummary (divergence.h): assert_close's view of port values against reference values.
CloseSummary summarize_like_assert_close(const std::vector<double>& port, const std::vector<double>& reference,
                                         const std::vector<std::int64_t>& shape, ops::DType dtype) {
  CloseSummary c;
  c.atol = 1e-5;
  c.rtol = dtype == ops::DType::BF16 ? 1.6e-2 : dtype == ops::DType::F16 ? 1e-3 : 1.3e-6;
  c.elements = static_cast<std::int64_t>(std::min(port.size(), reference.size()));
  std::int64_t max_abs_at = -1, max_rel_at = -1;
  for (std::int64_t i = 0; i < c.elements; ++i) {
    const double p = port[i], r = reference[i];
    if (std::isnan(p) && std::isnan(r)) continue;
    if (std::isinf(p) && p == r) continue;
    const double diff = std::abs(p - r);
    const double rel = r != 0 ? diff / std::abs(r) : (diff == 0 ? 0 : kInf);
    if (!(diff <= c.atol + c.rtol * std::abs(r))) ++c.mismatched;
    // The first NaN difference is the greatest, as in assert_close; later ones do not move it.
    if (max_abs_at < 0 || (!std::isnan(c.max_abs) && !(diff <= c.max_abs))) c.max_abs = diff, max_abs_at = i;
    if (max_rel_at < 0 || (!std::isnan(c.max_rel) && !(rel <= c.max_rel))) c.max_rel = rel, max_rel_at = i;
  }
  auto unravel = [&](std::int64_t flat) {
    std::vector<std::int64_t> index(shape.size(), 0);
    for (std::size_t d = shape.size(); d-- > 0 && flat >= 0;) {
      const std::int64_t size = std::max<std::int64_t>(shape[d], 1);
      index[d] = flat % size;
      flat /= size;
    }
    return index;
  };
  if (max_abs_at >= 0) c.max_abs_index = unravel(max_abs_at);
  if (max_rel_at >= 0) c.max_rel_index = unravel(max_rel_at);
  return c;
}

void compare_outputs(const Graph& reference, const Graph& port, const Runs& runs, const Matcher& matcher,
                     DivergenceReport& report) {
  report.outputs_agree = reference.outputs().size() == port.outputs().size();
  for (std::size_t k = 0; k < std::min(reference.outputs().size(), port.outputs().size()); ++k) {
    OutputComparison oc;
    oc.port = port.outputs()[k].to_string();
    oc.reference = reference.outputs()[k].to_string();
    const auto* pv = runs.port.find(port.outputs()[k].name);
    const auto* rv = runs.ref32.find(reference.outputs()[k].name);
    const auto* rb = runs.baseline ? runs.baseline->find(reference.outputs()[k].name) : nullptr;
    const auto po = std::size_t(port.outputs()[k].output), ro = std::size_t(reference.outputs()[k].output);
    if (pv && rv && po < pv->size() && ro < rv->size() && (*pv)[po].numel() == (*rv)[ro].numel()) {
      std::vector<double> baseline;
      if (rb && ro < rb->size()) baseline = (*rb)[ro].to_doubles();
      RefValue r = make_ref_value(oc.reference, "", (*rv)[ro].to_doubles(), (*rv)[ro].shape(),
                                  baseline.empty() ? nullptr : &baseline);
      const std::vector<double> port_values = (*pv)[po].to_doubles();
      ViewResult v = matcher.compare(port_values, r.r32, &r.baseline_diff, true);
      oc.close = summarize_like_assert_close(port_values, r.r32, (*rv)[ro].shape(), port.capture_dtype());
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
}

// The divergent values: unmatched, inputs matched, reaching an output unmatched. With
// `constants_are_sources`, data-independent values count as matched sources (a wrong
// constant is reported at its first data-dependent consumer).
void find_divergences(const PortGraph& g, const PortMatching& matching, bool constants_are_sources,
                      const DivergenceOptions& options, DivergenceReport& report) {
  report.divergences.clear();
  std::set<std::string> modules_seen, nodes_seen;
  for (std::size_t i = 0; i < g.entries.size() && report.divergences.size() < options.max_divergences; ++i) {
    const auto& e = g.entries[i];
    if (e.status != Status::None || !e.reaches_output || nodes_seen.count(e.node->name)) continue;
    if (constants_are_sources && !g.data_dependent[i]) continue;
    bool inputs_match = true;
    for (auto in : g.inputs[i])
      if (g.entries[in].status == Status::None && (!constants_are_sources || g.data_dependent[in])) inputs_match = false;
    if (!inputs_match) continue;
    nodes_seen.insert(e.node->name);
    Divergence d;
    d.node = e.node->name;
    d.output = e.output;
    d.op = e.node->twin_op();
    d.aten_op = e.node->aten_op;
    d.module = e.node->module;
    d.source = e.node->source;
    d.type = e.output < int(e.node->outputs.size()) ? e.node->outputs[e.output].to_string() : std::string();
    d.first_in_module = modules_seen.insert(d.module).second;
    for (auto in : g.inputs[i]) {
      if (g.entries[in].status == Status::None) continue;  // a data-independent value
      const auto& m = g.entries[in].pieces.front().reference_module;
      if (std::find(d.input_reference_modules.begin(), d.input_reference_modules.end(), m) ==
          d.input_reference_modules.end())
        d.input_reference_modules.push_back(m);
    }
    matching.closest(e.value, d);
    report.divergences.push_back(std::move(d));
  }
}

// The constants and attributes a node's steps pass, in order.
std::vector<std::string> call_constants(const GraphNode& node) {
  std::vector<std::string> out;
  auto number = [](double x) {
    std::ostringstream os;
    os << x;
    return os.str();
  };
  for (const auto& step : node.steps) {
    for (const auto& operand : step.operands)
      if (operand.kind == GraphOperand::Kind::Scalar) out.push_back(number(operand.scalar));
    for (const auto& [name, value] : step.attributes) out.push_back(name + "=" + value.to_string());
  }
  return out;
}

// For each divergence, the reference node of the same op that reads what the port node's
// matched inputs read as, and the constants or attributes where the two calls differ.
void name_differences(const Graph& reference, const Graph& port, const PortGraph& g, DivergenceReport& report) {
  for (auto& d : report.divergences) {
    const GraphNode* node = port.find_node(d.node);
    auto it = g.index.find(std::pair<std::string, int>{d.node, d.output});
    if (!node || it == g.index.end()) continue;
    std::vector<std::string> wanted;  // the reference values the inputs read as, whole
    for (auto in : g.inputs[it->second]) {
      const auto& e = g.entries[in];
      if (e.status == Status::Matched && !e.pieces.empty()) wanted.push_back(e.pieces.front().reference);
    }
    if (wanted.empty()) continue;
    const std::vector<std::string> mine = call_constants(*node);
    for (const auto& r : reference.nodes()) {
      if (r.twin_op() != node->twin_op()) continue;
      bool reads_all = true;
      for (const auto& w : wanted) {
        std::string base = w.substr(0, w.find('['));
        reads_all = reads_all && std::find(r.reads.begin(), r.reads.end(), base) != r.reads.end();
      }
      if (!reads_all) continue;
      const std::vector<std::string> theirs = call_constants(r);
      if (theirs.size() != mine.size()) continue;
      d.counterpart = r.name;
      for (std::size_t k = 0; k < mine.size(); ++k)
        if (mine[k] != theirs[k]) d.differences.push_back(mine[k] + " where the reference has " + theirs[k]);
      break;
    }
  }
}

}  // namespace

std::vector<const Divergence*> DivergenceReport::first_per_module() const {
  std::vector<const Divergence*> out;
  for (const auto& d : divergences)
    if (d.first_in_module) out.push_back(&d);
  return out;
}

std::string CloseSummary::to_text() const {
  auto index_text = [](const std::vector<std::int64_t>& index) {
    std::string out = "(";
    for (std::size_t k = 0; k < index.size(); ++k) out += (k ? ", " : "") + std::to_string(index[k]);
    return out + (index.size() == 1 ? ",)" : ")");
  };
  char line[512];
  std::snprintf(line, sizeof line,
                "mismatched elements: %lld / %lld (%.1f%%); greatest absolute difference: %.3g at index %s "
                "(up to %g allowed); greatest relative difference: %.3g at index %s (up to %g allowed)",
                static_cast<long long>(mismatched), static_cast<long long>(elements),
                elements ? 100.0 * double(mismatched) / double(elements) : 0.0, max_abs, index_text(max_abs_index).c_str(),
                atol, max_rel, index_text(max_rel_index).c_str(), rtol);
  return line;
}

std::string DivergenceReport::to_text() const {
  std::ostringstream os;
  os << (outputs_agree ? "outputs agree" : "outputs differ") << " (" << matched_values << " of " << port_values
     << " port values match a reference value, " << part_matched_values << " a part of one, "
     << concat_matched_values << " a concatenation, " << extension_matched_values << " extend one)\n";
  for (const auto* d : first_per_module()) {
    os << "  diverges at " << (d->module.empty() ? "<model>" : d->module) << ": " << ref_name(d->node, d->output)
       << " = " << d->op << " " << d->type;
    if (!d->closest_reference.empty())
      os << "; " << (d->closest_is_counterpart ? "against its counterpart " : "closest reference ") << d->closest_reference
         << " (" << d->closest_reference_module << "): max abs " << d->max_abs_error << ", rel " << d->rel_error;
    if (!std::isnan(d->r_ratio)) os << ", R " << d->r_ratio;
    os << "\n";
    for (const auto& diff : d->differences) os << "    reads " << diff << " (reference " << d->counterpart << ")\n";
  }
  return os.str();
}

DivergenceReport localize_divergence(const Graph& reference, const Graph& port, const DivergenceOptions& options) {
  DivergenceReport report;
  report.port_capture_dtype = port.capture_dtype();
  // Judged at the lower precision of the two captures (a bf16 reference rounds its weights).
  const ops::DType judged =
      low_precision(reference.capture_dtype()) && !low_precision(port.capture_dtype()) ? reference.capture_dtype()
                                                                                       : port.capture_dtype();
  const bool low = low_precision(judged);
  const Runs runs = run_both(reference, port, low, report);
  const std::vector<RefValue> refs = reference_values(reference, runs, low);
  const Matcher matcher(options.tolerance, report.reference_bf16_run, low);
  const PortMatching matching(refs, matcher, options);

  // Match every port node output.
  PortGraph g = port_graph(port, runs.port);
  for (std::size_t i = 0; i < g.entries.size(); ++i) {
    auto& e = g.entries[i];
    ++report.port_values;
    matching.match(e);
    if (e.status == Status::Matched) ++report.matched_values;
    if (e.status == Status::Part) ++report.part_matched_values;
    if (e.status == Status::Concat) ++report.concat_matched_values;
    if (e.status == Status::Extends) ++report.extension_matched_values;
    static const char* kStatus[] = {"matched", "part", "concat", "extends", "none"};
    ValueMatch m{e.node->name, e.output, kStatus[int(e.status)], "", "", e.pieces, e.concat_dim, e.value.shape,
                 g.data_dependent[i]};
    if (e.status == Status::None && !e.negated_pieces.empty()) {
      m.status = "negated";
      m.pieces = e.negated_pieces;
    }
    if (!m.pieces.empty()) m.reference = m.pieces.front().reference, m.reference_module = m.pieces.front().reference_module;
    report.value_matches.push_back(std::move(m));
  }

  // Condition 3: an unmatched path to a graph output (entries are in topological order).
  std::set<std::size_t> graph_outputs;
  for (const auto& ref : port.outputs())
    if (auto it = g.index.find(std::pair<std::string, int>{ref.name, ref.output}); it != g.index.end())
      graph_outputs.insert(it->second);
  for (std::size_t i = g.entries.size(); i-- > 0;) {
    auto& e = g.entries[i];
    if (e.status != Status::None) continue;
    e.reaches_output = graph_outputs.count(i) > 0;
    for (auto c : g.consumers[i])
      if (g.entries[c].reaches_output) e.reaches_output = true;
  }

  compare_outputs(reference, port, runs, matcher, report);
  find_divergences(g, matching, true, options, report);
  // Only data-independent values reach the output unmatched (a wrong constant output): name them.
  if (report.divergences.empty() && !report.outputs_agree) find_divergences(g, matching, false, options, report);
  name_differences(reference, port, g, report);
  // The errors against the counterpart, where it is comparable: the value the port meant to
  // compute, rather than whichever has the same number of elements.
  for (auto& d : report.divergences)
    if (!d.counterpart.empty())
      if (auto it = g.index.find(std::pair<std::string, int>{d.node, d.output}); it != g.index.end())
        matching.compare_with(g.entries[it->second].value, d.counterpart, d);
  return report;
}

}  // namespace twin::check
