// Evaluation through libtorch: results are PyTorch's own (same ATen functions, in the
// operands' dtypes); random inputs are reproducible and honor the ops' domains; distances
// are computed in float64.
#include "ops/op_spec.h"
#include "ops/tensor.h"

#include <doctest/doctest.h>

#include <cmath>
#include <set>

using namespace twin::ops;

namespace {

TensorType tt(DType d, std::vector<std::int64_t> s) {
  TensorType t;
  t.dtype = d;
  t.shape = std::move(s);
  return t;
}

Tensor eval1(std::string_view op, const std::vector<Tensor>& in, const Attributes& a = {}) {
  auto out = evaluate(op, in, a);
  REQUIRE(out.size() == 1);
  return out[0];
}

Tensor rnd(DType d, std::vector<std::int64_t> s, std::uint64_t seed,
           OperandDomain::Kind kind = OperandDomain::Kind::Any) {
  return random_tensor(tt(d, std::move(s)), OperandDomain{kind}, seed);
}

AttrValue I(std::int64_t v) { return AttrValue::of_int(v); }

// Rounds a double to the nearest bf16 (round to nearest even), as a double.
double round_bf16(double x) { return Tensor::from_doubles({x}, {1}, DType::BF16).to_doubles()[0]; }

}  // namespace

TEST_CASE("bf16 arithmetic stays bf16 and rounds each op's exact result once") {
  Tensor a = rnd(DType::BF16, {4, 5}, 1), b = rnd(DType::BF16, {4, 5}, 2);
  Tensor sum = eval1("add", {a, b});
  CHECK(sum.dtype() == DType::BF16);
  auto x = a.to_doubles(), y = b.to_doubles(), s = sum.to_doubles();
  for (std::size_t i = 0; i < s.size(); ++i) CHECK(s[i] == round_bf16(x[i] + y[i]));
  Tensor silu = eval1("silu", {a});
  CHECK(silu.type() == tt(DType::BF16, {4, 5}));
  // in bf16, a chain of ops is not the f32 chain rounded once
  Tensor chain_bf16 = eval1("mul", {eval1("exp", {a}), b});
  Tensor chain_f32 = eval1("mul", {eval1("exp", {a.to(DType::F32)}), b.to(DType::F32)});
  CHECK(chain_bf16.dtype() == DType::BF16);
  CHECK(max_abs_difference(chain_bf16, chain_f32) > 0.0);
  CHECK(max_abs_difference(chain_bf16, chain_f32.to(DType::BF16)) < 0.1);
}

TEST_CASE("python scalars do not promote tensors, zero-dim tensors of a higher category do") {
  Tensor x = rnd(DType::BF16, {3}, 3);
  CHECK(eval1("mul", {x, Tensor::python_scalar(2.5)}).dtype() == DType::BF16);
  CHECK(eval1("mul", {x, Tensor::scalar(2.5, DType::F64)}).dtype() == DType::BF16);
  Tensor ints = Tensor::from_doubles({1, 2, 3}, {3}, DType::I64);
  Tensor half = eval1("mul", {ints, Tensor::python_scalar(0.5)});
  CHECK(half.dtype() == DType::F32);
  CHECK(half.to_doubles() == std::vector<double>{0.5, 1.0, 1.5});
  CHECK(eval1("add", {ints, Tensor::python_scalar(2, true)}).dtype() == DType::I64);
  Tensor two = eval1("add", {Tensor::python_scalar(1, true), Tensor::python_scalar(1, true)});
  CHECK(two.type().python_scalar);
  CHECK(two.to_doubles() == std::vector<double>{2});
  CHECK(Tensor::python_scalar(1.5).type() == TensorType{DType::F32, {}, true});
}

TEST_CASE("pow with a python exponent squares exactly like x * x") {
  Tensor x = rnd(DType::F32, {6}, 4);
  Tensor squared = eval1("pow", {x, Tensor::python_scalar(2, true)});
  CHECK(l2_distance(squared, eval1("mul", {x, x})) == 0.0);
  Tensor root = eval1("pow", {rnd(DType::F32, {6}, 5, OperandDomain::Kind::Positive), Tensor::python_scalar(0.5)});
  CHECK(root.dtype() == DType::F32);
}

TEST_CASE("gelu's approximate attribute selects the erf or tanh form") {
  Tensor x = Tensor::from_doubles({-2, -0.5, 0, 0.5, 2}, {5}, DType::F64);
  Tensor exact = eval1("gelu", {x});
  Tensor tanh = eval1("gelu", {x}, {{"approximate", AttrValue{std::string("tanh")}}});
  auto e = exact.to_doubles(), t = tanh.to_doubles();
  for (std::size_t i = 0; i < e.size(); ++i) {
    double v = x.to_doubles()[i];
    CHECK(e[i] == doctest::Approx(0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))).epsilon(1e-12));
    CHECK(t[i] == doctest::Approx(0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))).epsilon(1e-12));
  }
  CHECK(max_abs_difference(exact, tanh) > 0.0);
  CHECK_THROWS_AS(evaluate("gelu", {x}, {{"approximate", AttrValue{std::string("fast")}}}), ShapeError);
}

TEST_CASE("softmax with dtype computes in that dtype; rows sum to one") {
  Tensor x = rnd(DType::BF16, {3, 7}, 6);
  Tensor p = eval1("softmax", {x}, {{"dim", I(-1)}, {"dtype", AttrValue{DType::F32}}});
  CHECK(p.type() == tt(DType::F32, {3, 7}));
  Tensor rows = eval1("sum", {p}, {{"dim", I(-1)}});
  for (double r : rows.to_doubles()) CHECK(r == doctest::Approx(1.0).epsilon(1e-6));
  Tensor logp = eval1("log_softmax", {x.to(DType::F64)}, {{"dim", I(1)}});
  CHECK(l2_distance(eval1("exp", {logp}), p) < 1e-5);
}

TEST_CASE("linear is x @ w^T + b, also on batched input") {
  Tensor x = rnd(DType::F64, {2, 3, 4}, 7), w = rnd(DType::F64, {5, 4}, 8), b = rnd(DType::F64, {5}, 9);
  Tensor y = eval1("linear", {x, w, b});
  CHECK(y.type() == tt(DType::F64, {2, 3, 5}));
  Tensor ref = eval1("add", {eval1("matmul", {x, eval1("transpose", {w}, {{"dim0", I(0)}, {"dim1", I(1)}})}), b});
  CHECK(l2_distance(y, ref) < 1e-12);
  CHECK(eval1("linear", {x, w}).shape() == std::vector<std::int64_t>{2, 3, 5});
  CHECK_THROWS_AS(evaluate("linear", {x, rnd(DType::F64, {5, 3}, 1)}, {}), ShapeError);
}

TEST_CASE("scaled_dot_product_attention is softmax(q k^T * scale + mask) v") {
  Tensor q = rnd(DType::F64, {1, 2, 3, 4}, 10), k = rnd(DType::F64, {1, 2, 5, 4}, 11), v = rnd(DType::F64, {1, 2, 5, 6}, 12);
  auto kt = eval1("transpose", {k}, {{"dim0", I(-2)}, {"dim1", I(-1)}});
  auto manual = [&](double scale) {
    auto scores = eval1("mul", {eval1("matmul", {q, kt}), Tensor::python_scalar(scale)});
    return eval1("matmul", {eval1("softmax", {scores}, {{"dim", I(-1)}}), v});
  };
  Tensor out = eval1("scaled_dot_product_attention", {q, k, v});
  CHECK(out.type() == tt(DType::F64, {1, 2, 3, 6}));
  CHECK(l2_distance(out, manual(0.5)) < 1e-12);  // 1 / sqrt(4)
  Tensor scaled = eval1("scaled_dot_product_attention", {q, k, v}, {{"scale", AttrValue{twin::Rational(1, 3)}}});
  CHECK(l2_distance(scaled, manual(1.0 / 3)) < 1e-12);
  // is_causal is the lower-triangular boolean mask
  Tensor causal = eval1("scaled_dot_product_attention", {q, k, v}, {{"is_causal", AttrValue{true}}});
  Tensor mask = eval1("tril", {eval1("ones", {}, {{"shape", AttrValue{std::vector<std::int64_t>{3, 5}}}, {"dtype", AttrValue{DType::Bool}}})});
  Tensor masked = eval1("scaled_dot_product_attention", {q, k, v, mask});
  CHECK(l2_distance(causal, masked) < 1e-12);
  CHECK(l2_distance(causal, out) > 1e-3);
}

TEST_CASE("split and chunk return several tensors; getitem picks one") {
  Tensor x = rnd(DType::F32, {7, 2}, 13);
  auto parts = evaluate("split", {x}, {{"split_size", I(3)}});
  REQUIRE(parts.size() == 3);
  CHECK(parts[2].shape() == std::vector<std::int64_t>{1, 2});
  auto chunks = evaluate("chunk", {x}, {{"chunks", I(2)}, {"dim", I(0)}});
  REQUIRE(chunks.size() == 2);
  CHECK(chunks[0].shape() == std::vector<std::int64_t>{4, 2});
  Tensor second = eval1("getitem", parts, {{"index", I(-2)}});
  CHECK(l2_distance(second, parts[1]) == 0.0);
  Tensor joined = eval1("cat", parts, {{"dim", I(0)}});
  CHECK(l2_distance(joined, x) == 0.0);
}

TEST_CASE("layout ops move values as PyTorch does") {
  Tensor x = Tensor::from_doubles({0, 1, 2, 3, 4, 5}, {2, 3}, DType::F32);
  CHECK(eval1("transpose", {x}, {{"dim0", I(0)}, {"dim1", I(1)}}).to_doubles() == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK(eval1("slice", {x}, {{"dim", I(1)}, {"start", I(1)}, {"step", I(1)}}).to_doubles() == std::vector<double>{1, 2, 4, 5});
  CHECK(eval1("select", {x}, {{"dim", I(0)}, {"index", I(-1)}}).to_doubles() == std::vector<double>{3, 4, 5});
  CHECK(eval1("repeat_interleave", {x}, {{"repeats", I(2)}, {"dim", I(0)}}).shape() == std::vector<std::int64_t>{4, 3});
  CHECK(eval1("repeat_interleave", {x}, {{"repeats", I(2)}}).to_doubles() ==
        std::vector<double>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5});
  Tensor index = Tensor::from_doubles({2, 0}, {2}, DType::I64);
  CHECK(eval1("index_select", {x, index}, {{"dim", I(1)}}).to_doubles() == std::vector<double>{2, 0, 5, 3});
  CHECK(eval1("embedding", {x, Tensor::from_doubles({1, 1, 0}, {3}, DType::I64)}).to_doubles() ==
        std::vector<double>{3, 4, 5, 3, 4, 5, 0, 1, 2});
  CHECK(eval1("triu", {x}, {{"diagonal", I(1)}}).to_doubles() == std::vector<double>{0, 1, 2, 0, 0, 5});
  Tensor mask = Tensor::from_doubles({1, 0, 1}, {3}, DType::Bool);
  Tensor filled = eval1("masked_fill", {x, mask}, {{"value", AttrValue{std::string("-inf")}}});
  CHECK(std::isinf(filled.to_doubles()[0]));
  CHECK(filled.to_doubles()[1] == 1);
  CHECK(eval1("where", {mask, x, Tensor::python_scalar(-1, true)}).to_doubles() == std::vector<double>{0, -1, 2, 3, -1, 5});
  CHECK(eval1("stack", {x, x}, {{"dim", I(-1)}}).shape() == std::vector<std::int64_t>{2, 3, 2});
  CHECK(eval1("expand", {eval1("unsqueeze", {x}, {{"dim", I(0)}})}, {{"shape", AttrValue{std::vector<std::int64_t>{4, -1, -1}}}})
            .shape() == std::vector<std::int64_t>{4, 2, 3});
}

TEST_CASE("constructors: zeros, ones, full and arange") {
  CHECK(eval1("arange", {}, {{"end", I(5)}}).to_doubles() == std::vector<double>{0, 1, 2, 3, 4});
  CHECK(eval1("arange", {}, {{"end", I(5)}}).dtype() == DType::I64);
  CHECK(eval1("arange", {}, {{"start", I(1)}, {"end", AttrValue{twin::Rational(5, 2)}}, {"step", AttrValue{twin::Rational(1, 2)}}})
            .to_doubles() == std::vector<double>{1, 1.5, 2});
  Tensor full = eval1("full", {}, {{"shape", AttrValue{std::vector<std::int64_t>{2}}}, {"fill_value", AttrValue{twin::Rational(3, 4)}}});
  CHECK(full.type() == tt(DType::F32, {2}));
  CHECK(full.to_doubles() == std::vector<double>{0.75, 0.75});
  CHECK(eval1("ones", {}, {{"shape", AttrValue{std::vector<std::int64_t>{2, 2}}}, {"dtype", AttrValue{DType::BF16}}}).type() ==
        tt(DType::BF16, {2, 2}));
  CHECK(eval1("cast", {full}, {{"dtype", AttrValue{DType::I64}}}).to_doubles() == std::vector<double>{0, 0});
}

TEST_CASE("layer_norm normalizes over normalized_shape with eps") {
  Tensor x = rnd(DType::F64, {3, 8}, 14);
  Tensor y = eval1("layer_norm", {x}, {{"normalized_shape", AttrValue{std::vector<std::int64_t>{8}}}});
  Tensor mean = eval1("mean", {y}, {{"dim", I(-1)}});
  for (double m : mean.to_doubles()) CHECK(std::abs(m) < 1e-12);
  Tensor w = rnd(DType::F64, {8}, 15), b = rnd(DType::F64, {8}, 16);
  Tensor affine = eval1("layer_norm", {x, w, b}, {{"normalized_shape", AttrValue{std::vector<std::int64_t>{8}}}});
  CHECK(l2_distance(affine, eval1("add", {eval1("mul", {y, w}), b})) < 1e-12);
}

TEST_CASE("unknown ops and bad operand counts are errors") {
  Tensor x = rnd(DType::F32, {2}, 1);
  CHECK_THROWS_AS(evaluate("frobnicate", {x}, {}), std::invalid_argument);
  CHECK_THROWS_AS(evaluate("add", {x}, {}), ShapeError);
  CHECK_THROWS_AS(evaluate("reshape", {x}, {{"shape", AttrValue{std::vector<std::int64_t>{3}}}}), ShapeError);
  CHECK_THROWS_AS(evaluate("transpose", {x}, {{"dim0", I(0)}}), ShapeError);  // dim1 missing
}

TEST_CASE("random tensors are reproducible from their seed") {
  for (DType d : {DType::F32, DType::BF16, DType::I64, DType::Bool}) {
    Tensor a = rnd(d, {3, 4}, 42), b = rnd(d, {3, 4}, 42), c = rnd(d, {3, 4}, 43);
    CHECK(a.type() == tt(d, {3, 4}));
    CHECK(a.to_doubles() == b.to_doubles());
    CHECK(a.to_doubles() != c.to_doubles());
  }
}

TEST_CASE("random tensors honor domains: positive, nonzero, index bounds and boolean masks") {
  using K = OperandDomain::Kind;
  for (double v : rnd(DType::BF16, {1000}, 1, K::Positive).to_doubles()) CHECK((v >= 0.09 && v <= 4.01));
  for (double v : rnd(DType::I32, {200}, 2, K::Positive).to_doubles()) CHECK(v >= 1);
  auto nonzero = rnd(DType::F32, {1000}, 3, K::NonZero).to_doubles();
  bool negative = false, positive = false;
  for (double v : nonzero) {
    CHECK(std::abs(v) >= 0.5);
    negative |= v < 0;
    positive |= v > 0;
  }
  CHECK((negative && positive));
  Tensor idx = random_tensor(tt(DType::I64, {500}), OperandDomain{K::Index}, 4, 7);
  CHECK(idx.dtype() == DType::I64);
  std::set<double> seen;
  for (double v : idx.to_doubles()) {
    CHECK((v >= 0 && v < 7 && v == std::floor(v)));
    seen.insert(v);
  }
  CHECK(seen.size() == 7);
  CHECK_THROWS_AS(random_tensor(tt(DType::I64, {3}), OperandDomain{K::Index}, 4, 0), std::invalid_argument);
  Tensor mask = rnd(DType::Bool, {400}, 5, K::BoolMask);
  CHECK(mask.dtype() == DType::Bool);
  double ones = 0;
  for (double v : mask.to_doubles()) ones += v;
  CHECK((ones > 100 && ones < 300));
  auto any = rnd(DType::F64, {2000}, 6).to_doubles();
  double mean = 0;
  for (double v : any) mean += v / any.size();
  CHECK(std::abs(mean) < 0.1);
  // operands drawn through an op's own domains fit its evaluation
  const OpSpec* embedding = find_op("embedding");
  std::vector<TensorType> types{tt(DType::BF16, {11, 4}), tt(DType::I64, {2, 6})};
  Tensor w = random_tensor(types[0], embedding->domains[0], 7);
  Tensor ids = random_tensor(types[1], embedding->domains[1], 8, index_bound(*embedding, 1, types, {}));
  CHECK(eval1("embedding", {w, ids}).type() == tt(DType::BF16, {2, 6, 4}));
}

TEST_CASE("distances and norms are computed in float64") {
  Tensor a = Tensor::from_doubles({3, 0}, {2}, DType::BF16), b = Tensor::from_doubles({0, 4}, {2}, DType::F32);
  CHECK(l2_distance(a, b) == 5.0);
  CHECK(l2_norm(b) == 4.0);
  CHECK(max_abs_difference(a, b) == 4.0);
  CHECK_THROWS_AS(l2_distance(a, Tensor::from_doubles({1}, {1}, DType::F32)), std::invalid_argument);
  Tensor big = Tensor::from_doubles({1e30, 1e30}, {2}, DType::F32);
  CHECK(l2_norm(big) == doctest::Approx(std::sqrt(2.0) * 1e30));  // no f32 overflow
  CHECK(Tensor::from_doubles({1, 2}, {2}, DType::F32).to_string() == "f32[2] [1, 2]");
  CHECK_THROWS_AS(Tensor::from_doubles({1, 2}, {3}, DType::F32), std::invalid_argument);
}

TEST_CASE("full with finfo(f32).min fills with that float, not an overflowed integer") {
  using namespace twin;
  ops::Attributes a;
  a["shape"] = ops::AttrValue{std::vector<std::int64_t>{2}};
  a["fill_value"] = ops::AttrValue{Rational(-3.4028234663852886e+38)};
  a["dtype"] = ops::AttrValue{ops::DType::F32};
  auto out = ops::evaluate("full", {}, a);
  REQUIRE(out.size() == 1);
  auto values = out[0].to_doubles();
  CHECK(values[0] == doctest::Approx(-3.4028234663852886e+38));
}
