// The libtorch backend's op table: every registered op, by its registered name, through the
// ATen functions PyTorch's own ops call, in the operands' dtypes. libtorch's errors
// (c10::Error) become ShapeError. The registry itself is not here (it lives in the main
// image): the core looks the op up, checks the operand count and completes the attributes
// before calling evaluate_op, so the accessors below always find their attributes.
#include "ops/op_registration.h"
#include "ops/torch/torch_tensor.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>

namespace twin::ops::torch_backend {

using namespace twin::ops::detail;

namespace {

using Ts = std::vector<at::Tensor>;
using Fn = std::function<Ts(const Ts&, const Attributes&)>;

bool is_wrapped(const at::Tensor& t) { return t.unsafeGetTensorImpl()->is_wrapped_number(); }

bool is_reduced(at::ScalarType t) { return t == at::kBFloat16 || t == at::kHalf; }

// The numerics of the evaluation in progress on this thread (evaluate_op sets it).
thread_local Numerics tls_numerics = Numerics::Libtorch;
bool pytorch2() { return tls_numerics == Numerics::PyTorch2; }

// c[m][n] = sum over k of a[m][k] b[k][n], each sum accumulated in order k = 0, 1, ... with a
// fused multiply-add per term (the order MKL's f32 GEMM kernels give each output). The loop
// runs over n innermost, which keeps every output's order and lets the FMA clone vectorize.
__attribute__((target_clones("fma", "default"))) void fma_rows(const float* a, const float* b, float* c, int64_t m0,
                                                                int64_t m1, int64_t k_size, int64_t n_size) {
  for (int64_t m = m0; m < m1; ++m) {
    float* __restrict__ row = c + m * n_size;
    for (int64_t n = 0; n < n_size; ++n) row[n] = 0.0f;
    for (int64_t k = 0; k < k_size; ++k) {
      const float x = a[m * k_size + k];
      const float* __restrict__ brow = b + k * n_size;
      for (int64_t n = 0; n < n_size; ++n) row[n] = std::fma(x, brow[n], row[n]);
    }
  }
}

// a [..., M, K] times b [..., K, N] (batch dims broadcast; a 1-D operand as matmul takes it), f32,
// as PyTorch 2's CPU GEMM computes it (fma_rows).
at::Tensor fma_matmul(const at::Tensor& a_in, const at::Tensor& b_in) {
  if (a_in.dim() == 1 || b_in.dim() == 1) {
    at::Tensor a = a_in.dim() == 1 ? a_in.unsqueeze(0) : a_in, b = b_in.dim() == 1 ? b_in.unsqueeze(1) : b_in;
    at::Tensor out = fma_matmul(a, b);
    if (a_in.dim() == 1) out = out.squeeze(-2);
    if (b_in.dim() == 1) out = out.squeeze(-1);
    return out;
  }
  if (a_in.size(-1) != b_in.size(-2)) return at::matmul(a_in, b_in);  // libtorch's message
  std::vector<int64_t> batch = at::infer_size(a_in.sizes().slice(0, a_in.dim() - 2), b_in.sizes().slice(0, b_in.dim() - 2));
  const int64_t M = a_in.size(-2), K = a_in.size(-1), N = b_in.size(-1);
  std::vector<int64_t> a_shape = batch, b_shape = batch, out_shape = batch;
  a_shape.insert(a_shape.end(), {M, K});
  b_shape.insert(b_shape.end(), {K, N});
  out_shape.insert(out_shape.end(), {M, N});
  at::Tensor a = a_in.expand(a_shape).contiguous().reshape({-1, M, K});
  at::Tensor b = b_in.expand(b_shape).contiguous().reshape({-1, K, N});
  at::Tensor c = at::empty({a.size(0), M, N}, a.options());
  const float* ap = a.data_ptr<float>();
  const float* bp = b.data_ptr<float>();
  float* cp = c.data_ptr<float>();
  const int64_t rows = a.size(0) * M;
  at::parallel_for(0, rows, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, K * N)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1;) {
      const int64_t z = r / M, end = std::min(r1, (z + 1) * M);
      fma_rows(ap + z * M * K, bp + z * K * N, cp + z * M * N, r - z * M, end - z * M, K, N);
      r = end;
    }
  });
  return c.reshape(out_shape);
}

// matmul (and bmm, linear's product) in the current numerics. PyTorch2: f32 through
// fma_matmul; bf16/f16 computed in f32 and rounded once (oneDNN's and MKL's reduced-precision
// GEMMs accumulate in f32); `bias` added to the f32 product before that rounding.
at::Tensor product(const at::Tensor& a, const at::Tensor& b, const c10::optional<at::Tensor>& bias = c10::nullopt) {
  const at::ScalarType t = a.scalar_type();
  if (!pytorch2() || t != b.scalar_type() || !(t == at::kFloat || is_reduced(t)) ||
      (bias && bias->scalar_type() != t)) {
    if (bias) return at::matmul(a, b) + *bias;
    return at::matmul(a, b);
  }
  if (t == at::kFloat) {
    at::Tensor out = fma_matmul(a, b);
    return bias ? out + *bias : out;
  }
  at::Tensor out = fma_matmul(a.to(at::kFloat), b.to(at::kFloat));
  if (bias) out = out + bias->to(at::kFloat);
  return out.to(t);
}

// An integral value that fits in int64 is an integer scalar (PyTorch keeps `2` and `2.0`
// apart); anything else, including integral values beyond int64 such as finfo(f32).min
// (-3.4e38, integral as a double), is a double.
at::Scalar number_scalar(const AttrValue& v) {
  if (v.is_int_in_range()) return at::Scalar(static_cast<int64_t>(v.as_int()));
  return at::Scalar(attribute_double(v));
}

c10::optional<at::ScalarType> opt_dtype(const Attributes& a, const std::string& name) {
  if (auto d = attr_opt_dtype(a, name)) return to_scalar_type(*d);
  return c10::nullopt;
}

c10::optional<int64_t> opt_int(const Attributes& a, const std::string& name) {
  if (auto v = attr_opt_int(a, name)) return *v;
  return c10::nullopt;
}

at::OptionalIntArrayRef opt_dims(const std::optional<Shape>& dims) {
  if (!dims) return c10::nullopt;
  return at::IntArrayRef(*dims);
}

// scaled_dot_product_attention as PyTorch 2's CPU kernel computes it (the flash-attention kernel
// that PyTorch picks on CPU; libtorch 1.13 has no SDPA with `scale`): in f32 for bf16/f16
// inputs (f64 for f64), scores q k^T times the scale plus the mask (a boolean mask as 0 and
// -inf), the row max subtracted, exp, the row sum; the exponentials rounded to the input's
// dtype for the product with v (as the kernel's reduced-precision GEMM takes them), the result
// divided by the sum and rounded once. A row that attends nowhere is NaN.
at::Tensor sdpa(const Ts& in, const Attributes& a) {
  const at::Tensor &query = in[0], &key = in[1], &value = in[2];
  at::ScalarType low = query.scalar_type();
  at::ScalarType accumulate = low == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor q = query.to(accumulate), k = key.to(accumulate), v = value.to(accumulate);
  if (attr_bool(a, "enable_gqa") && q.dim() >= 3) {
    // Each key/value head serves q_heads / kv_heads query heads.
    int64_t hq = q.size(-3);
    if (k.size(-3) != hq) k = at::repeat_interleave(k, hq / k.size(-3), k.dim() - 3);
    if (v.size(-3) != hq) v = at::repeat_interleave(v, hq / v.size(-3), v.dim() - 3);
  }
  double scale = has_attr(a, "scale") ? attr_double(a, "scale") : 1.0 / std::sqrt(static_cast<double>(query.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  const double inf = std::numeric_limits<double>::infinity();
  if (in.size() == 4) {
    const at::Tensor& mask = in[3];
    if (mask.scalar_type() == at::kBool) scores = scores.masked_fill(mask.logical_not(), -inf);
    else scores = scores + mask.to(accumulate);
  }
  if (attr_bool(a, "is_causal")) {
    if (in.size() == 4) throw ShapeError("scaled_dot_product_attention: explicit attn_mask should not be set when is_causal is true");
    int64_t L = q.size(-2), S = k.size(-2);
    scores = scores.masked_fill(at::ones({L, S}, at::TensorOptions().dtype(at::kBool)).triu(1), -inf);
  }
  at::Tensor weights = at::exp(scores - std::get<0>(scores.max(-1, true)));
  at::Tensor sum = weights.sum(-1, true);
  if (low != accumulate) weights = weights.to(low).to(accumulate);
  return (at::matmul(weights, v) / sum).to(low);
}

// grouped_mm: row r meets weight[g] for g = #{offsets <= r}; rows of no group stay 0. Each
// group is one mm over its rows, as transformers' fallback computes it.
at::Tensor grouped_mm(const Ts& in) {
  const at::Tensor &x = in[0], &w = in[1];
  at::Tensor offsets = in[2].to(at::kLong).contiguous();
  int64_t rows = x.size(0), groups = w.size(0);
  at::Tensor positions = at::arange(rows, at::TensorOptions().dtype(at::kLong));
  at::Tensor group = (positions.unsqueeze(1) >= offsets.unsqueeze(0)).sum(1);
  at::Tensor out = at::zeros({rows, w.size(2)}, x.options());
  for (int64_t g = 0; g < groups; ++g) {
    at::Tensor members = at::nonzero(group == g).squeeze(1);
    if (members.numel() == 0) continue;
    at::Tensor rows_in = x.index_select(0, members);
    out.index_copy_(0, members, pytorch2() ? product(rows_in, w[g]) : at::mm(rows_in, w[g]));
  }
  return out;
}

c10::optional<at::Scalar> opt_scalar(const Attributes& a, const std::string& name) {
  if (!has_attr(a, name)) return c10::nullopt;
  return number_scalar(a.at(name));
}

const std::map<std::string, Fn, std::less<>>& table() {
  static const std::map<std::string, Fn, std::less<>> fns = [] {
    std::map<std::string, Fn, std::less<>> m;
    auto one = [&m](const std::string& name, std::function<at::Tensor(const Ts&, const Attributes&)> f) {
      m.emplace(name, [f = std::move(f)](const Ts& in, const Attributes& a) { return Ts{f(in, a)}; });
    };
    // elementwise
    one("add", [](const Ts& x, const Attributes&) { return at::add(x[0], x[1]); });
    one("sub", [](const Ts& x, const Attributes&) { return at::sub(x[0], x[1]); });
    one("mul", [](const Ts& x, const Attributes&) { return at::mul(x[0], x[1]); });
    one("div", [](const Ts& x, const Attributes&) { return at::div(x[0], x[1]); });
    one("pow", [](const Ts& x, const Attributes&) {
      // `x ** 2` is pow.Tensor_Scalar (with its fast paths), `2 ** x` pow.Scalar.
      if (is_wrapped(x[1])) return at::pow(x[0], x[1].item());
      if (is_wrapped(x[0])) return at::pow(x[0].item(), x[1]);
      return at::pow(x[0], x[1]);
    });
    one("neg", [](const Ts& x, const Attributes&) { return at::neg(x[0]); });
    one("sqrt", [](const Ts& x, const Attributes&) { return at::sqrt(x[0]); });
    one("rsqrt", [](const Ts& x, const Attributes&) { return at::rsqrt(x[0]); });
    one("exp", [](const Ts& x, const Attributes&) { return at::exp(x[0]); });
    one("log", [](const Ts& x, const Attributes&) { return at::log(x[0]); });
    one("tanh", [](const Ts& x, const Attributes&) { return at::tanh(x[0]); });
    one("sigmoid", [](const Ts& x, const Attributes&) { return at::sigmoid(x[0]); });
    one("sin", [](const Ts& x, const Attributes&) { return at::sin(x[0]); });
    one("cos", [](const Ts& x, const Attributes&) { return at::cos(x[0]); });
    one("silu", [](const Ts& x, const Attributes&) { return at::silu(x[0]); });
    one("gelu", [](const Ts& x, const Attributes& a) { return at::gelu(x[0], attr_string(a, "approximate")); });
    one("relu", [](const Ts& x, const Attributes&) { return at::relu(x[0]); });
    one("erf", [](const Ts& x, const Attributes&) { return at::erf(x[0]); });
    one("abs", [](const Ts& x, const Attributes&) { return at::abs(x[0]); });
    one("reciprocal", [](const Ts& x, const Attributes&) { return at::reciprocal(x[0]); });
    one("square", [](const Ts& x, const Attributes&) { return at::square(x[0]); });
    one("eq", [](const Ts& x, const Attributes&) { return at::eq(x[0], x[1]); });
    one("ne", [](const Ts& x, const Attributes&) { return at::ne(x[0], x[1]); });
    one("lt", [](const Ts& x, const Attributes&) { return at::lt(x[0], x[1]); });
    one("le", [](const Ts& x, const Attributes&) { return at::le(x[0], x[1]); });
    one("gt", [](const Ts& x, const Attributes&) { return at::gt(x[0], x[1]); });
    one("ge", [](const Ts& x, const Attributes&) { return at::ge(x[0], x[1]); });
    one("logical_and", [](const Ts& x, const Attributes&) { return at::logical_and(x[0], x[1]); });
    one("logical_or", [](const Ts& x, const Attributes&) { return at::logical_or(x[0], x[1]); });
    one("logical_not", [](const Ts& x, const Attributes&) { return at::logical_not(x[0]); });
    one("clamp", [](const Ts& x, const Attributes& a) { return at::clamp(x[0], opt_scalar(a, "min"), opt_scalar(a, "max")); });
    one("floor_divide", [](const Ts& x, const Attributes&) { return at::div(x[0], x[1], "floor"); });
    // reductions
    one("sum", [](const Ts& x, const Attributes& a) {
      return at::sum(x[0], opt_dims(attr_opt_ints(a, "dim")), attr_bool(a, "keepdim"), opt_dtype(a, "dtype"));
    });
    one("mean", [](const Ts& x, const Attributes& a) {
      return at::mean(x[0], opt_dims(attr_opt_ints(a, "dim")), attr_bool(a, "keepdim"), opt_dtype(a, "dtype"));
    });
    one("amax", [](const Ts& x, const Attributes& a) { return at::amax(x[0], attr_ints(a, "dim"), attr_bool(a, "keepdim")); });
    one("amin", [](const Ts& x, const Attributes& a) { return at::amin(x[0], attr_ints(a, "dim"), attr_bool(a, "keepdim")); });
    one("argmax", [](const Ts& x, const Attributes& a) { return at::argmax(x[0], attr_int(a, "dim"), attr_bool(a, "keepdim")); });
    one("argmin", [](const Ts& x, const Attributes& a) { return at::argmin(x[0], attr_int(a, "dim"), attr_bool(a, "keepdim")); });
    one("softmax", [](const Ts& x, const Attributes& a) { return at::softmax(x[0], attr_int(a, "dim"), opt_dtype(a, "dtype")); });
    one("cumsum", [](const Ts& x, const Attributes& a) { return at::cumsum(x[0], attr_int(a, "dim"), opt_dtype(a, "dtype")); });
    one("log_softmax",
        [](const Ts& x, const Attributes& a) { return at::log_softmax(x[0], attr_int(a, "dim"), opt_dtype(a, "dtype")); });
    // linear algebra
    one("matmul", [](const Ts& x, const Attributes&) { return pytorch2() ? product(x[0], x[1]) : at::matmul(x[0], x[1]); });
    one("bmm", [](const Ts& x, const Attributes&) {
      if (pytorch2() && x[0].dim() == 3 && x[1].dim() == 3 && x[0].size(0) == x[1].size(0)) return product(x[0], x[1]);
      return at::bmm(x[0], x[1]);
    });
    one("linear", [](const Ts& x, const Attributes&) {
      c10::optional<at::Tensor> bias;
      if (x.size() == 3) bias = x[2];
      if (pytorch2() && x[0].dim() >= 1 && x[1].dim() == 2 && x[0].size(-1) == x[1].size(1)) return product(x[0], x[1].t(), bias);
      return at::linear(x[0], x[1], bias);
    });
    one("grouped_mm", [](const Ts& x, const Attributes&) { return grouped_mm(x); });
    // layout
    one("transpose", [](const Ts& x, const Attributes& a) { return at::transpose(x[0], attr_int(a, "dim0"), attr_int(a, "dim1")); });
    one("permute", [](const Ts& x, const Attributes& a) { return at::permute(x[0], attr_ints(a, "dims")); });
    one("reshape", [](const Ts& x, const Attributes& a) { return at::reshape(x[0], attr_ints(a, "shape")); });
    one("flatten", [](const Ts& x, const Attributes& a) {
      return at::flatten(x[0], attr_int(a, "start_dim"), attr_int(a, "end_dim"));
    });
    one("unsqueeze", [](const Ts& x, const Attributes& a) { return at::unsqueeze(x[0], attr_int(a, "dim")); });
    one("squeeze", [](const Ts& x, const Attributes& a) {
      if (auto d = attr_opt_int(a, "dim")) return at::squeeze(x[0], *d);
      return at::squeeze(x[0]);
    });
    one("expand", [](const Ts& x, const Attributes& a) { return x[0].expand(attr_ints(a, "shape")); });
    one("repeat", [](const Ts& x, const Attributes& a) { return x[0].repeat(attr_ints(a, "repeats")); });
    one("repeat_interleave", [](const Ts& x, const Attributes& a) {
      return at::repeat_interleave(x[0], attr_int(a, "repeats"), opt_int(a, "dim"));
    });
    one("cat", [](const Ts& x, const Attributes& a) { return at::cat(x, attr_int(a, "dim")); });
    one("stack", [](const Ts& x, const Attributes& a) { return at::stack(x, attr_int(a, "dim")); });
    m.emplace("split", [](const Ts& x, const Attributes& a) {
      return at::split(x[0], attr_int(a, "split_size"), attr_int(a, "dim"));
    });
    m.emplace("chunk", [](const Ts& x, const Attributes& a) { return at::chunk(x[0], attr_int(a, "chunks"), attr_int(a, "dim")); });
    one("slice", [](const Ts& x, const Attributes& a) {
      return at::slice(x[0], attr_int(a, "dim"), opt_int(a, "start"), opt_int(a, "end"), attr_int(a, "step"));
    });
    one("select", [](const Ts& x, const Attributes& a) { return at::select(x[0], attr_int(a, "dim"), attr_int(a, "index")); });
    one("index_select", [](const Ts& x, const Attributes& a) { return at::index_select(x[0], attr_int(a, "dim"), x[1]); });
    one("index_copy", [](const Ts& x, const Attributes& a) { return at::index_copy(x[0], attr_int(a, "dim"), x[1], x[2]); });
    one("getitem", [](const Ts& x, const Attributes& a) {
      int64_t n = static_cast<int64_t>(x.size()), i = attr_int(a, "index");
      if (i < -n || i >= n) throw ShapeError("getitem: index " + std::to_string(i) + " out of range for " + std::to_string(n) + " items");
      return x[i < 0 ? i + n : i];
    });
    // others
    one("embedding", [](const Ts& x, const Attributes&) { return at::embedding(x[0], x[1]); });
    one("where", [](const Ts& x, const Attributes&) { return at::where(x[0], x[1], x[2]); });
    one("masked_fill", [](const Ts& x, const Attributes& a) {
      return at::masked_fill(x[0], x[1], number_scalar(a.at("value")));
    });
    one("triu", [](const Ts& x, const Attributes& a) { return at::triu(x[0], attr_int(a, "diagonal")); });
    one("tril", [](const Ts& x, const Attributes& a) { return at::tril(x[0], attr_int(a, "diagonal")); });
    one("cast", [](const Ts& x, const Attributes& a) { return x[0].to(to_scalar_type(attr_dtype(a, "dtype"))); });
    one("zeros", [](const Ts&, const Attributes& a) {
      return at::zeros(attr_ints(a, "shape"), at::TensorOptions().dtype(to_scalar_type(attr_dtype(a, "dtype"))));
    });
    one("ones", [](const Ts&, const Attributes& a) {
      return at::ones(attr_ints(a, "shape"), at::TensorOptions().dtype(to_scalar_type(attr_dtype(a, "dtype"))));
    });
    one("full", [](const Ts&, const Attributes& a) {
      at::Scalar fill = number_scalar(a.at("fill_value"));
      at::TensorOptions options;
      if (auto d = attr_opt_dtype(a, "dtype")) options = options.dtype(to_scalar_type(*d));
      return at::full(attr_ints(a, "shape"), fill, options);
    });
    one("arange", [](const Ts&, const Attributes& a) {
      at::TensorOptions options;
      if (auto d = attr_opt_dtype(a, "dtype")) options = options.dtype(to_scalar_type(*d));
      return at::arange(number_scalar(a.at("start")), number_scalar(a.at("end")), number_scalar(a.at("step")), options);
    });
    one("layer_norm", [](const Ts& x, const Attributes& a) {
      // PyTorch2, bf16/f16: computed in f32 and rounded once, as PyTorch 2's kernel does.
      bool reduced = pytorch2() && is_reduced(x[0].scalar_type());
      auto wide = [&](const at::Tensor& t) { return reduced ? t.to(at::kFloat) : t; };
      c10::optional<at::Tensor> weight, bias;
      if (x.size() >= 2) weight = wide(x[1]);
      if (x.size() >= 3) bias = wide(x[2]);
      at::Tensor out = at::layer_norm(wide(x[0]), attr_ints(a, "normalized_shape"), weight, bias, attr_double(a, "eps"));
      return reduced ? out.to(x[0].scalar_type()) : out;
    });
    one("scaled_dot_product_attention", sdpa);
    one("contiguous", [](const Ts& x, const Attributes&) { return x[0].contiguous(); });
    one("clone", [](const Ts& x, const Attributes&) { return x[0].clone(); });
    one("detach", [](const Ts& x, const Attributes&) { return x[0].detach(); });
    m.emplace("topk", [](const Ts& x, const Attributes& a) {
      auto [values, indices] = at::topk(x[0], attr_int(a, "k"), attr_int(a, "dim"), attr_bool(a, "largest"), attr_bool(a, "sorted"));
      return Ts{values, indices};
    });
    m.emplace("sort", [](const Ts& x, const Attributes& a) {
      auto [values, indices] = at::sort(x[0], c10::optional<bool>(attr_bool(a, "stable")), attr_int(a, "dim"), attr_bool(a, "descending"));
      return Ts{values, indices};
    });
    one("histc", [](const Ts& x, const Attributes& a) {
      return at::histc(x[0], attr_int(a, "bins"), number_scalar(a.at("min")), number_scalar(a.at("max")));
    });
    return m;
  }();
  return fns;
}

}  // namespace

bool has_op(std::string_view name) { return table().find(name) != table().end(); }

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (const auto& [name, kernel] : table()) names.push_back(name);
  return names;
}

std::vector<Tensor> evaluate_op(std::string_view name, const std::vector<Tensor>& operands, const Attributes& attrs,
                                bool elementwise, Numerics numerics) {
  auto it = table().find(name);
  if (it == table().end()) throw std::invalid_argument("unknown op: " + std::string(name));
  Ts in;
  in.reserve(operands.size());
  bool all_wrapped = !operands.empty();
  for (const Tensor& t : operands) {
    in.push_back(unwrap(t));
    all_wrapped &= is_wrapped(in.back());
  }
  tls_numerics = numerics;
  // PyTorch 2's CPU kernels compute an elementwise op whose result is bf16 or f16 in f32
  // ("opmath": tensors widened, a python number taken as an f32) and round the result once;
  // libtorch 1.13's round in between for some (silu, rsqrt, gelu's tanh form, a bf16 times a
  // python float). Twin computes them the PyTorch 2 way under Numerics::PyTorch2.
  std::optional<at::ScalarType> round_to;
  if (numerics == Numerics::PyTorch2 && elementwise && !all_wrapped && !in.empty()) {
    at::ScalarType rt = in.size() == 2 ? at::result_type(in[0], in[1]) : in[0].scalar_type();
    if (is_reduced(rt)) {
      round_to = rt;
      for (at::Tensor& t : in)
        if (!is_wrapped(t) && at::isFloatingType(t.scalar_type())) t = t.to(at::kFloat);
    }
  }
  Ts out;
  try {
    out = it->second(in, attrs);
    if (round_to)
      for (at::Tensor& t : out)
        if (at::isFloatingType(t.scalar_type())) t = t.to(*round_to);
  } catch (const ShapeError&) {
    throw;
  } catch (const c10::Error& e) {
    throw ShapeError(std::string(name) + ": " + e.what_without_backtrace());
  } catch (const std::runtime_error& e) {  // some checks (reshape's infer_size) throw these
    throw ShapeError(std::string(name) + ": " + e.what());
  }
  std::vector<Tensor> result;
  result.reserve(out.size());
  for (at::Tensor& t : out) {
    // Arithmetic on python numbers only gives a python number (as constant folding does).
    if (elementwise && all_wrapped && t.dim() == 0 && !is_wrapped(t)) {
      t = t.clone();
      t.unsafeGetTensorImpl()->set_wrapped_number(true);
    }
    result.push_back(wrap(std::move(t)));
  }
  return result;
}

}  // namespace twin::ops::torch_backend
