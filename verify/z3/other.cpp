// Z3 encodings of the other ops (ops/other_ops.cpp's family):
//   - `cast contiguous clone detach` are the identity (real arithmetic has no rounding);
//   - `where` and `masked_fill` are `ite` on a mask whose symbolic elements are required to be
//     0 or 1; masked_fill's value must be a finite constant (or a scalar operand);
//   - `triu tril` keep or zero each element by its position; `zeros ones full arange` are
//     constants (full's value finite);
//   - `layer_norm` by its definition (mean, biased variance, rsqrt(var + eps), then weight and
//     bias), and `scaled_dot_product_attention` without a mask (causal supported), its default
//     scale 1/sqrt(E).
// `embedding` (a gather by data-dependent indices) has no encoding: it is validated by random
// testing only (Validation::RandomOnly).
#include "verify/z3/op_encoding.h"

namespace twin::verify::encoding {

namespace {

std::vector<SymTensor> encode_identity(EncodeCall& c) {
  c.need(1, 1);
  return {c.in[0]};
}

// A mask element as a condition; a symbolic one is required to be 0 or 1.
z3::expr mask_bool(EncodeCall& c, const z3::expr& m) {
  if (!m.is_numeral()) c.require(m == 0 || m == 1);
  return m != 0;
}

std::vector<SymTensor> encode_where(EncodeCall& c) {
  c.need(3, 3);
  const auto& in = c.in;
  Shape s = broadcast_shapes(c.op, broadcast_shapes(c.op, in[0].shape, in[1].shape), in[2].shape);
  return {build(s, [&](const Index& i) {
    return z3::ite(mask_bool(c, broadcast_at(in[0], i)), broadcast_at(in[1], i), broadcast_at(in[2], i));
  })};
}

std::vector<SymTensor> encode_masked_fill(EncodeCall& c) {
  c.need(2, 3);
  const auto& in = c.in;
  z3::expr value = c.real(0);
  if (in.size() == 3) {
    if (in[2].numel() != 1) c.shape_error("value must be a scalar");
    value = in[2].elements[0];
  } else {
    auto v = c.opt_number("value");
    if (!v) throw NotEncodable("masked_fill", "the fill value must be a finite constant");
    value = c.real(*v);
  }
  Shape s = broadcast_shapes(c.op, in[0].shape, in[1].shape);
  if (s != in[0].shape) c.shape_error("mask does not broadcast to the input");
  return {build(s, [&](const Index& i) { return z3::ite(mask_bool(c, broadcast_at(in[1], i)), value, at(in[0], i)); })};
}

std::vector<SymTensor> encode_triangle(EncodeCall& c) {
  c.need(1, 1);
  if (c.in[0].rank() < 2) c.shape_error("needs rank >= 2");
  std::int64_t k = c.get_int("diagonal", 0);
  bool upper = c.registered == "triu";
  return {build(c.in[0].shape, [&](const Index& idx) {
    std::int64_t i = idx[idx.size() - 2], j = idx[idx.size() - 1];
    bool keep = upper ? j - i >= k : j - i <= k;
    return keep ? at(c.in[0], idx) : c.real(0);
  })};
}

std::vector<SymTensor> encode_filled(EncodeCall& c) {
  c.need(0, 0);
  auto size = c.opt_ints("shape");
  if (!size) throw NotEncodable(c.op, "missing shape");
  for (auto d : *size)
    if (d < 0) c.shape_error("negative size");
  Rational v = c.registered == "ones" ? Rational(1) : Rational(0);
  if (c.registered == "full") {
    auto fv = c.opt_number("fill_value");
    if (!fv) throw NotEncodable("full", "the fill value must be a finite constant");
    v = *fv;
  }
  z3::expr e = c.real(v);
  return {build(*size, [&](const Index&) { return e; })};
}

std::vector<SymTensor> encode_arange(EncodeCall& c) {
  c.need(0, 0);
  auto num = [&](const char* n, std::optional<Rational> d) {
    auto v = c.opt_number(n);
    if (!v && !d) throw NotEncodable("arange", std::string("missing ") + n);
    return v ? *v : *d;
  };
  Rational start = num("start", Rational(0)), end = num("end", std::nullopt), step = num("step", Rational(1));
  if (step == 0) c.shape_error("step is zero");
  std::vector<z3::expr> el;
  for (Rational v = start; step > 0 ? v < end : v > end; v += step) el.push_back(c.real(v));
  SymTensor out;
  out.shape = {static_cast<std::int64_t>(el.size())};
  out.elements = el;
  return {std::move(out)};
}

std::vector<SymTensor> encode_layer_norm(EncodeCall& c) {
  c.need(1, 3);
  const SymTensor& x = c.in[0];
  auto ns = c.opt_ints("normalized_shape");
  if (!ns) throw NotEncodable("layer_norm", "missing normalized_shape");
  if (static_cast<std::int64_t>(ns->size()) > x.rank()) c.shape_error("normalized_shape longer than the rank");
  for (std::size_t i = 0; i < ns->size(); ++i)
    if (x.shape[x.rank() - ns->size() + i] != (*ns)[i]) c.shape_error("normalized_shape does not match");
  Rational eps = c.opt_number("eps").value_or(Rational(1, 100000));
  std::vector<bool> reduced(x.shape.size(), false);
  for (std::size_t i = x.shape.size() - ns->size(); i < x.shape.size(); ++i) reduced[i] = true;
  SymTensor mean = reduce(x, reduced, true, [&](const std::vector<z3::expr>& v) {
    return sum_of(v) / c.real(static_cast<std::int64_t>(v.size()));
  });
  SymTensor centered = build(x.shape, [&](const Index& i) { return at(x, i) - broadcast_at(mean, i); });
  SymTensor var = reduce(centered, reduced, true, [&](const std::vector<z3::expr>& v) {
    std::vector<z3::expr> sq;
    for (const auto& e : v) sq.push_back(e * e);
    return sum_of(sq) / c.real(static_cast<std::int64_t>(v.size()));
  });
  z3::expr eps_e = c.real(eps);
  std::vector<z3::expr> inv;
  for (const auto& v : var.elements) inv.push_back(c.rsqrt(v + eps_e));
  SymTensor inv_t{var.shape, inv};
  Shape ns_shape(*ns);
  SymTensor y = build(x.shape, [&](const Index& i) { return at(centered, i) * broadcast_at(inv_t, i); });
  for (std::size_t k = 1; k < c.in.size(); ++k) {
    if (c.in[k].shape != ns_shape) c.shape_error("weight/bias must have the normalized shape");
    y = build(x.shape, [&](const Index& i) {
      return k == 1 ? at(y, i) * broadcast_at(c.in[k], i) : at(y, i) + broadcast_at(c.in[k], i);
    });
  }
  return {std::move(y)};
}

std::vector<SymTensor> encode_attention(EncodeCall& c) {
  if (c.in.size() == 4) throw NotEncodable(c.op, "attn_mask");
  c.need(3, 3);
  const SymTensor &q = c.in[0], &k = c.in[1], &v = c.in[2];
  if (q.rank() < 2 || k.rank() < 2 || v.rank() < 2) c.shape_error("q, k, v need rank >= 2");
  bool causal = c.get_bool("is_causal", false);
  std::int64_t e = q.shape.back();
  SymTensor k_heads = k, v_heads = v;
  if (c.get_bool("enable_gqa", false) && q.rank() >= 3 && k.rank() >= 3 && v.rank() >= 3) {
    // Each key/value head serves q_heads / kv_heads query heads (repeat_interleave on dim -3).
    auto repeat_heads = [&](const SymTensor& t) {
      std::int64_t hq = q.shape[q.rank() - 3], h = t.shape[t.rank() - 3];
      if (h == 0 || hq % h != 0) c.shape_error("enable_gqa: heads do not divide");
      Shape s = t.shape;
      s[s.size() - 3] = hq;
      return build(s, [&](const Index& i) {
        Index j = i;
        j[j.size() - 3] = i[i.size() - 3] / (hq / h);
        return at(t, j);
      });
    };
    k_heads = repeat_heads(k);
    v_heads = repeat_heads(v);
  }
  z3::expr scale = c.real(1);
  if (auto s = c.opt_number("scale")) scale = c.real(*s);
  else scale = 1 / c.sqrt_of(c.real(e));
  SymTensor kt = transpose(c.op, k_heads, -2, -1);
  SymTensor scores = batched_matmul(c.op, q, kt);
  std::int64_t L = scores.shape[scores.rank() - 2], S = scores.shape.back();
  SymTensor weights = scores;
  for (std::int64_t flat = 0; flat < scores.numel(); flat += S) {
    std::int64_t row = (flat / S) % L;
    std::vector<z3::expr> ex;
    for (std::int64_t j = 0; j < S; ++j)
      ex.push_back(causal && j > row ? c.real(0) : c.exp_of(scores.elements[flat + j] * scale));
    z3::expr total = ex[0];
    for (std::int64_t j = 1; j < S; ++j) total = total + ex[j];
    for (std::int64_t j = 0; j < S; ++j) weights.elements[flat + j] = ex[j] / total;
  }
  return {batched_matmul(c.op, weights, v_heads)};
}

}  // namespace

void register_other_encodings(EncodingTable& t) {
  t.add("where", encode_where);
  t.add("masked_fill", encode_masked_fill);
  t.add("cast", encode_identity);
  t.add("full", encode_filled);
  t.add("zeros", encode_filled);
  t.add("ones", encode_filled);
  t.add("arange", encode_arange);
  t.add("triu", encode_triangle);
  t.add("tril", encode_triangle);
  t.add("layer_norm", encode_layer_norm);
  t.add("scaled_dot_product_attention", encode_attention);
  t.add("contiguous", encode_identity);
  t.add("clone", encode_identity);
  t.add("detach", encode_identity);
}

}  // namespace twin::verify::encoding
