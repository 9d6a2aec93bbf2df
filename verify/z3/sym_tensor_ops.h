// Internal to verify/: index arithmetic over SymTensors (row-major, concrete shapes), and the
// building blocks that several op families' encodings share: broadcasting, transposition,
// batched matmul (matmul, bmm, linear, attention), reductions (sum, mean, amax, layer_norm)
// and per-line maps (softmax).
//
// Shape errors name the op as the rule wrote it (`op`) and throw EncodingShapeError: the
// operands do not fit, so the instance is not a valid one. Dims follow PyTorch: negative dims
// count from the end, and a rank-0 tensor accepts dims -1 and 0.
#pragma once

#include "verify/z3_encoding.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twin::verify::encoding {

using Shape = std::vector<std::int64_t>;
using Index = std::vector<std::int64_t>;

std::int64_t numel_of(const Shape& shape);
Shape strides_of(const Shape& shape);
Index unravel(std::int64_t flat, const Shape& shape);
std::int64_t ravel(const Index& idx, const Shape& shape);
std::string shape_text(const Shape& shape);  // "[2, 3]"

[[noreturn]] void shape_error(std::string_view op, const std::string& why);
std::int64_t norm_dim(std::string_view op, std::int64_t dim, std::int64_t rank);

// The value of a numeral term; nullopt for anything else.
std::optional<Rational> numeral_value(const z3::expr& e);

// A tensor of `shape` whose element at each index is f(index).
template <class F>
SymTensor build(const Shape& shape, F&& f) {
  SymTensor out;
  out.shape = shape;
  std::int64_t n = numel_of(shape);
  out.elements.reserve(n);
  for (std::int64_t i = 0; i < n; ++i) out.elements.push_back(f(unravel(i, shape)));
  return out;
}

inline const z3::expr& at(const SymTensor& t, const Index& idx) { return t.elements[ravel(idx, t.shape)]; }

// PyTorch's broadcasting of two shapes; a shape error when they do not broadcast.
Shape broadcast_shapes(std::string_view op, const Shape& a, const Shape& b);
// The element of t that broadcasts to `idx` of an output of rank idx.size().
const z3::expr& broadcast_at(const SymTensor& t, const Index& idx);
// The same elements under another shape (same numel, unchecked).
SymTensor reshape_to(const SymTensor& t, Shape shape);

// x with dims d0 and d1 swapped (a rank-0 tensor is returned as is).
SymTensor transpose(std::string_view op, const SymTensor& x, std::int64_t d0, std::int64_t d1);
// a [..., m, n] @ b [..., n, p], batch dims broadcast: unrolled dot products.
SymTensor batched_matmul(std::string_view op, const SymTensor& a, const SymTensor& b);

// Which dims of x a reduction over `dims` reduces (none given, or empty: all).
std::vector<bool> reduce_dims(std::string_view op, const SymTensor& x, const std::optional<std::vector<std::int64_t>>& dims);
// Reduces the marked dims of x with `combine` over each group's elements (kept as size 1
// when keepdim).
SymTensor reduce(const SymTensor& x, const std::vector<bool>& reduced, bool keepdim,
                 const std::function<z3::expr(const std::vector<z3::expr>&)>& combine);
z3::expr sum_of(const std::vector<z3::expr>& terms);  // terms not empty
// Applies f to each line of x along `dim` (the elements that differ only in that index).
SymTensor along(std::string_view op, const SymTensor& x, std::int64_t dim,
                const std::function<std::vector<z3::expr>(const std::vector<z3::expr>&)>& f);

}  // namespace twin::verify::encoding
