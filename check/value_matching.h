// Matching a port value against the reference's values: the numerical test behind both
// "not equivalent" (check/divergence.h) and rule synthesis (synth/), which turns each match
// into the equation it suggests.
//
// Both values are squeezed (size-1 dims dropped). A port value p *matches* a reference value r
// when ||p - v|| <= allowed for some view v of r (ReadView says which):
//   - r itself in p's element order (any contiguous reshape: same numel, flat compare);
//   - r with its dims permuted, then reshaped (a transpose somewhere between the two);
//   - r read in a permutation of p's shape, then permuted back (the same, the other way);
// and, for a *part* match, an aligned chunk of a (permuted) r along one dim: p's shape equals
// r's except in one dim where r's size is a multiple of p's (a column-parallel shard, one half
// of a neox RoPE, a chunk of a fused weight's output). A *concatenation* match cuts p along
// one dim into pieces that each match a reference value whole (a fused qkv_proj's output).
//
// `allowed` is the precision baseline (the 3-tensor R-ratio of docs/checking.md):
//   baseline = ||v_low - v|| where v_low is the reference run at the lower precision (bf16)
//   for a low-precision capture, or at the higher one (f64) for an f32 capture;
//   allowed = tau * baseline + floor * ||v|| + abs_tol * sqrt(numel)
// and, when no baseline run exists, the fixed relative tolerance rel_tol * ||v||.
// Infinities and NaNs must sit at the same places with the same values (masks filled with
// -inf). Candidates are tried by numel, then by norm (the norm is invariant under every view,
// so |‖p‖ − ‖r‖| > allowed rules r out without a comparison).
#pragma once

#include "check/value_views.h"

#include <functional>
#include <map>
#include <tuple>
#include <optional>
#include <string>
#include <vector>

namespace twin::check {

struct MatchTolerance {
  double rel_tol = 1e-4;   // no baseline run: relative L2 error allowed
  double abs_tol = 1e-7;   // ... plus this times sqrt(numel), for values near zero
  double tau = 4.0;        // with a baseline run: the R-ratio allowed
  double floor = 0;        // ... plus this times ||v|| (one rounding of the port's dtype)
  double eps = 1e-12;      // the R-ratio's epsilon
};

// How to read a reference value so that it is a port value (or a piece of one), in squeezed
// shapes: reshape the reference to `read_shape` (its flat order kept), permute the dims by
// `permutation` (empty: none), then, for a part, take `[slice_start, slice_start +
// slice_size)` along `slice_dim` (-1: no slice). The result has the port value's element order.
struct ReadView {
  values::Shape read_shape;
  std::vector<int> permutation;
  int slice_dim = -1;
  std::int64_t slice_start = 0, slice_size = 0;
  // The port value is the view's negation (rotate_half's `-x2` against a port's `x2 * sin`
  // subtracted later). Such a match suggests an equation to synthesis; it is never a match
  // for localization (a sign error is a divergence).
  bool negated = false;
};

// A reference value: r32 (the reference run) and the baseline difference (empty without a
// baseline run).
struct RefValue {
  std::string name, module;
  std::string op;  // the node's op ("aten::add"; empty for parameters and buffers)
  values::Shape shape;  // squeezed
  values::Shape full_shape;
  std::vector<double> r32, baseline_diff;
  values::Norms n32;
  double baseline = values::kNaN;  // ||baseline_diff||
};

struct PortValue {
  values::Shape shape;  // squeezed
  values::Shape full_shape;
  std::vector<double> p;
  values::Norms n;
};

// The comparison of p with one view of r.
struct ViewResult {
  double dist = values::kInf, allowed = 0, max_abs = values::kInf, ref_norm = 0, baseline = values::kNaN;
};

RefValue make_ref_value(std::string name, std::string module, const std::vector<double>& run,
                        const std::vector<std::int64_t>& shape, const std::vector<double>* baseline_run);
PortValue make_port_value(const std::vector<double>& run, const std::vector<std::int64_t>& shape);

class Matcher {
 public:
  // `have_baseline`: the references carry baseline runs; `low_precision`: the port was
  // captured in bf16 or f16 (then `floor` applies).
  Matcher(const MatchTolerance& tolerance, bool have_baseline, bool low_precision);

  double allowed(double ref_norm, double baseline, std::int64_t numel) const;
  // p against r viewed flat (`r32`, `baseline_diff` already in p's element order).
  ViewResult compare(const std::vector<double>& p, const std::vector<double>& r32, const std::vector<double>* baseline_diff,
                     bool full) const;
  // The view of r that matches p whole, if any.
  // `distance`, when given, receives the match's ||p - view(r)||.
  std::optional<ReadView> full_match(const PortValue& pv, const RefValue& r, double* distance = nullptr) const;
  // An aligned chunk of r (possibly permuted) that matches p, if any.
  std::optional<ReadView> part_match(const PortValue& pv, const RefValue& r) const;
  // The closest full view of r to p (mismatches = -1 when r has another numel): fewest
  // positions where only one side is masked / non-finite, then the smallest relative error.
  values::Lenient closest_view(const PortValue& pv, const RefValue& r) const;
  // ||p - r|| / (baseline + eps); NaN without a baseline.
  double r_ratio(double dist, double baseline) const;

 private:
  // Calls f(view values, view baseline, view) for every full view of r in p's element order;
  // stops when f returns true.
  void for_each_full_view(
      const PortValue& pv, const RefValue& r,
      const std::function<bool(const std::vector<double>&, const std::vector<double>&, const ReadView&)>& f) const;

  // The norm and sum of every aligned chunk of r under one permutation, split along one dim
  // into pieces of `size`: computed once per (ref, permutation, dim, size) and reused for
  // every port value of that shape, so part_match's prefilters cost no pass over r.
  struct ChunkStats {
    values::Norms n;
    double baseline = values::kNaN;  // ||the chunk's baseline_diff||
  };
  const std::vector<ChunkStats>& chunk_stats(const RefValue& r, const std::vector<int>& perm, const values::Shape& q,
                                             int dim, std::int64_t size) const;

  MatchTolerance tolerance_;
  bool have_baseline_;
  bool low_precision_;
  mutable std::map<std::tuple<const RefValue*, std::vector<int>, int, std::int64_t>, std::vector<ChunkStats>> chunks_;
};

}  // namespace twin::check
