// Z3 encodings of the reductions (ops/reductions.cpp's family), unrolled: `sum mean amax amin` over
// `dim` (none or empty: every dim) with `keepdim`, amax and amin as chains of `ite`; `softmax` as
// exp(x_i) / Σ exp and `log_softmax` as x_i - log Σ exp along `dim`; `cumsum` as the prefix
// sums along `dim`. A `dtype` attribute changes nothing in real arithmetic.
#include "verify/z3/op_encoding.h"

namespace twin::verify::encoding {

namespace {

std::vector<SymTensor> encode_reduction(EncodeCall& c) {
  c.need(1, 1);
  auto reduced = reduce_dims(c.op, c.in[0], c.opt_ints("dim"));
  bool keepdim = c.get_bool("keepdim", false);
  if (c.in[0].numel() == 0) c.shape_error("empty tensor");
  if (c.registered == "sum") return {reduce(c.in[0], reduced, keepdim, sum_of)};
  if (c.registered == "mean")
    return {reduce(c.in[0], reduced, keepdim, [&](const std::vector<z3::expr>& v) {
      return sum_of(v) / c.real(static_cast<std::int64_t>(v.size()));
    })};
  const bool least = c.registered == "amin";
  return {reduce(c.in[0], reduced, keepdim, [&](const std::vector<z3::expr>& v) {
    z3::expr m = v[0];
    for (std::size_t i = 1; i < v.size(); ++i) m = z3::ite(least ? v[i] < m : v[i] > m, v[i], m);
    return m;
  })};
}

std::vector<SymTensor> encode_softmax(EncodeCall& c) {
  c.need(1, 1);
  std::int64_t dim = c.get_int("dim");
  bool log_form = c.registered == "log_softmax";
  return {along(c.op, c.in[0], dim, [&](const std::vector<z3::expr>& line) {
    std::vector<z3::expr> ex;
    for (const auto& e : line) ex.push_back(c.exp_of(e));
    z3::expr total = sum_of(ex);
    std::vector<z3::expr> res;
    for (std::size_t i = 0; i < line.size(); ++i) res.push_back(log_form ? line[i] - c.uf("log", total) : ex[i] / total);
    return res;
  })};
}

std::vector<SymTensor> encode_cumsum(EncodeCall& c) {
  c.need(1, 1);
  if (c.in[0].rank() == 0) return {c.in[0]};
  return {along(c.op, c.in[0], c.get_int("dim"), [&](const std::vector<z3::expr>& line) {
    std::vector<z3::expr> out;
    for (std::size_t i = 0; i < line.size(); ++i) out.push_back(i == 0 ? line[0] : out.back() + line[i]);
    return out;
  })};
}

}  // namespace

void register_reduction_encodings(EncodingTable& t) {
  t.add("cumsum", encode_cumsum);
  t.add("sum", encode_reduction);
  t.add("mean", encode_reduction);
  t.add("amax", encode_reduction);
  t.add("amin", encode_reduction);
  t.add("softmax", encode_softmax);
  t.add("log_softmax", encode_softmax);
}

}  // namespace twin::verify::encoding
