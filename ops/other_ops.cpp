// The other ops of Llama-family graphs: embedding, where, masked_fill, triu/tril, cast,
// constructors (zeros ones full arange), layer_norm, scaled_dot_product_attention, the
// identities contiguous clone detach, and the data-dependent ops of mixture-of-experts routing
// (topk, sort, histc).
#include "ops/op_registration.h"

#include <cmath>

namespace twin::ops::detail {

namespace {

using Kind = OperandDomain::Kind;

bool is_index_dtype(DType d) { return d == DType::I64 || d == DType::I32; }

OpSpec identity(const std::string& name) {
  OpSpec s;
  s.name = name;
  s.is_identity = always();
  s.per_element = s.rearranges = true;
  s.confusable = {"neg"};
  s.operands = {operand("input")};
  s.infer = [](const Types& in, const Attributes&) -> Types { return {tensor(in[0].dtype, in[0].shape)}; };
  return s;
}

OpSpec triangle(const std::string& name) {
  OpSpec s;
  s.name = name;
  s.operands = {operand("input")};
  s.attributes = {with_default("diagonal", AttrKind::Int, int_value(0))};
  s.infer = [name](const Types& in, const Attributes&) -> Types {
    if (in[0].rank() < 2) fail(name, "input tensor must have at least 2 dimensions, got " + shape_string(in[0].shape));
    return {tensor(in[0].dtype, in[0].shape)};
  };
  return s;
}

Shape checked_size(const std::string& op, const Shape& shape) {
  for (auto d : shape)
    if (d < 0) fail(op, "trying to create a tensor with negative dimension " + std::to_string(d));
  return shape;
}

OpSpec filled(const std::string& name) {
  OpSpec s;
  s.name = name;
  s.attributes = {required("shape", AttrKind::Ints), with_default("dtype", AttrKind::DType, AttrValue{DType::F32})};
  s.infer = [name](const Types&, const Attributes& a) -> Types {
    return {tensor(attr_dtype(a, "dtype"), checked_size(name, attr_ints(a, "shape")))};
  };
  return s;
}

bool integral_attr(const Attributes& a, const std::string& name) { return a.at(name).is_int(); }

}  // namespace

// The dtype arange/full produce when none is given: i64 for integers, f32 otherwise.
static DType default_number_dtype(bool integral) { return integral ? DType::I64 : DType::F32; }

void register_other_ops(std::vector<OpSpec>& out) {
  {
    OpSpec s;
    s.name = "embedding";
    s.copies_values = true;
    s.validation = Validation::RandomOnly;  // a gather by data-dependent indices
    s.operands = {operand("weight"), operand("indices")};
    s.domains = {OperandDomain{}, OperandDomain{Kind::Index, 0, 0}};
    s.infer = [](const Types& in, const Attributes&) -> Types {
      const TensorType &w = in[0], &idx = in[1];
      if (w.rank() != 2) fail("embedding", "weight must be 2-D, got " + shape_string(w.shape));
      if (!is_index_dtype(idx.dtype)) fail("embedding", "indices must be i32 or i64, got " + std::string(dtype_name(idx.dtype)));
      Shape shape = idx.shape;
      shape.push_back(w.shape[1]);
      return {tensor(w.dtype, shape)};
    };
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "where";
    s.copies_values = true;
    s.operands = {operand("condition"), operand("input"), operand("other")};
    s.domains = {OperandDomain{Kind::BoolMask}, OperandDomain{}, OperandDomain{}};
    s.infer = [](const Types& in, const Attributes&) -> Types {
      if (in[0].dtype != DType::Bool) fail("where", "condition must be a bool tensor, got " + std::string(dtype_name(in[0].dtype)));
      Shape shape = broadcast_shapes(broadcast_shapes(in[0].shape, in[1].shape), in[2].shape);
      return {tensor(result_type({in[1], in[2]}), shape)};
    };
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "masked_fill";
    s.operands = {operand("input"), operand("mask")};
    s.attributes = {required("value", AttrKind::Float)};
    s.domains = {OperandDomain{}, OperandDomain{Kind::BoolMask}};
    s.infer = [](const Types& in, const Attributes&) -> Types {
      if (in[1].dtype != DType::Bool) fail("masked_fill", "only supports boolean masks, got " + std::string(dtype_name(in[1].dtype)));
      return {tensor(in[0].dtype, broadcast_shapes(in[0].shape, in[1].shape))};
    };
    out.push_back(std::move(s));
  }
  out.push_back(triangle("triu"));
  out.back().confusable = {"tril"};
  out.push_back(triangle("tril"));
  out.back().confusable = {"triu"};
  {
    OpSpec s;
    s.name = "cast";
    s.aliases = {"to"};
    s.operands = {operand("input")};
    s.attributes = {required("dtype", AttrKind::DType)};
    s.infer = [](const Types& in, const Attributes& a) -> Types { return {tensor(attr_dtype(a, "dtype"), in[0].shape)}; };
    s.is_identity = same_dtype();
    s.per_element = true;
    out.push_back(std::move(s));
  }
  out.push_back(filled("zeros"));
  out.push_back(filled("ones"));
  {
    OpSpec s;
    s.name = "full";
    s.attributes = {required("shape", AttrKind::Ints), required("fill_value", AttrKind::Float),
                    optional_attr("dtype", AttrKind::DType)};
    s.infer = [](const Types&, const Attributes& a) -> Types {
      DType d = attr_opt_dtype(a, "dtype").value_or(default_number_dtype(integral_attr(a, "fill_value")));
      return {tensor(d, checked_size("full", attr_ints(a, "shape")))};
    };
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "arange";
    s.attributes = {with_default("start", AttrKind::Float, int_value(0)), required("end", AttrKind::Float),
                    with_default("step", AttrKind::Float, int_value(1)), optional_attr("dtype", AttrKind::DType)};
    s.infer = [](const Types&, const Attributes& a) -> Types {
      bool integral = integral_attr(a, "start") && integral_attr(a, "end") && integral_attr(a, "step");
      DType d = attr_opt_dtype(a, "dtype").value_or(default_number_dtype(integral));
      double start = attr_double(a, "start"), end = attr_double(a, "end"), step = attr_double(a, "step");
      // libtorch checks the bounds in the accumulation type (int64 for integer results, so
      // truncated), but computes the length in double from the untruncated bounds, except
      // for i64 results.
      double cs = start, ce = end, cst = step;
      if (!is_floating(d)) {
        cs = std::trunc(start);
        ce = std::trunc(end);
        cst = std::trunc(step);
      }
      if (cst == 0) fail("arange", "step must be nonzero");
      if (!std::isfinite(cs) || !std::isfinite(ce)) fail("arange", "unsupported range");
      if (!((cst > 0 && ce >= cs) || (cst < 0 && ce <= cs)))
        fail("arange", "upper bound and larger bound inconsistent with step sign");
      double size = d == DType::I64 ? std::ceil((ce - cs) / cst) : std::ceil((end - start) / step);
      return {tensor(d, {static_cast<std::int64_t>(size)})};
    };
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "layer_norm";
    s.operands = {operand("input"), operand("weight", true), operand("bias", true)};
    s.attributes = {required("normalized_shape", AttrKind::Ints),
                    with_default("eps", AttrKind::Float, AttrValue{Rational(1, 100000)})};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      Shape normalized = attr_ints(a, "normalized_shape");
      const TensorType& x = in[0];
      if (normalized.empty()) fail("layer_norm", "normalized_shape must be at least 1-dimensional");
      bool fits = normalized.size() <= x.shape.size() &&
                  std::equal(normalized.begin(), normalized.end(), x.shape.end() - normalized.size());
      if (!fits)
        fail("layer_norm", "input " + shape_string(x.shape) + " does not end with normalized_shape " + shape_string(normalized));
      for (std::size_t i = 1; i < in.size(); ++i) {
        if (in[i].shape != normalized)
          fail("layer_norm", std::string(i == 1 ? "weight" : "bias") + " must have shape " + shape_string(normalized) +
                                 ", got " + shape_string(in[i].shape));
        if (in[i].dtype != x.dtype) fail("layer_norm", "weight and bias must have the input's dtype");
      }
      if (!is_floating(x.dtype)) fail("layer_norm", "needs a floating dtype, got " + std::string(dtype_name(x.dtype)));
      return {tensor(x.dtype, x.shape)};
    };
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "scaled_dot_product_attention";
    s.operands = {operand("query"), operand("key"), operand("value"), operand("attn_mask", true)};
    s.attributes = {with_default("is_causal", AttrKind::Bool, bool_value(false)), optional_attr("scale", AttrKind::Float),
                    with_default("enable_gqa", AttrKind::Bool, bool_value(false))};
    s.domains = {OperandDomain{}, OperandDomain{}, OperandDomain{}, OperandDomain{Kind::BoolMask}};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      const std::string op = "scaled_dot_product_attention";
      const TensorType& q = in[0];
      TensorType k = in[1], v = in[2];
      // Grouped-query attention: key and value have fewer heads (dim -3), each shared by
      // q_heads / kv_heads query heads, as if repeat_interleave'd.
      if (attr_bool(a, "enable_gqa") && q.rank() >= 3 && k.rank() >= 3 && v.rank() >= 3) {
        std::int64_t hq = q.shape[q.rank() - 3], hk = k.shape[k.rank() - 3], hv = v.shape[v.rank() - 3];
        if (hk == 0 || hv == 0 || hq % hk != 0 || hq % hv != 0)
          fail(op, "with enable_gqa, the query's heads (" + std::to_string(hq) + ") must be a multiple of the key's (" +
                       std::to_string(hk) + ") and the value's (" + std::to_string(hv) + ")");
        k.shape[k.rank() - 3] = hq;
        v.shape[v.rank() - 3] = hq;
      }
      for (int i = 0; i < 3; ++i)
        if (in[i].rank() < 2) fail(op, "query, key and value must be at least 2-D");
      if (!is_floating(q.dtype) || k.dtype != q.dtype || v.dtype != q.dtype)
        fail(op, "query, key and value must share one floating dtype");
      if (q.shape.back() != k.shape.back())
        fail(op, "query and key must have the same embedding size: " + shape_string(q.shape) + " vs " + shape_string(k.shape));
      if (k.shape[k.rank() - 2] != v.shape[v.rank() - 2])
        fail(op, "key and value must have the same sequence length: " + shape_string(k.shape) + " vs " + shape_string(v.shape));
      Shape qb(q.shape.begin(), q.shape.end() - 2), kb(k.shape.begin(), k.shape.end() - 2), vb(v.shape.begin(), v.shape.end() - 2);
      Shape scores = broadcast_shapes(qb, kb);
      Shape batch = broadcast_shapes(scores, vb);
      std::int64_t L = q.shape[q.rank() - 2], S = k.shape[k.rank() - 2];
      scores.push_back(L);
      scores.push_back(S);
      if (in.size() == 4) {
        const TensorType& m = in[3];
        if (attr_bool(a, "is_causal")) fail(op, "an explicit attn_mask must not be set when is_causal is true");
        if (m.dtype != DType::Bool && m.dtype != q.dtype) fail(op, "attn_mask must be bool or the query's dtype");
        if (broadcast_shapes(scores, m.shape) != scores)
          fail(op, "attn_mask " + shape_string(m.shape) + " does not broadcast to the scores " + shape_string(scores));
      }
      batch.push_back(L);
      batch.push_back(v.shape.back());
      return {tensor(q.dtype, batch)};
    };
    out.push_back(std::move(s));
  }
  out.push_back(identity("contiguous"));
  out.push_back(identity("clone"));
  out.push_back(identity("detach"));
  {
    // topk(x, k, dim, largest, sorted) -> (values, indices i64): the k largest (smallest)
    // along dim.
    OpSpec s;
    s.name = "topk";
    s.multi_output = true;
    s.validation = Validation::RandomOnly;  // an order, not arithmetic
    s.operands = {operand("input")};
    s.attributes = {required("k", AttrKind::Int), with_default("dim", AttrKind::Int, int_value(-1)),
                    with_default("largest", AttrKind::Bool, bool_value(true)),
                    with_default("sorted", AttrKind::Bool, bool_value(true))};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      TensorType x = tensor(in[0].dtype, in[0].shape);
      std::int64_t dim = wrap_dim("topk", attr_int(a, "dim"), x.rank()), k = attr_int(a, "k");
      std::int64_t size = x.rank() == 0 ? 1 : x.shape[dim];
      if (k < 0 || k > size) fail("topk", "k (" + std::to_string(k) + ") is out of range for a dim of size " + std::to_string(size));
      if (x.dtype == DType::Bool) fail("topk", "does not accept bool");
      if (x.rank() > 0) x.shape[dim] = k;
      return {x, tensor(DType::I64, x.shape)};
    };
    s.canonicalize = dims_from_end({"dim"});
    s.confusable = {"sort"};
    out.push_back(std::move(s));
  }
  {
    // sort(x, dim, descending, stable) -> (values, indices i64).
    OpSpec s;
    s.name = "sort";
    s.multi_output = true;
    s.validation = Validation::RandomOnly;
    s.operands = {operand("input")};
    s.attributes = {with_default("dim", AttrKind::Int, int_value(-1)), with_default("descending", AttrKind::Bool, bool_value(false)),
                    with_default("stable", AttrKind::Bool, bool_value(false))};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      TensorType x = tensor(in[0].dtype, in[0].shape);
      wrap_dim("sort", attr_int(a, "dim"), x.rank());
      return {x, tensor(DType::I64, x.shape)};
    };
    s.canonicalize = dims_from_end({"dim"});
    s.confusable = {"topk"};
    out.push_back(std::move(s));
  }
  {
    // histc(x, bins, min, max): counts of x in `bins` equal bins over [min, max] (min = max:
    // over the data's range), in x's floating dtype.
    OpSpec s;
    s.name = "histc";
    s.validation = Validation::RandomOnly;
    s.operands = {operand("input")};
    s.attributes = {with_default("bins", AttrKind::Int, int_value(100)), with_default("min", AttrKind::Float, int_value(0)),
                    with_default("max", AttrKind::Float, int_value(0))};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      if (!is_floating(in[0].dtype)) fail("histc", "needs a floating dtype, got " + std::string(dtype_name(in[0].dtype)));
      std::int64_t bins = attr_int(a, "bins");
      if (bins <= 0) fail("histc", "bins must be > 0");
      if (attr_double(a, "min") > attr_double(a, "max")) fail("histc", "max must be larger than min");
      return {tensor(in[0].dtype, {bins})};
    };
    out.push_back(std::move(s));
  }
}

}  // namespace twin::ops::detail
