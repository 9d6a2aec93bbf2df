// Tensor types as an e-class analysis, and the guard queries shape dim rank numel dtype.
#include "ops/shape_analysis.h"

#include "egraph/egraph.h"
#include "egraph/scalar_expr.h"

#include <doctest/doctest.h>

using namespace twin;
using namespace twin::egraph;
using twin::ops::ShapeAnalysis;
using twin::ops::TensorType;

namespace {

struct Fixture {
  std::shared_ptr<OpTable> ops = std::make_shared<OpTable>();
  EGraph g{ops};
  QueryRegistry queries;
  Fixture() {
    ops::add_shape_analysis(g);
    ops::register_shape_queries(queries);
  }
  EClassId sym(const std::string& name) { return g.add(ops->intern_symbol(name)); }
  EClassId num(std::int64_t v) { return g.add(ops->intern_constant(Rational(v))); }
  EClassId str(const std::string& s) { return g.add(ops->intern_string(s)); }
  EClassId apply(const std::string& op, std::vector<EClassId> children, const std::vector<std::string>& attrs = {}) {
    return g.add(ops->intern_apply(op, static_cast<std::uint32_t>(children.size()), attrs), children);
  }
  EClassId ints(const std::vector<std::int64_t>& values) {
    std::vector<EClassId> c;
    for (auto v : values) c.push_back(num(v));
    return apply("list", c);
  }
  std::string type(EClassId c) {
    g.rebuild();
    auto t = g.analysis<ShapeAnalysis>()->type_of(g, c);
    return t ? t->to_string() : "unknown";
  }
  // Evaluates a guard expression with ?a bound to `a` (and ?b to `b`).
  ScalarValue ask(const ScalarExpr& e, EClassId a, EClassId b = kNoClass) {
    g.rebuild();
    std::vector<std::string> vars{"a", "b"};
    ScalarExpr r = resolve(e, vars, queries);
    std::vector<EClassId> subst{a, b == kNoClass ? a : b};
    return evaluate(r, g, subst, queries);
  }
};

ScalarExpr q(const std::string& name, std::vector<ScalarExpr> args) { return ScalarExpr::query(name, std::move(args)); }
ScalarExpr var(const std::string& v) { return ScalarExpr::var(v); }
ScalarExpr c(std::int64_t v) { return ScalarExpr::constant(Rational(v)); }
ScalarExpr eq(ScalarExpr a, ScalarExpr b) { return ScalarExpr::compare_op(ScalarExpr::CompareOp::Eq, std::move(a), std::move(b)); }

}  // namespace

TEST_CASE("a typed symbol's class has the type its name carries") {
  Fixture f;
  CHECK(f.type(f.sym("x: bf16[2, 8, 64]")) == "bf16[2, 8, 64]");
  CHECK(f.type(f.sym("s: f32[]")) == "f32[]");
  CHECK(f.type(f.sym("y")) == "unknown");
  CHECK(ops::typed_symbol_type("x: i64[3]") == ops::parse_tensor_type("i64[3]"));
  CHECK_FALSE(ops::typed_symbol_type("x").has_value());
}

TEST_CASE("applied ops infer through their OpSpec, with named attribute children") {
  Fixture f;
  EClassId x = f.sym("x: bf16[2, 8, 64]"), w = f.sym("w: bf16[128, 64]");
  EClassId y = f.apply("linear", {x, w});
  CHECK(f.type(y) == "bf16[2, 8, 128]");
  EClassId t = f.apply("transpose", {y, f.num(-2), f.num(-1)}, {"dim0", "dim1"});
  CHECK(f.type(t) == "bf16[2, 128, 8]");
  EClassId s = f.apply("softmax", {t, f.num(-1), f.sym("f32")}, {"dim", "dtype"});
  CHECK(f.type(s) == "f32[2, 128, 8]");
  EClassId sum = f.apply("sum", {s, f.ints({0, -1}), f.sym("true")}, {"dim", "keepdim"});
  CHECK(f.type(sum) == "f32[1, 128, 1]");
  EClassId r = f.apply("reshape", {x, f.ints({16, -1})}, {"shape"});
  CHECK(f.type(r) == "bf16[16, 64]");
  EClassId g = f.apply("gelu", {x, f.str("tanh")}, {"approximate"});
  CHECK(f.type(g) == "bf16[2, 8, 64]");
  EClassId sl = f.apply("slice", {x, f.num(1), f.sym("none"), f.num(6), f.num(2)}, {"dim", "start", "end", "step"});
  CHECK(f.type(sl) == "bf16[2, 3, 64]");
  // without attribute names, trailing children are the attributes in the OpSpec's order
  CHECK(f.type(f.apply("transpose", {x, f.num(0), f.num(2)})) == "bf16[64, 8, 2]");
  // operands that do not fit, and unknown ops, give no type
  CHECK(f.type(f.apply("matmul", {x, x})) == "unknown");
  CHECK(f.type(f.apply("frobnicate", {x})) == "unknown");
  CHECK(f.type(f.apply("relu", {f.sym("z")})) == "unknown");
}

TEST_CASE("constants are python scalars that do not promote") {
  Fixture f;
  EClassId x = f.sym("x: bf16[4]");
  CHECK(f.type(f.apply("mul", {x, f.num(2)})) == "bf16[4]");
  EClassId ints = f.sym("i: i64[4]");
  CHECK(f.type(f.apply("mul", {ints, f.g.add(f.ops->intern_constant(Rational(1, 2)))})) == "f32[4]");
  auto t = f.g.analysis<ShapeAnalysis>()->type_of(f.g, f.num(3));
  REQUIRE(t.has_value());
  CHECK(t->python_scalar);
  // An integer beyond int64 (torch.finfo(torch.float32).min written out) can only be a float:
  // where(mask, 0, -3.4028234663852886e38) is f32, as in PyTorch, not an integer tensor.
  EClassId mask = f.sym("m: bool[4]");
  EClassId f32_min = f.g.add(f.ops->intern_constant(-Rational(BigInt("340282346638528859811704183484516925440"))));
  CHECK(f.type(f.apply("where", {mask, f.num(0), f32_min})) == "f32[4]");
  CHECK(f.type(f.apply("where", {mask, f.num(0), f.num(-1)})) == "i64[4]");
  CHECK(f.type(f.apply("mul", {ints, f32_min})) == "f32[4]");
}

TEST_CASE("lists feed cat and stack; split gives a tuple read with getitem") {
  Fixture f;
  EClassId a = f.sym("a: f32[2, 3]"), b = f.sym("b: f32[2, 5]");
  EClassId cat = f.apply("cat", {f.apply("list", {a, b}), f.num(-1)}, {"dim"});
  CHECK(f.type(cat) == "f32[2, 8]");
  EClassId stack = f.apply("stack", {f.apply("list", {a, a}), f.num(1)}, {"dim"});
  CHECK(f.type(stack) == "f32[2, 2, 3]");
  EClassId parts = f.apply("split", {cat, f.num(3), f.num(1)}, {"split_size", "dim"});
  f.g.rebuild();
  const auto& data = f.g.analysis<ShapeAnalysis>()->data(f.g, parts);
  CHECK(data.tuple);
  CHECK(data.types.size() == 3);
  CHECK(f.type(parts) == "unknown");  // a tuple is not one tensor
  CHECK(f.type(f.apply("getitem", {parts, f.num(2)}, {"index"})) == "f32[2, 2]");
  EClassId chunks = f.apply("chunk", {a, f.num(1), f.num(0)}, {"chunks", "dim"});
  CHECK(f.type(f.apply("getitem", {chunks, f.num(0)}, {"index"})) == "f32[2, 3]");
}

TEST_CASE("guard queries answer shape, dim, rank, numel and dtype") {
  Fixture f;
  EClassId x = f.sym("x: bf16[2, 8, 64]");
  EClassId y = f.sym("y: bf16[2, 8, 64]");
  EClassId z = f.sym("z: f32[64, 8]");
  CHECK(f.ask(q("shape", {var("a")}), x).text == "[2, 8, 64]");
  CHECK(f.ask(eq(q("shape", {var("a")}), q("shape", {var("b")})), x, y).is_true());
  CHECK_FALSE(f.ask(eq(q("shape", {var("a")}), q("shape", {var("b")})), x, z).is_true());
  CHECK(f.ask(eq(q("dim", {var("a"), c(-1)}), c(64)), x).is_true());
  CHECK(f.ask(eq(q("dim", {var("a"), c(0)}), q("dim", {var("b"), c(-1)})), z, x).is_true());
  CHECK(f.ask(q("rank", {var("a")}), x).number == 3);
  CHECK(f.ask(q("numel", {var("a")}), x).number == 1024);
  CHECK(f.ask(q("dtype", {var("a")}), x).text == "bf16");
  CHECK(f.ask(eq(q("dtype", {var("a")}), ScalarExpr::string("bf16")), x).is_true());
  // unknown types, out-of-range dims: Unknown, so a guard fails
  EClassId u = f.sym("u");
  CHECK(f.ask(q("shape", {var("a")}), u).kind == ScalarValue::Kind::Unknown);
  CHECK_FALSE(f.ask(eq(q("rank", {var("a")}), c(3)), u).is_true());
  CHECK(f.ask(q("dim", {var("a"), c(3)}), x).kind == ScalarValue::Kind::Unknown);
}

TEST_CASE("queries without the analysis answer Unknown") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  QueryRegistry queries;
  ops::register_shape_queries(queries);
  EClassId x = g.add(ops->intern_symbol("x: f32[2]"));
  std::vector<std::string> vars{"a"};
  ScalarExpr e = resolve(q("rank", {var("a")}), vars, queries);
  std::vector<EClassId> subst{x};
  CHECK(evaluate(e, g, subst, queries).kind == ScalarValue::Kind::Unknown);
}

TEST_CASE("merging keeps the known type and propagates it to parents; contradictions are recorded") {
  Fixture f;
  EClassId u = f.sym("u");
  EClassId ru = f.apply("relu", {u});
  CHECK(f.type(ru) == "unknown");
  EClassId x = f.sym("x: f16[3, 3]");
  f.g.union_classes(u, x);
  CHECK(f.type(u) == "f16[3, 3]");
  CHECK(f.type(ru) == "f16[3, 3]");  // flowed up through the parent
  CHECK_FALSE(f.g.analysis<ShapeAnalysis>()->contradiction());
  EClassId z = f.sym("z: f16[9]");
  f.g.union_classes(x, z);
  CHECK(f.type(x) == "f16[3, 3]");  // the first type is kept
  CHECK(f.g.analysis<ShapeAnalysis>()->contradiction());
  CHECK_FALSE(f.g.analysis<ShapeAnalysis>()->contradictions().empty());
}

TEST_CASE("describe shows the type; snapshots restore the analysis") {
  Fixture f;
  EClassId x = f.sym("x: i32[5]");
  f.g.rebuild();
  CHECK(f.g.analysis<ShapeAnalysis>()->describe(f.g, x) == "i32[5]");
  f.g.push();
  EClassId u = f.sym("u");
  f.g.union_classes(u, x);
  CHECK(f.type(u) == "i32[5]");
  f.g.pop();
  CHECK(f.type(x) == "i32[5]");
}
