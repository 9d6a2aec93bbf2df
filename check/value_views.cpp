#include "check/value_views.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace twin::check::values {


Shape squeezed(const Shape& shape) {
  Shape out;
  for (auto s : shape)
    if (s != 1) out.push_back(s);
  return out;
}

Norms norms_of(const std::vector<double>& v) {
  Norms n;
  double s = 0;
  for (double x : v) {
    if (std::isfinite(x)) s += x * x, n.sum += x;
    else ++n.nonfinite;
  }
  n.norm = std::sqrt(s);
  return n;
}

double norm_of(const std::vector<double>& v) { return norms_of(v).norm; }

// ||a - b|| with non-finite elements required to agree (inf when they do not). Stops early
// (returning a value > limit) once the distance exceeds `limit`.
double distance(const std::vector<double>& a, const std::vector<double>& b, double limit) {
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

}  // namespace twin::check::values
