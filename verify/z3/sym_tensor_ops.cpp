#include "verify/z3/sym_tensor_ops.h"

#include <algorithm>
#include <map>

namespace twin::verify::encoding {

std::int64_t numel_of(const Shape& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

Shape strides_of(const Shape& shape) {
  Shape s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

Index unravel(std::int64_t flat, const Shape& shape) {
  Index idx(shape.size(), 0);
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    if (shape[i] == 0) return idx;
    idx[i] = flat % shape[i];
    flat /= shape[i];
  }
  return idx;
}

std::int64_t ravel(const Index& idx, const Shape& shape) {
  std::int64_t flat = 0;
  for (std::size_t i = 0; i < shape.size(); ++i) flat = flat * shape[i] + idx[i];
  return flat;
}

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

void shape_error(std::string_view op, const std::string& why) {
  throw EncodingShapeError(std::string(op) + ": " + why);
}

std::int64_t norm_dim(std::string_view op, std::int64_t dim, std::int64_t rank) {
  std::int64_t r = std::max<std::int64_t>(rank, 1);
  if (dim < -r || dim >= r) shape_error(op, "dim " + std::to_string(dim) + " out of range for rank " + std::to_string(rank));
  return dim < 0 ? dim + r : dim;
}

std::optional<Rational> numeral_value(const z3::expr& e) {
  if (!e.is_numeral()) return std::nullopt;
  Z3_string text = Z3_get_numeral_string(e.ctx(), e);
  return parse_rational(text);
}

Shape broadcast_shapes(std::string_view op, const Shape& a, const Shape& b) {
  std::size_t r = std::max(a.size(), b.size());
  Shape out(r, 1);
  for (std::size_t i = 0; i < r; ++i) {
    std::int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    std::int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) shape_error(op, "cannot broadcast " + shape_text(a) + " with " + shape_text(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

const z3::expr& broadcast_at(const SymTensor& t, const Index& idx) {
  std::size_t off = idx.size() - t.shape.size();
  std::int64_t flat = 0;
  for (std::size_t i = 0; i < t.shape.size(); ++i) flat = flat * t.shape[i] + (t.shape[i] == 1 ? 0 : idx[off + i]);
  return t.elements[flat];
}

SymTensor reshape_to(const SymTensor& t, Shape shape) {
  SymTensor out = t;
  out.shape = std::move(shape);
  return out;
}

SymTensor transpose(std::string_view op, const SymTensor& x, std::int64_t d0, std::int64_t d1) {
  if (x.rank() == 0) return x;
  d0 = norm_dim(op, d0, x.rank());
  d1 = norm_dim(op, d1, x.rank());
  Shape s = x.shape;
  std::swap(s[d0], s[d1]);
  return build(s, [&](const Index& idx) {
    Index src = idx;
    std::swap(src[d0], src[d1]);
    return at(x, src);
  });
}

SymTensor batched_matmul(std::string_view op, const SymTensor& a, const SymTensor& b) {
  std::int64_t m = a.shape[a.rank() - 2], n = a.shape[a.rank() - 1];
  std::int64_t n2 = b.shape[b.rank() - 2], p = b.shape[b.rank() - 1];
  if (n != n2) shape_error(op, "inner dims differ: " + shape_text(a.shape) + " @ " + shape_text(b.shape));
  Shape ba(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
  Shape batch = broadcast_shapes(op, ba, bb);
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(p);
  return build(out_shape, [&](const Index& idx) {
    Index ia(idx.begin(), idx.end() - 2), ib = ia;
    std::int64_t i = idx[idx.size() - 2], j = idx[idx.size() - 1];
    auto elem = [&](const SymTensor& t, const Shape& tb, const Index& bi, std::int64_t r, std::int64_t c) {
      Index full;
      std::size_t off = bi.size() - tb.size();
      for (std::size_t q = 0; q < tb.size(); ++q) full.push_back(tb[q] == 1 ? 0 : bi[off + q]);
      full.push_back(r);
      full.push_back(c);
      return at(t, full);
    };
    z3::expr s = elem(a, ba, ia, i, 0) * elem(b, bb, ib, 0, j);
    for (std::int64_t k = 1; k < n; ++k) s = s + elem(a, ba, ia, i, k) * elem(b, bb, ib, k, j);
    return s;
  });
}

std::vector<bool> reduce_dims(std::string_view op, const SymTensor& x, const std::optional<std::vector<std::int64_t>>& dims) {
  std::vector<bool> reduced(x.shape.size(), !dims.has_value() || dims->empty());
  // A rank-0 tensor accepts dim 0 or -1 (as PyTorch does) and has nothing to reduce;
  // norm_dim still rejects other dims, but there is no slot to mark.
  for (auto d : dims ? *dims : std::vector<std::int64_t>{}) {
    std::int64_t axis = norm_dim(op, d, x.rank());
    if (x.rank() > 0) reduced[static_cast<std::size_t>(axis)] = true;
  }
  return reduced;
}

SymTensor reduce(const SymTensor& x, const std::vector<bool>& reduced, bool keepdim,
                 const std::function<z3::expr(const std::vector<z3::expr>&)>& combine) {
  Shape out_shape;
  for (std::size_t i = 0; i < x.shape.size(); ++i) {
    if (!reduced[i]) out_shape.push_back(x.shape[i]);
    else if (keepdim) out_shape.push_back(1);
  }
  std::map<std::int64_t, std::vector<z3::expr>> groups;
  Shape group_shape;
  for (std::size_t i = 0; i < x.shape.size(); ++i) group_shape.push_back(reduced[i] ? 1 : x.shape[i]);
  for (std::int64_t f = 0; f < x.numel(); ++f) {
    Index idx = unravel(f, x.shape);
    for (std::size_t i = 0; i < idx.size(); ++i)
      if (reduced[i]) idx[i] = 0;
    groups[ravel(idx, group_shape)].push_back(x.elements[f]);
  }
  SymTensor out;
  out.shape = out_shape;
  for (std::int64_t g = 0; g < numel_of(group_shape); ++g) out.elements.push_back(combine(groups[g]));
  return out;
}

z3::expr sum_of(const std::vector<z3::expr>& v) {
  z3::expr s = v[0];
  for (std::size_t i = 1; i < v.size(); ++i) s = s + v[i];
  return s;
}

SymTensor along(std::string_view op, const SymTensor& x, std::int64_t dim,
                const std::function<std::vector<z3::expr>(const std::vector<z3::expr>&)>& f) {
  SymTensor out = x;
  if (x.rank() == 0) {
    out.elements = f(x.elements);
    return out;
  }
  std::int64_t d = norm_dim(op, dim, x.rank());
  Shape st = strides_of(x.shape);
  for (std::int64_t flat = 0; flat < x.numel(); ++flat) {
    if (unravel(flat, x.shape)[d] != 0) continue;
    std::vector<z3::expr> line;
    for (std::int64_t k = 0; k < x.shape[d]; ++k) line.push_back(x.elements[flat + k * st[d]]);
    auto res = f(line);
    for (std::int64_t k = 0; k < x.shape[d]; ++k) out.elements[flat + k * st[d]] = res[k];
  }
  return out;
}

}  // namespace twin::verify::encoding
