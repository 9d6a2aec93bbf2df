// Linear algebra: matmul (torch.matmul's full rank rules, batch dims broadcast), bmm (3-D,
// equal batches), linear (x @ w^T + b with w of shape [out, in]), grouped_mm (a mixture of
// experts' per-group products). Operands must share one floating or integer dtype: PyTorch
// does not promote here.
#include "ops/op_registration.h"

namespace twin::ops::detail {

namespace {

void same_dtype(const std::string& op, const Types& in) {
  for (const TensorType& t : in) {
    if (t.dtype != in[0].dtype)
      fail(op, "expected operands of one dtype, got " + std::string(dtype_name(in[0].dtype)) + " and " +
                   std::string(dtype_name(t.dtype)));
    if (t.dtype == DType::Bool) fail(op, "does not accept bool");
  }
}

Shape matmul_shape(const std::string& op, const Shape& a, const Shape& b) {
  if (a.empty() || b.empty()) fail(op, "both arguments need to be at least 1-D, got shapes " + shape_string(a) + " and " + shape_string(b));
  std::int64_t ka = a.back();
  std::int64_t kb = b.size() == 1 ? b[0] : b[b.size() - 2];
  if (ka != kb)
    fail(op, "shapes " + shape_string(a) + " and " + shape_string(b) + " cannot be multiplied (" + std::to_string(ka) +
                 " != " + std::to_string(kb) + ")");
  Shape batch_a(a.begin(), a.end() - std::min<std::size_t>(a.size(), 2));
  Shape batch_b(b.begin(), b.end() - std::min<std::size_t>(b.size(), 2));
  Shape out = broadcast_shapes(batch_a, batch_b);
  if (a.size() >= 2) out.push_back(a[a.size() - 2]);
  if (b.size() >= 2) out.push_back(b.back());
  return out;
}

}  // namespace

void register_linear_algebra_ops(std::vector<OpSpec>& out) {
  {
    OpSpec s;
    s.name = "matmul";
    s.confusable = {"mul"};
    s.operands = {operand("input"), operand("other")};
    s.infer = [](const Types& in, const Attributes&) -> Types {
      same_dtype("matmul", in);
      return {tensor(in[0].dtype, matmul_shape("matmul", in[0].shape, in[1].shape))};
    };
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "bmm";
    s.confusable = {"matmul"};
    s.operands = {operand("input"), operand("mat2")};
    s.infer = [](const Types& in, const Attributes&) -> Types {
      const Shape &a = in[0].shape, &b = in[1].shape;
      if (a.size() != 3 || b.size() != 3) fail("bmm", "expects 3-D tensors, got " + shape_string(a) + " and " + shape_string(b));
      if (a[0] != b[0]) fail("bmm", "batch sizes differ: " + shape_string(a) + " and " + shape_string(b));
      if (a[2] != b[1]) fail("bmm", "shapes " + shape_string(a) + " and " + shape_string(b) + " cannot be multiplied");
      same_dtype("bmm", in);
      return {tensor(in[0].dtype, {a[0], a[1], b[2]})};
    };
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "linear";
    s.operands = {operand("input"), operand("weight"), operand("bias", true)};
    s.infer = [](const Types& in, const Attributes&) -> Types {
      const Shape &x = in[0].shape, &w = in[1].shape;
      if (w.size() != 2) fail("linear", "weight must be 2-D [out, in], got " + shape_string(w));
      if (x.empty()) fail("linear", "input must be at least 1-D");
      if (x.back() != w[1])
        fail("linear", "input " + shape_string(x) + " and weight " + shape_string(w) + " cannot be multiplied (" +
                           std::to_string(x.back()) + " != " + std::to_string(w[1]) + ")");
      if (in.size() == 3 && in[2].shape != Shape{w[0]})
        fail("linear", "bias must have shape [" + std::to_string(w[0]) + "], got " + shape_string(in[2].shape));
      same_dtype("linear", in);
      Shape out_shape(x.begin(), x.end() - 1);
      out_shape.push_back(w[0]);
      return {tensor(in[0].dtype, out_shape)};
    };
    out.push_back(std::move(s));
  }
  {
    // grouped_mm(x [M, K], w [G, K, N], offsets [G]): row r of x is multiplied by w[g] for the
    // group g = the number of offsets <= r (with sorted offsets, group g holds rows
    // offsets[g-1] <= r < offsets[g]); rows past the last offset are 0. torch._grouped_mm's
    // 2-D x 3-D form and transformers' grouped_mm_fallback (Mixtral's experts).
    OpSpec s;
    s.name = "grouped_mm";
    s.validation = Validation::RandomOnly;  // which matrix a row meets depends on values
    s.operands = {operand("input"), operand("weight"), operand("offsets")};
    s.domains = {OperandDomain{}, OperandDomain{}, OperandDomain{OperandDomain::Kind::Index, 0, 0}};
    s.infer = [](const Types& in, const Attributes&) -> Types {
      const Shape &x = in[0].shape, &w = in[1].shape, &offs = in[2].shape;
      if (x.size() != 2 || w.size() != 3 || offs.size() != 1)
        fail("grouped_mm", "expects input [M, K], weight [G, K, N], offsets [G], got " + shape_string(x) + ", " +
                               shape_string(w) + ", " + shape_string(offs));
      if (x[1] != w[1]) fail("grouped_mm", "input " + shape_string(x) + " and weight " + shape_string(w) + " cannot be multiplied");
      if (offs[0] != w[0]) fail("grouped_mm", std::to_string(offs[0]) + " offsets for " + std::to_string(w[0]) + " groups");
      if (in[2].dtype != DType::I64 && in[2].dtype != DType::I32) fail("grouped_mm", "offsets must be i32 or i64");
      same_dtype("grouped_mm", {in[0], in[1]});
      if (!is_floating(in[0].dtype)) fail("grouped_mm", "needs a floating dtype");
      return {tensor(in[0].dtype, {x[0], w[2]})};
    };
    out.push_back(std::move(s));
  }
}

}  // namespace twin::ops::detail
