// Flat views of tensor values: the arithmetic the value matcher (value_matching.h) does on
// row-major vectors of doubles, with the shapes beside them. Non-finite elements (the -inf of
// a mask, a NaN) must agree exactly: they never count as close.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace twin::check::values {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Shape = std::vector<std::int64_t>;

// The shape without its size-1 dims: values are matched squeezed.
Shape squeezed(const Shape& shape);

// The finite part's L2 norm and the number of non-finite elements.
struct Norms {
  double norm = 0;
  double sum = 0;  // of the finite elements: |sum(a) - sum(b)| <= sqrt(n) ||a - b|| (Cauchy-Schwarz)
  std::int64_t nonfinite = 0;
};
Norms norms_of(const std::vector<double>& v);
double norm_of(const std::vector<double>& v);

// ||a - b|| with non-finite elements required to agree (inf when they do not). Stops early
// (returning a value > limit) once the distance exceeds `limit`.
double distance(const std::vector<double>& a, const std::vector<double>& b, double limit = kInf);
double max_abs(const std::vector<double>& a, const std::vector<double>& b);

// For reporting the closest value: positions where either side is non-finite or a mask fill
// (|x| >= 1e9) are left out and counted when the two sides differ there.
struct Lenient {
  double dist = 0, max_abs = 0, ref_norm = 0, baseline = 0;
  std::int64_t mismatches = 0;
};
Lenient lenient(const std::vector<double>& p, const std::vector<double>& r, const std::vector<double>& baseline_diff);

// a - b elementwise, 0 where either is non-finite.
std::vector<double> difference(const std::vector<double>& a, const std::vector<double>& b);
// `data` (row-major, `shape`) with its dims permuted: result dim i is input dim perm[i].
std::vector<double> permute(const std::vector<double>& data, const Shape& shape, const std::vector<int>& perm);
// Elements [start, start + size) along dim `dim` of `data` (row-major, `shape`).
std::vector<double> slice(const std::vector<double>& data, const Shape& shape, std::size_t dim, std::int64_t start,
                          std::int64_t size);
// Every permutation of 0..rank-1 except the identity (rank <= 6; above that, none).
std::vector<std::vector<int>> permutations(std::size_t rank);
Shape permuted_shape(const Shape& shape, const std::vector<int>& perm);

}  // namespace twin::check::values
