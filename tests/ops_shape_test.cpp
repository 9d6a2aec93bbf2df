// Shape and dtype inference of every op, judged against libtorch itself: for many random
// shapes, dtypes and attributes per op, `infer` must give exactly the type of what
// `evaluate` (libtorch) produces, and must throw ShapeError exactly when libtorch rejects.
#include "ops/op_spec.h"
#include "ops/tensor.h"

#include <doctest/doctest.h>

#include <functional>
#include <random>
#include <set>

using namespace twin::ops;

namespace {

using Shape = std::vector<std::int64_t>;

struct Case {
  std::vector<TensorType> operands;
  Attributes attrs;
};

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(std::uint64_t seed) : rng(seed) {}
  std::int64_t uniform(std::int64_t lo, std::int64_t hi) {  // inclusive
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng); }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(uniform(0, static_cast<std::int64_t>(v.size()) - 1))];
  }
  Shape shape(std::int64_t min_rank = 0, std::int64_t max_rank = 4) {
    Shape s(static_cast<std::size_t>(uniform(min_rank, max_rank)));
    for (auto& d : s) d = uniform(1, 4);
    return s;
  }
  // A shape that broadcasts with `s` (most of the time) or a random one.
  Shape broadcastable(const Shape& s) {
    if (chance(0.15)) return shape();
    Shape out(s.begin() + uniform(0, static_cast<std::int64_t>(s.size())), s.end());
    for (auto& d : out)
      if (chance(0.3)) d = 1;
    if (chance(0.2)) out.insert(out.begin(), uniform(1, 3));
    return out;
  }
  std::int64_t dim(std::int64_t rank) { return uniform(-rank - 1, rank); }  // sometimes out of range
};

TensorType tt(DType d, Shape s, bool python_scalar = false) {
  TensorType t;
  t.dtype = d;
  t.shape = std::move(s);
  t.python_scalar = python_scalar;
  return t;
}

AttrValue I(std::int64_t v) { return AttrValue::of_int(v); }
AttrValue Is(Shape v) { return AttrValue{std::move(v)}; }
AttrValue B(bool b) { return AttrValue{b}; }

const std::vector<DType> kFloats = {DType::F32, DType::BF16, DType::F64};
const std::vector<DType> kAll = {DType::F32, DType::BF16, DType::F64, DType::I64, DType::I32, DType::Bool};
const std::vector<DType> kNumbers = {DType::F32, DType::BF16, DType::F64, DType::I64, DType::I32};

// Runs one case through infer and evaluate and checks they agree. Returns whether libtorch
// accepted it (so each op's generator can be checked to exercise both outcomes).
bool check_case(const std::string& op, const Case& c, std::uint64_t seed) {
  const OpSpec* spec = find_op(op);
  REQUIRE(spec != nullptr);
  std::string context = op + "(";
  for (const auto& t : c.operands) context += t.to_string() + (t.python_scalar ? "(py) " : " ");
  for (const auto& [k, v] : c.attrs) context += k + "=" + v.to_string() + " ";
  context += ")";
  INFO(context);

  std::optional<std::vector<TensorType>> inferred;
  std::string infer_error;
  try {
    inferred = spec->infer(c.operands, c.attrs);
  } catch (const ShapeError& e) {
    infer_error = e.what();
  }

  std::vector<Tensor> inputs;
  for (std::size_t i = 0; i < c.operands.size(); ++i) {
    OperandDomain domain = i < spec->domains.size() ? spec->domains[i] : OperandDomain{};
    std::int64_t bound = 0;
    if (domain.kind == OperandDomain::Kind::Index) {
      try {
        bound = index_bound(*spec, i, c.operands, c.attrs);
      } catch (const ShapeError&) {
      }
      if (bound <= 0) bound = 1;
    }
    if (domain.kind == OperandDomain::Kind::BoolMask && c.operands[i].dtype != DType::Bool) domain = OperandDomain{};
    inputs.push_back(random_tensor(c.operands[i], domain, seed + i, bound));
    CHECK(inputs.back().type() == c.operands[i]);
  }
  std::vector<Tensor> outputs;
  std::string torch_error;
  bool torch_ok = true;
  try {
    outputs = evaluate(op, inputs, c.attrs);
  } catch (const ShapeError& e) {
    torch_ok = false;
    torch_error = e.what();
  }
  INFO("infer: " << (inferred ? "ok" : infer_error) << "; libtorch: " << (torch_ok ? "ok" : torch_error));
  CHECK(inferred.has_value() == torch_ok);
  if (inferred && torch_ok) {
    REQUIRE(inferred->size() == outputs.size());
    for (std::size_t i = 0; i < outputs.size(); ++i) CHECK((*inferred)[i] == outputs[i].type());
  }
  return torch_ok;
}

// Runs `n` random cases of `op`; both acceptance and rejection must occur (unless the
// generator only makes valid cases).
void oracle(const std::string& op, const std::function<Case(Gen&)>& make, int n = 80, bool expect_errors = true) {
  Gen gen(std::hash<std::string>{}(op) % 100000 + 17);
  int accepted = 0;
  for (int i = 0; i < n; ++i) accepted += check_case(op, make(gen), 1000 + i);
  CHECK_MESSAGE(accepted > n / 5, op << ": too few valid cases");
  if (expect_errors) CHECK_MESSAGE(accepted < n, op << ": no rejected cases");
}

Case unary_case(Gen& g, const std::vector<DType>& dtypes) { return Case{{tt(g.pick(dtypes), g.shape())}, {}}; }

}  // namespace

TEST_CASE("every op of the vocabulary is registered, with a unique name") {
  std::set<std::string> names;
  for (const OpSpec& s : all_ops()) {
    CHECK(names.insert(s.name).second);
    CHECK(static_cast<bool>(s.infer));
    CHECK(find_op(s.name) == &s);
  }
  for (const char* name :
       {"add", "sub", "mul", "div", "neg", "pow", "sqrt", "rsqrt", "exp", "log", "tanh", "sigmoid", "silu", "gelu",
        "relu", "sin", "cos", "sum", "mean", "amax", "softmax", "log_softmax", "matmul", "bmm", "linear", "transpose",
        "permute", "reshape", "unsqueeze", "squeeze", "expand", "repeat", "repeat_interleave", "cat", "stack", "split",
        "chunk", "slice", "select", "index_select", "getitem", "embedding", "where", "masked_fill", "triu", "tril",
        "cast", "zeros", "ones", "full", "arange", "layer_norm", "scaled_dot_product_attention", "contiguous", "clone",
        "detach"})
    CHECK_MESSAGE(names.count(name) == 1, name);
  CHECK(find_op("no_such_op") == nullptr);
}

TEST_CASE("binary elementwise ops broadcast and promote as libtorch does") {
  for (std::string op : {"add", "sub", "mul", "div"}) {
    oracle(op, [](Gen& g) {
      Shape a = g.shape();
      Case c{{tt(g.pick(kAll), a), tt(g.pick(kAll), g.broadcastable(a))}, {}};
      // python scalars on either side: they do not promote within their category
      if (g.chance(0.2)) c.operands[1] = tt(g.chance(0.5) ? DType::F32 : DType::I64, {}, true);
      else if (g.chance(0.1)) c.operands[0] = tt(g.chance(0.5) ? DType::F32 : DType::I64, {}, true);
      return c;
    }, 120);
  }
  oracle("pow", [](Gen& g) {
    Shape a = g.shape();
    Case c{{tt(g.pick(kFloats), a), tt(g.pick(kFloats), g.broadcastable(a))}, {}};
    if (g.chance(0.3)) c.operands[1] = tt(g.chance(0.5) ? DType::F32 : DType::I64, {}, true);
    return c;
  });
}

TEST_CASE("a python scalar does not promote a tensor of its category; a zero-dim tensor neither") {
  const OpSpec* mul = find_op("mul");
  CHECK(mul->infer({tt(DType::BF16, {2, 3}), tt(DType::F32, {}, true)}, {})[0] == tt(DType::BF16, {2, 3}));
  CHECK(mul->infer({tt(DType::BF16, {2, 3}), tt(DType::F64, {})}, {})[0] == tt(DType::BF16, {2, 3}));
  CHECK(mul->infer({tt(DType::I64, {2}), tt(DType::F32, {}, true)}, {})[0] == tt(DType::F32, {2}));
  CHECK(mul->infer({tt(DType::I32, {2}), tt(DType::I64, {}, true)}, {})[0] == tt(DType::I32, {2}));
  CHECK(mul->infer({tt(DType::BF16, {2}), tt(DType::F32, {2})}, {})[0] == tt(DType::F32, {2}));
  CHECK(mul->infer({tt(DType::F32, {}, true), tt(DType::I64, {}, true)}, {})[0] == tt(DType::F32, {}, true));
  CHECK(find_op("div")->infer({tt(DType::I64, {3}), tt(DType::I64, {3})}, {})[0] == tt(DType::F32, {3}));
  CHECK_THROWS_AS(mul->infer({tt(DType::F32, {2, 3}), tt(DType::F32, {4})}, {}), ShapeError);
}

TEST_CASE("unary elementwise ops keep the shape; floating ops turn integers into f32") {
  for (std::string op : {"neg", "sqrt", "rsqrt", "exp", "log", "tanh", "sigmoid", "sin", "cos", "silu", "relu", "erf",
                         "abs", "reciprocal", "square"}) {
    bool errors = op == "neg" || op == "silu" || op == "relu" || op == "abs";
    oracle(op, [](Gen& g) { return unary_case(g, kAll); }, 40, errors);
  }
  oracle("gelu", [](Gen& g) {
    Case c = unary_case(g, kAll);
    if (g.chance(0.7)) c.attrs["approximate"] = AttrValue{g.pick(std::vector<std::string>{"none", "tanh", "erf"})};
    return c;
  });
}

TEST_CASE("sum, mean and amax reduce the given dims (all by default), keepdim keeps them as 1") {
  for (std::string op : {"sum", "mean", "amax"}) {
    oracle(op, [op](Gen& g) {
      Case c = unary_case(g, kNumbers);
      std::int64_t r = c.operands[0].rank();
      int form = static_cast<int>(g.uniform(0, 3));
      if (form == 1) c.attrs["dim"] = I(g.dim(r));
      if (form == 2) c.attrs["dim"] = Is({g.dim(r)});
      if (form == 3) c.attrs["dim"] = Is({g.uniform(-r, std::max<std::int64_t>(r - 1, 0)), g.uniform(-r, std::max<std::int64_t>(r - 1, 0))});
      if (g.chance(0.5)) c.attrs["keepdim"] = B(g.chance(0.5));
      if (op != "amax" && g.chance(0.2)) c.attrs["dtype"] = AttrValue{g.pick(kNumbers)};
      return c;
    }, 120);
  }
}

TEST_CASE("softmax and log_softmax keep the shape and compute in dtype when given") {
  for (std::string op : {"softmax", "log_softmax"}) {
    oracle(op, [](Gen& g) {
      Case c = unary_case(g, kNumbers);
      c.attrs["dim"] = I(g.dim(c.operands[0].rank()));
      if (g.chance(0.3)) c.attrs["dtype"] = AttrValue{g.pick(kNumbers)};
      return c;
    });
  }
}

TEST_CASE("matmul follows torch.matmul's rank rules with broadcast batch dims") {
  oracle("matmul", [](Gen& g) {
    DType d = g.chance(0.9) ? g.pick(kFloats) : DType::I64;
    Shape a = g.shape(g.chance(0.05) ? 0 : 1, 4);
    Shape b = g.shape(1, 4);
    if (!a.empty() && g.chance(0.8)) {
      // make the inner dims agree and the batch dims broadcast
      if (b.size() == 1) b[0] = a.back();
      else b[b.size() - 2] = a.back();
      if (a.size() > 2 && b.size() > 2) {
        Shape batch(a.begin(), a.end() - 2);
        Shape bb = g.broadcastable(batch);
        Shape nb = bb;
        nb.push_back(b[b.size() - 2]);
        nb.push_back(b.back());
        b = nb;
      }
    }
    return Case{{tt(d, a), tt(g.chance(0.9) ? d : g.pick(kFloats), b)}, {}};
  }, 150);
  oracle("bmm", [](Gen& g) {
    DType d = g.pick(kFloats);
    std::int64_t batch = g.uniform(1, 3), n = g.uniform(1, 4), k = g.uniform(1, 4), m = g.uniform(1, 4);
    Shape a{batch, n, k}, b{g.chance(0.85) ? batch : g.uniform(1, 3), g.chance(0.85) ? k : g.uniform(1, 4), m};
    if (g.chance(0.1)) a.pop_back();
    return Case{{tt(d, a), tt(d, b)}, {}};
  });
}

TEST_CASE("linear maps the last dim from in to out features, with an optional bias") {
  oracle("linear", [](Gen& g) {
    DType d = g.pick(kFloats);
    Shape x = g.shape(1, 4);
    std::int64_t out = g.uniform(1, 5);
    Shape w{out, g.chance(0.85) ? x.back() : g.uniform(1, 4)};
    Case c{{tt(d, x), tt(d, w)}, {}};
    if (g.chance(0.5)) c.operands.push_back(tt(d, {g.chance(0.85) ? out : out + 1}));
    return c;
  });
}

TEST_CASE("transpose, permute, unsqueeze and squeeze move dims; negative dims count from the end") {
  oracle("transpose", [](Gen& g) {
    Case c = unary_case(g, kAll);
    std::int64_t r = c.operands[0].rank();
    c.attrs = {{"dim0", I(g.dim(r))}, {"dim1", I(g.dim(r))}};
    return c;
  });
  oracle("permute", [](Gen& g) {
    Case c = unary_case(g, kAll);
    std::int64_t r = c.operands[0].rank();
    Shape dims(r);
    for (std::int64_t i = 0; i < r; ++i) dims[i] = i;
    std::shuffle(dims.begin(), dims.end(), g.rng);
    for (auto& d : dims)
      if (g.chance(0.2)) d -= r;
    if (g.chance(0.1)) dims.push_back(0);
    if (g.chance(0.1) && !dims.empty()) dims[0] = dims.back();
    c.attrs["dims"] = Is(dims);
    return c;
  });
  oracle("unsqueeze", [](Gen& g) {
    Case c = unary_case(g, kAll);
    c.attrs["dim"] = I(g.uniform(-c.operands[0].rank() - 2, c.operands[0].rank() + 1));
    return c;
  });
  oracle("squeeze", [](Gen& g) {
    Case c = unary_case(g, kAll);
    for (auto& d : c.operands[0].shape)
      if (g.chance(0.4)) d = 1;
    if (g.chance(0.7)) c.attrs["dim"] = I(g.dim(c.operands[0].rank()));
    return c;
  });
}

TEST_CASE("flatten merges the dims from start_dim to end_dim (all by default); a scalar becomes [1]") {
  oracle("flatten", [](Gen& g) {
    Case c = unary_case(g, kAll);
    std::int64_t r = std::max<std::int64_t>(c.operands[0].rank(), 1);
    if (g.chance(0.7)) c.attrs["start_dim"] = I(g.uniform(-r - 1, r));
    if (g.chance(0.7)) c.attrs["end_dim"] = I(g.uniform(-r - 1, r));
    return c;
  }, 200, true);
}

TEST_CASE("reshape infers one -1 dim and keeps the element count") {
  oracle("reshape", [](Gen& g) {
    Case c = unary_case(g, kAll);
    std::int64_t n = c.operands[0].numel();
    Shape target;
    for (std::int64_t f = 2; f <= n; ++f)
      while (n % f == 0 && g.chance(0.7)) {
        target.push_back(f);
        n /= f;
      }
    if (n > 1) target.push_back(n);
    std::shuffle(target.begin(), target.end(), g.rng);
    if (g.chance(0.3)) target.insert(target.begin() + g.uniform(0, static_cast<std::int64_t>(target.size())), 1);
    if (!target.empty() && g.chance(0.4)) target[g.uniform(0, static_cast<std::int64_t>(target.size()) - 1)] = -1;
    if (g.chance(0.1)) target.push_back(-1);
    if (g.chance(0.1)) target.push_back(3);
    if (g.chance(0.05)) target.push_back(-2);
    c.attrs["shape"] = Is(target);
    return c;
  });
}

TEST_CASE("expand grows size-1 dims and adds leading dims; -1 keeps a dim") {
  oracle("expand", [](Gen& g) {
    Case c = unary_case(g, kAll);
    Shape s = c.operands[0].shape;
    for (auto& d : s)
      if (g.chance(0.4)) d = 1;
    c.operands[0].shape = s;
    Shape target = s;
    for (auto& d : target) {
      if (d == 1 && g.chance(0.6)) d = g.uniform(1, 4);
      else if (g.chance(0.2)) d = -1;
      else if (g.chance(0.1)) d = d + 1;
    }
    std::int64_t lead = g.uniform(0, 2);
    for (std::int64_t i = 0; i < lead; ++i) target.insert(target.begin(), g.chance(0.1) ? -1 : g.uniform(1, 3));
    if (g.chance(0.1) && !target.empty()) target.erase(target.begin());
    c.attrs["shape"] = Is(target);
    return c;
  });
}

TEST_CASE("repeat tiles the tensor; repeat_interleave repeats elements along a dim or flattened") {
  oracle("repeat", [](Gen& g) {
    Case c = unary_case(g, kAll);
    Shape reps(static_cast<std::size_t>(std::max<std::int64_t>(0, c.operands[0].rank() + g.uniform(-1, 2))));
    for (auto& r : reps) r = g.uniform(g.chance(0.05) ? -1 : 1, 3);
    c.attrs["repeats"] = Is(reps);
    return c;
  });
  oracle("repeat_interleave", [](Gen& g) {
    Case c{{tt(g.pick(kAll), g.shape(1, 4))}, {}};
    c.attrs["repeats"] = I(g.uniform(g.chance(0.1) ? -1 : 1, 3));
    if (g.chance(0.7)) c.attrs["dim"] = I(g.dim(c.operands[0].rank()));
    return c;
  });
}

TEST_CASE("cat joins along a dim and promotes; stack adds a new dim") {
  oracle("cat", [](Gen& g) {
    Shape base = g.shape(g.chance(0.05) ? 0 : 1, 4);
    std::int64_t r = static_cast<std::int64_t>(base.size());
    std::int64_t dim = g.dim(r);
    Case c;
    std::int64_t n = g.uniform(1, 3);
    for (std::int64_t i = 0; i < n; ++i) {
      Shape s = base;
      if (r > 0 && dim >= -r && dim < r) s[dim < 0 ? dim + r : dim] = g.uniform(1, 4);
      if (g.chance(0.08) && !s.empty()) s[0] += 1;
      c.operands.push_back(tt(g.chance(0.8) ? DType::F32 : g.pick(kAll), s));
    }
    c.attrs["dim"] = I(dim);
    return c;
  });
  oracle("stack", [](Gen& g) {
    Shape base = g.shape();
    Case c;
    std::int64_t n = g.uniform(1, 3);
    for (std::int64_t i = 0; i < n; ++i) {
      Shape s = base;
      if (g.chance(0.08)) s.push_back(2);
      c.operands.push_back(tt(g.chance(0.8) ? DType::BF16 : g.pick(kAll), s));
    }
    if (g.chance(0.8)) c.attrs["dim"] = I(g.uniform(-static_cast<std::int64_t>(base.size()) - 2, base.size() + 1));
    return c;
  });
}

TEST_CASE("split and chunk give several outputs; the last one may be smaller") {
  oracle("split", [](Gen& g) {
    Case c = unary_case(g, kAll);
    c.operands[0].shape = g.shape(g.chance(0.05) ? 0 : 1, 4);
    for (auto& d : c.operands[0].shape) d += g.uniform(0, 4);
    c.attrs["split_size"] = I(g.uniform(g.chance(0.05) ? -1 : 1, 5));
    if (g.chance(0.8)) c.attrs["dim"] = I(g.dim(c.operands[0].rank()));
    return c;
  });
  oracle("chunk", [](Gen& g) {
    Case c = unary_case(g, kAll);
    c.operands[0].shape = g.shape(g.chance(0.05) ? 0 : 1, 4);
    for (auto& d : c.operands[0].shape) d += g.uniform(0, 4);
    c.attrs["chunks"] = I(g.uniform(g.chance(0.05) ? 0 : 1, 6));
    if (g.chance(0.8)) c.attrs["dim"] = I(g.dim(c.operands[0].rank()));
    return c;
  });
}

TEST_CASE("slice clamps start and end like Python; select removes the dim") {
  oracle("slice", [](Gen& g) {
    Case c = unary_case(g, kAll);
    c.operands[0].shape = g.shape(g.chance(0.05) ? 0 : 1, 4);
    for (auto& d : c.operands[0].shape) d += g.uniform(0, 4);
    if (g.chance(0.8)) c.attrs["dim"] = I(g.dim(c.operands[0].rank()));
    if (g.chance(0.7)) c.attrs["start"] = I(g.uniform(-9, 9));
    if (g.chance(0.7)) c.attrs["end"] = I(g.uniform(-9, 9));
    if (g.chance(0.5)) c.attrs["step"] = I(g.uniform(g.chance(0.1) ? -1 : 1, 3));
    return c;
  });
  oracle("select", [](Gen& g) {
    Case c = unary_case(g, kAll);
    std::int64_t r = c.operands[0].rank();
    std::int64_t dim = g.dim(r);
    c.attrs["dim"] = I(dim);
    std::int64_t size = (r > 0 && dim >= -r && dim < r) ? c.operands[0].shape[dim < 0 ? dim + r : dim] : 1;
    c.attrs["index"] = I(g.uniform(-size - 1, size));
    return c;
  });
}

TEST_CASE("index_select replaces a dim by the index count; indices must be an integer vector") {
  oracle("index_select", [](Gen& g) {
    Case c{{tt(g.pick(kAll), g.shape(1, 4))}, {}};
    std::int64_t r = c.operands[0].rank();
    Shape index_shape = g.chance(0.85) ? Shape{g.uniform(1, 5)} : g.chance(0.5) ? Shape{} : Shape{2, 2};
    DType index_dtype = g.chance(0.85) ? g.pick(std::vector<DType>{DType::I64, DType::I32}) : DType::F32;
    c.operands.push_back(tt(index_dtype, index_shape));
    c.attrs["dim"] = I(g.dim(r));
    return c;
  });
}

TEST_CASE("getitem picks one output of split or chunk") {
  oracle("getitem", [](Gen& g) {
    Case c;
    std::int64_t n = g.uniform(1, 4);
    for (std::int64_t i = 0; i < n; ++i) c.operands.push_back(tt(g.pick(kAll), g.shape()));
    c.attrs["index"] = I(g.uniform(-n - 1, n));
    return c;
  });
}

TEST_CASE("embedding appends the embedding dim to the indices' shape") {
  oracle("embedding", [](Gen& g) {
    Shape w{g.uniform(1, 6), g.uniform(1, 4)};
    if (g.chance(0.1)) w.push_back(2);
    DType index_dtype = g.chance(0.9) ? g.pick(std::vector<DType>{DType::I64, DType::I32}) : DType::F32;
    return Case{{tt(g.pick(kFloats), w), tt(index_dtype, g.shape())}, {}};
  });
}

TEST_CASE("where and masked_fill broadcast their boolean masks") {
  oracle("where", [](Gen& g) {
    Shape s = g.shape();
    Case c{{tt(g.chance(0.9) ? DType::Bool : DType::F32, g.broadcastable(s)), tt(g.pick(kAll), s),
            tt(g.pick(kAll), g.broadcastable(s))},
           {}};
    if (g.chance(0.2)) c.operands[2] = tt(g.chance(0.5) ? DType::F32 : DType::I64, {}, true);
    return c;
  });
  oracle("masked_fill", [](Gen& g) {
    Shape s = g.shape();
    // (PyTorch also accepts integer masks holding only 0 and 1; Twin's masks are bool)
    Case c{{tt(g.pick(kFloats), s), tt(g.chance(0.9) ? DType::Bool : DType::F32, g.broadcastable(s))}, {}};
    c.attrs["value"] = g.chance(0.3) ? AttrValue{std::string("-inf")} : AttrValue{twin::Rational(g.uniform(-4, 4), 2)};
    return c;
  });
}

TEST_CASE("triu and tril need rank 2; cast changes only the dtype") {
  for (std::string op : {"triu", "tril"}) {
    oracle(op, [](Gen& g) {
      Case c = unary_case(g, kAll);
      if (g.chance(0.5)) c.attrs["diagonal"] = I(g.uniform(-3, 3));
      return c;
    });
  }
  oracle("cast", [](Gen& g) {
    Case c = unary_case(g, kAll);
    c.attrs["dtype"] = AttrValue{g.pick(kAll)};
    return c;
  }, 40, false);
}

TEST_CASE("constructors zeros, ones, full and arange build from attributes alone") {
  for (std::string op : {"zeros", "ones"}) {
    oracle(op, [](Gen& g) {
      Case c;
      Shape s = g.shape();
      if (g.chance(0.1)) s.push_back(-1);
      c.attrs["shape"] = Is(s);
      if (g.chance(0.5)) c.attrs["dtype"] = AttrValue{g.pick(kAll)};
      return c;
    }, 40);
  }
  oracle("full", [](Gen& g) {
    Case c;
    c.attrs["shape"] = Is(g.shape());
    c.attrs["fill_value"] = g.chance(0.5) ? I(g.uniform(-3, 3)) : AttrValue{twin::Rational(g.uniform(-9, 9), 4)};
    if (g.chance(0.5)) c.attrs["dtype"] = AttrValue{g.pick(kNumbers)};
    return c;
  }, 40, false);
  oracle("arange", [](Gen& g) {
    Case c;
    auto number = [&]() { return g.chance(0.6) ? I(g.uniform(-6, 6)) : AttrValue{twin::Rational(g.uniform(-20, 20), 3)}; };
    c.attrs["end"] = number();
    if (g.chance(0.6)) c.attrs["start"] = number();
    if (g.chance(0.6)) c.attrs["step"] = g.chance(0.1) ? I(0) : number();
    if (g.chance(0.4)) c.attrs["dtype"] = AttrValue{g.pick(kNumbers)};
    return c;
  }, 120);
}

TEST_CASE("layer_norm normalizes the trailing normalized_shape; weight and bias match it") {
  oracle("layer_norm", [](Gen& g) {
    DType d = g.pick(kFloats);
    Shape x = g.shape(1, 4);
    std::int64_t k = g.uniform(1, static_cast<std::int64_t>(x.size()));
    Shape normalized(x.end() - k, x.end());
    if (g.chance(0.1)) normalized[0] += 1;
    Case c{{tt(d, x)}, {{"normalized_shape", Is(normalized)}}};
    if (g.chance(0.3)) c.attrs["eps"] = AttrValue{twin::Rational(1, 1000000)};
    int n = static_cast<int>(g.uniform(0, 2));
    for (int i = 0; i < n; ++i) c.operands.push_back(tt(d, g.chance(0.9) ? normalized : Shape{7}));
    return c;
  });
}

TEST_CASE("scaled_dot_product_attention maps [..., L, E] queries to [..., L, Ev]") {
  oracle("scaled_dot_product_attention", [](Gen& g) {
    DType d = g.pick(kFloats);
    std::int64_t b = g.uniform(1, 2), h = g.uniform(1, 3), L = g.uniform(1, 4), S = g.uniform(1, 4), E = g.uniform(1, 4),
                 Ev = g.uniform(1, 4);
    Case c{{tt(d, {b, h, L, E}), tt(d, {b, h, S, g.chance(0.9) ? E : E + 1}), tt(d, {b, h, g.chance(0.9) ? S : S + 1, Ev})},
           {}};
    if (g.chance(0.3)) c.operands.push_back(tt(g.chance(0.5) ? DType::Bool : d, g.chance(0.9) ? Shape{L, S} : Shape{L + 1, S}));
    if (g.chance(0.3)) c.attrs["is_causal"] = B(true);
    if (g.chance(0.3)) c.attrs["scale"] = AttrValue{twin::Rational(1, 3)};
    return c;
  });
}

TEST_CASE("contiguous, clone and detach are identities on the type") {
  for (std::string op : {"contiguous", "clone", "detach"})
    oracle(op, [](Gen& g) { return unary_case(g, kAll); }, 20, false);
}

TEST_CASE("attributes are completed with defaults and checked against the signature") {
  const OpSpec* sum = find_op("sum");
  Attributes a = complete_attributes(*sum, {{"dim", I(-1)}});
  CHECK(a.at("dim") == Is({-1}));  // one int is a list of one
  CHECK(a.at("keepdim") == B(false));
  CHECK(std::holds_alternative<std::monostate>(a.at("dtype").value));
  CHECK_THROWS_AS(complete_attributes(*sum, {{"axis", I(0)}}), ShapeError);
  CHECK_THROWS_AS(complete_attributes(*find_op("softmax"), {}), ShapeError);  // dim is required
  CHECK_THROWS_AS(complete_attributes(*find_op("transpose"), {{"dim0", B(true)}, {"dim1", I(0)}}), ShapeError);
  Attributes cast = complete_attributes(*find_op("cast"), {{"dtype", AttrValue{std::string("bfloat16")}}});
  CHECK(cast.at("dtype") == AttrValue{DType::BF16});
  CHECK(find_op("gelu")->attributes.at(0).default_value == AttrValue{std::string("none")});
  // operand counts are part of the signature
  CHECK_THROWS_AS(find_op("add")->infer({tt(DType::F32, {2})}, {}), ShapeError);
  CHECK_NOTHROW(find_op("linear")->infer({tt(DType::F32, {2, 3}), tt(DType::F32, {4, 3})}, {}));
}

TEST_CASE("domains: rsqrt, log and sqrt need positive inputs; div a nonzero divisor; indices and masks") {
  using K = OperandDomain::Kind;
  for (const char* op : {"rsqrt", "log", "sqrt"}) CHECK(find_op(op)->domains.at(0).kind == K::Positive);
  CHECK(find_op("div")->domains.at(1).kind == K::NonZero);
  CHECK(find_op("masked_fill")->domains.at(1).kind == K::BoolMask);
  CHECK(find_op("where")->domains.at(0).kind == K::BoolMask);
  const OpSpec* embedding = find_op("embedding");
  CHECK(embedding->domains.at(1).kind == K::Index);
  CHECK(index_bound(*embedding, 1, {tt(DType::F32, {10, 4}), tt(DType::I64, {3})}, {}) == 10);
  const OpSpec* index_select = find_op("index_select");
  CHECK(index_bound(*index_select, 1, {tt(DType::F32, {5, 7}), tt(DType::I64, {3})}, {{"dim", I(-1)}}) == 7);
  CHECK(index_bound(*index_select, 1, {tt(DType::F32, {5, 7}), tt(DType::I64, {3})}, {{"dim", I(0)}}) == 5);
}

TEST_CASE("tensor types print and parse as bf16[2, 8, 64]") {
  auto t = parse_tensor_type("bf16[2, 8, 64]");
  REQUIRE(t.has_value());
  CHECK(*t == tt(DType::BF16, {2, 8, 64}));
  CHECK(t->to_string() == "bf16[2, 8, 64]");
  CHECK(parse_tensor_type("f32[]") == tt(DType::F32, {}));
  CHECK(parse_tensor_type(" i64[3,4] ") == tt(DType::I64, {3, 4}));
  CHECK(parse_tensor_type("float32[1]") == tt(DType::F32, {1}));
  CHECK_FALSE(parse_tensor_type("bf16[2, -1]").has_value());
  CHECK_FALSE(parse_tensor_type("q8[2]").has_value());
  CHECK_FALSE(parse_tensor_type("bf16[2, 3").has_value());
  CHECK_FALSE(parse_tensor_type("bf16[2,]").has_value());
  CHECK(tt(DType::F32, {}).to_string() == "f32[]");
  CHECK(tt(DType::F32, {2, 3}).numel() == 6);
}

TEST_CASE("edge cases agree with libtorch: empty dim lists, zero-size dims, rank-0 tensors") {
  std::uint64_t seed = 7;
  auto run = [&](const std::string& op, Case c) { return check_case(op, c, seed++); };
  for (std::string op : {"sum", "mean", "amax"}) {
    CHECK(run(op, Case{{tt(DType::F32, {2, 3})}, {{"dim", Is({})}}}));
    CHECK(run(op, Case{{tt(DType::F32, {})}, {{"dim", I(-1)}, {"keepdim", B(true)}}}));
  }
  CHECK(run("sum", Case{{tt(DType::F32, {0, 3})}, {{"dim", I(0)}}}));
  CHECK(run("reshape", Case{{tt(DType::F32, {0, 3})}, {{"shape", Is({3, 0})}}}));
  CHECK_FALSE(run("reshape", Case{{tt(DType::F32, {0, 3})}, {{"shape", Is({0, -1})}}}));
  CHECK(run("split", Case{{tt(DType::F32, {0, 3})}, {{"split_size", I(2)}}}));
  CHECK(run("chunk", Case{{tt(DType::F32, {0, 3})}, {{"chunks", I(3)}}}));
  CHECK(run("cat", Case{{tt(DType::F32, {0}), tt(DType::F32, {2, 3})}, {{"dim", I(1)}}}));
  CHECK(run("transpose", Case{{tt(DType::F32, {})}, {{"dim0", I(0)}, {"dim1", I(-1)}}}));
  CHECK(run("squeeze", Case{{tt(DType::F32, {})}, {{"dim", I(0)}}}));
  CHECK(run("stack", Case{{tt(DType::F32, {}), tt(DType::I64, {})}, {}}));
  CHECK(run("slice", Case{{tt(DType::F32, {5})}, {{"start", I(4)}, {"end", I(2)}}}));
  CHECK(run("zeros", Case{{}, {{"shape", Is({})}}}));
  CHECK(run("arange", Case{{}, {{"start", I(3)}, {"end", I(3)}}}));
  CHECK_FALSE(run("arange", Case{{}, {{"start", I(3)}, {"end", I(1)}}}));
  CHECK(run("arange", Case{{}, {{"start", I(3)}, {"end", I(1)}, {"step", I(-1)}}}));
}
