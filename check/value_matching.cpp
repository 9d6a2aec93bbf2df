#include "check/value_matching.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace twin::check {

using namespace values;

RefValue make_ref_value(std::string name, std::string module, const std::vector<double>& run,
                        const std::vector<std::int64_t>& shape, const std::vector<double>* baseline_run) {
  RefValue r;
  r.name = std::move(name);
  r.module = std::move(module);
  r.shape = squeezed(shape);
  r.full_shape = shape;
  r.r32 = run;
  r.n32 = norms_of(r.r32);
  if (baseline_run && baseline_run->size() == run.size()) {
    r.baseline_diff = difference(*baseline_run, r.r32);
    r.baseline = norm_of(r.baseline_diff);
  }
  return r;
}

PortValue make_port_value(const std::vector<double>& run, const std::vector<std::int64_t>& shape) {
  PortValue p;
  p.shape = squeezed(shape);
  p.full_shape = shape;
  p.p = run;
  p.n = norms_of(p.p);
  return p;
}

Matcher::Matcher(const MatchTolerance& tolerance, bool have_baseline, bool low_precision)
    : tolerance_(tolerance), have_baseline_(have_baseline), low_precision_(low_precision) {}

double Matcher::allowed(double ref_norm, double baseline, std::int64_t numel) const {
  if (have_baseline_ && !std::isnan(baseline)) {
    const double floor = low_precision_ ? tolerance_.floor : 0.0;
    return tolerance_.tau * baseline + floor * ref_norm + tolerance_.abs_tol * std::sqrt(double(numel));
  }
  if (low_precision_) return tolerance_.floor * ref_norm + tolerance_.abs_tol * std::sqrt(double(numel));
  return tolerance_.rel_tol * ref_norm + tolerance_.abs_tol * std::sqrt(double(numel));
}

ViewResult Matcher::compare(const std::vector<double>& p, const std::vector<double>& r32,
                            const std::vector<double>* baseline_diff, bool full) const {
  ViewResult v;
  v.ref_norm = norm_of(r32);
  v.baseline = (baseline_diff && !baseline_diff->empty()) ? norm_of(*baseline_diff) : kNaN;
  v.allowed = allowed(v.ref_norm, v.baseline, std::int64_t(p.size()));
  v.dist = distance(p, r32, full ? kInf : v.allowed);
  if (full) v.max_abs = max_abs(p, r32);
  return v;
}

void Matcher::for_each_full_view(
    const PortValue& pv, const RefValue& r,
    const std::function<bool(const std::vector<double>&, const std::vector<double>&, const ReadView&)>& f) const {
  if (f(r.r32, r.baseline_diff, ReadView{r.shape, {}, -1, 0, 0})) return;
  // r's dims permuted, then reshaped to p.
  for (const auto& perm : permutations(r.shape.size())) {
    auto a = permute(r.r32, r.shape, perm);
    auto b = r.baseline_diff.empty() ? std::vector<double>{} : permute(r.baseline_diff, r.shape, perm);
    if (f(a, b, ReadView{r.shape, perm, -1, 0, 0})) return;
  }
  // p's dims permuted: compare r with perm(p) is the same as comparing p with perm^-1(r),
  // where r is first reshaped to perm(p's shape).
  for (const auto& perm : permutations(pv.shape.size())) {
    const Shape pshape = permuted_shape(pv.shape, perm);
    std::vector<int> inverse(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) inverse[perm[i]] = int(i);
    auto a = permute(r.r32, pshape, inverse);
    auto b = r.baseline_diff.empty() ? std::vector<double>{} : permute(r.baseline_diff, pshape, inverse);
    if (f(a, b, ReadView{pshape, inverse, -1, 0, 0})) return;
  }
  // One dim of p read as [groups, a, b] where r holds it as [groups, b, a] (a or b = 2):
  // adjacent pairs against halves, RoPE's two layouts (Meta's q/k rows against HF's, the
  // converter's grouped row permutation seen in the projection's output).
  for (std::size_t d = 0; d < pv.shape.size(); ++d) {
    const std::int64_t n = pv.shape[d];
    for (std::int64_t a = 2; a <= n / 2; ++a) {
      if (n % a != 0) continue;
      for (std::int64_t b = 2; b <= n / a; ++b) {
        if ((n / a) % b != 0 || (a != 2 && b != 2)) continue;
        Shape read(pv.shape.begin(), pv.shape.begin() + std::ptrdiff_t(d));
        read.insert(read.end(), {n / (a * b), b, a});
        read.insert(read.end(), pv.shape.begin() + std::ptrdiff_t(d) + 1, pv.shape.end());
        std::vector<int> swap(read.size());
        std::iota(swap.begin(), swap.end(), 0);
        std::swap(swap[d + 1], swap[d + 2]);
        auto x = permute(r.r32, read, swap);
        auto y = r.baseline_diff.empty() ? std::vector<double>{} : permute(r.baseline_diff, read, swap);
        if (f(x, y, ReadView{read, swap, -1, 0, 0})) return;
      }
    }
  }
}

std::optional<ReadView> Matcher::full_match(const PortValue& pv, const RefValue& r, double* dist) const {
  if (r.r32.size() != pv.p.size() || r.n32.nonfinite != pv.n.nonfinite) return std::nullopt;
  const double allowed_whole = allowed(r.n32.norm, r.baseline, std::int64_t(pv.p.size()));
  // Every view holds the same elements, so their norm and sum: a pair whose norms or sums
  // differ by more than the distance allows matches under no view (|sum(a) - sum(b)| <=
  // sqrt(n) ||a - b||). Most pairs end here, without trying a view.
  if (std::abs(pv.n.norm - r.n32.norm) > allowed_whole) return std::nullopt;
  if (std::abs(pv.n.sum - r.n32.sum) > std::sqrt(double(pv.p.size() - pv.n.nonfinite)) * allowed_whole * (1 + 1e-9))
    return std::nullopt;
  std::optional<ReadView> found;
  for_each_full_view(pv, r, [&](const std::vector<double>& a, const std::vector<double>&, const ReadView& view) {
    const double d = distance(pv.p, a, allowed_whole);
    if (d <= allowed_whole) {
      found = view;
      if (dist) *dist = d;
    }
    return found.has_value();
  });
  return found;
}

const std::vector<Matcher::ChunkStats>& Matcher::chunk_stats(const RefValue& r, const std::vector<int>& perm,
                                                              const Shape& q, int dim, std::int64_t size) const {
  auto key = std::make_tuple(&r, perm, dim, size);
  if (auto it = chunks_.find(key); it != chunks_.end()) return it->second;
  std::vector<int> identity(r.shape.size());
  std::iota(identity.begin(), identity.end(), 0);
  const bool moved = perm != identity;
  const auto a_full = moved ? permute(r.r32, r.shape, perm) : r.r32;
  const auto b_full = r.baseline_diff.empty() ? std::vector<double>{}
                                              : (moved ? permute(r.baseline_diff, r.shape, perm) : r.baseline_diff);
  std::vector<ChunkStats> stats;
  for (std::int64_t k = 0; k < q[std::size_t(dim)] / size; ++k) {
    ChunkStats c;
    c.n = norms_of(slice(a_full, q, std::size_t(dim), k * size, size));
    if (!b_full.empty()) c.baseline = norm_of(slice(b_full, q, std::size_t(dim), k * size, size));
    stats.push_back(c);
  }
  return chunks_.emplace(std::move(key), std::move(stats)).first->second;
}

std::optional<ReadView> Matcher::part_match(const PortValue& pv, const RefValue& r) const {
  const auto pn = pv.p.size();
  if (pn == 0 || r.r32.size() <= pn || r.r32.size() % pn != 0) return std::nullopt;
  if (r.shape.size() != pv.shape.size() || r.shape.empty()) return std::nullopt;
  // A chunk's norm is at most the whole's.
  if (pv.n.norm > r.n32.norm + allowed(r.n32.norm, r.baseline, std::int64_t(r.r32.size()))) return std::nullopt;
  std::vector<std::vector<int>> perms = permutations(r.shape.size());
  std::vector<int> identity(r.shape.size());
  std::iota(identity.begin(), identity.end(), 0);
  perms.insert(perms.begin(), identity);
  for (const auto& perm : perms) {
    const Shape q = permuted_shape(r.shape, perm);
    int differing = -1, count = 0;
    for (std::size_t i = 0; i < q.size(); ++i)
      if (q[i] != pv.shape[i]) {
        differing = int(i);
        ++count;
      }
    if (count != 1 || q[differing] % pv.shape[differing] != 0) continue;
    const bool moved = perm != identity;
    const std::int64_t size = pv.shape[differing];
    const auto& stats = chunk_stats(r, perm, q, differing, size);
    for (std::int64_t k = 0; k < std::int64_t(stats.size()); ++k) {
      const ChunkStats& c = stats[std::size_t(k)];
      if (c.n.nonfinite != pv.n.nonfinite) continue;
      const double al = allowed(c.n.norm, c.baseline, std::int64_t(pn));
      // As in full_match: norms and sums bound the distance from below.
      if (std::abs(pv.n.norm - c.n.norm) > al) continue;
      if (std::abs(pv.n.sum - c.n.sum) > std::sqrt(double(pn - pv.n.nonfinite)) * al * (1 + 1e-9)) continue;
      const auto a_full = moved ? permute(r.r32, r.shape, perm) : r.r32;
      auto a = slice(a_full, q, std::size_t(differing), k * size, size);
      if (distance(pv.p, a, al) <= al) return ReadView{r.shape, moved ? perm : std::vector<int>{}, differing, k * size, size};
    }
  }
  return std::nullopt;
}

Lenient Matcher::closest_view(const PortValue& pv, const RefValue& r) const {
  Lenient best;
  best.mismatches = -1;
  if (r.r32.size() != pv.p.size()) return best;
  auto rel = [](const Lenient& l) { return l.dist / std::max(l.ref_norm, 1e-300); };
  for_each_full_view(pv, r, [&](const std::vector<double>& a, const std::vector<double>& b, const ReadView&) {
    Lenient v = lenient(pv.p, a, b);
    if (best.mismatches < 0 || v.mismatches < best.mismatches || (v.mismatches == best.mismatches && rel(v) < rel(best)))
      best = v;
    return false;
  });
  return best;
}

double Matcher::r_ratio(double dist, double baseline) const {
  if (!have_baseline_ || std::isnan(baseline)) return kNaN;
  return dist / (baseline + tolerance_.eps);
}

}  // namespace twin::check
