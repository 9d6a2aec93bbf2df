// Z3 encodings of the linear algebra ops (ops/linear_algebra.cpp's family), as unrolled dot
// products: `matmul` with PyTorch's rank rules (a vector operand gets a unit dim that the
// result drops; batch dims broadcast), `bmm` ([b, n, m] @ [b, m, p] only), and
// `linear(x, w[, b])` = x @ w^T + b, the bias broadcast to the output.
#include "verify/z3/op_encoding.h"

namespace twin::verify::encoding {

namespace {

std::vector<SymTensor> encode_matmul(EncodeCall& c) {
  c.need(2, 2);
  SymTensor a = c.in[0], b = c.in[1];
  if (a.rank() == 0 || b.rank() == 0) c.shape_error("operands must have rank >= 1");
  bool a1 = a.rank() == 1, b1 = b.rank() == 1;
  if (a1) a = reshape_to(a, {1, a.shape[0]});
  if (b1) b = reshape_to(b, {b.shape[0], 1});
  SymTensor r = batched_matmul(c.op, a, b);
  Shape s = r.shape;
  if (b1) s.erase(s.end() - 1);
  if (a1) s.erase(s.end() - (b1 ? 1 : 2));
  return {reshape_to(r, s)};
}

std::vector<SymTensor> encode_bmm(EncodeCall& c) {
  c.need(2, 2);
  if (c.in[0].rank() != 3 || c.in[1].rank() != 3 || c.in[0].shape[0] != c.in[1].shape[0])
    c.shape_error("expects [b, n, m] @ [b, m, p]");
  return {batched_matmul(c.op, c.in[0], c.in[1])};
}

std::vector<SymTensor> encode_linear(EncodeCall& c) {
  c.need(2, 3);
  const SymTensor &x = c.in[0], &w = c.in[1];
  if (x.rank() < 1 || (w.rank() != 1 && w.rank() != 2)) c.shape_error("expects x[..., in] and w[out, in]");
  SymTensor r;
  if (w.rank() == 2) {
    SymTensor wt = transpose(c.op, w, 0, 1);
    SymTensor xx = x.rank() == 1 ? reshape_to(x, {1, x.shape[0]}) : x;
    r = batched_matmul(c.op, xx, wt);
    if (x.rank() == 1) r = reshape_to(r, {r.shape.back()});
  } else {
    r = c.encode("matmul", {x, w}, {})[0];
  }
  if (c.in.size() == 3) {
    const SymTensor& bias = c.in[2];
    Shape s = broadcast_shapes(c.op, r.shape, bias.shape);
    if (s != r.shape) c.shape_error("bias does not broadcast to the output");
    r = build(s, [&](const Index& i) { return at(r, i) + broadcast_at(bias, i); });
  }
  return {std::move(r)};
}

}  // namespace

void register_linear_algebra_encodings(EncodingTable& t) {
  t.add("matmul", encode_matmul);
  t.add("bmm", encode_bmm);
  t.add("linear", encode_linear);
}

}  // namespace twin::verify::encoding
