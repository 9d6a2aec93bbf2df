// Z3Encoder: each op's encoding over concrete shapes, checked by asking Z3 about the terms.
#include "verify/z3_encoding.h"

#include <doctest/doctest.h>

namespace {

using namespace twin;
using namespace twin::verify;

ops::Attributes attrs(std::initializer_list<std::pair<const char*, ops::AttrValue>> list) {
  ops::Attributes a;
  for (const auto& [k, v] : list) a[k] = v;
  return a;
}
ops::AttrValue i(std::int64_t v) { return ops::AttrValue::of_int(v); }
ops::AttrValue ints(std::vector<std::int64_t> v) { return ops::AttrValue{std::move(v)}; }

// Z3 proves a == b (for all values of the free constants).
bool valid(z3::context& ctx, const z3::expr& claim, const z3::expr_vector& assumptions) {
  z3::solver s(ctx);
  s.add(assumptions);
  s.add(!claim);
  return s.check() == z3::unsat;
}
bool valid(z3::context& ctx, const z3::expr& claim) { return valid(ctx, claim, z3::expr_vector(ctx)); }

}  // namespace

TEST_SUITE("verify_z3_encoding") {
  TEST_CASE("rational constants are exact") {
    z3::context ctx;
    Z3Encoder enc(ctx);
    z3::expr third = enc.real(Rational(1, 3));
    CHECK(valid(ctx, third * 3 == 1));
    CHECK(numeral_text(third) == "1/3");
    CHECK(numeral_text(enc.real(Rational(-7))) == "-7");
  }

  TEST_CASE("elementwise ops broadcast") {
    z3::context ctx;
    Z3Encoder enc(ctx);
    SymTensor a = enc.fresh("a", {2, 3}), b = enc.fresh("b", {3});
    SymTensor r = enc.encode("add", {a, b}, {})[0];
    CHECK(r.shape == std::vector<std::int64_t>{2, 3});
    CHECK(valid(ctx, r.elements[4] == a.elements[4] + b.elements[1]));
    SymTensor s = enc.encode("mul", {a, enc.constant(Rational(2))}, {})[0];
    CHECK(valid(ctx, s.elements[5] == 2 * a.elements[5]));
    CHECK_THROWS_AS(enc.encode("add", {a, enc.fresh("c", {2})}, {}), EncodingShapeError);
    SymTensor p = enc.encode("pow", {a, enc.constant(Rational(3))}, {})[0];
    CHECK(valid(ctx, p.elements[0] == a.elements[0] * a.elements[0] * a.elements[0]));
    CHECK_THROWS_AS(enc.encode("pow", {a, b}, {}), NotEncodable);
  }

  TEST_CASE("matmul, bmm and linear unroll dot products") {
    z3::context ctx;
    Z3Encoder enc(ctx);
    SymTensor a = enc.fresh("a", {4, 2, 3}), b = enc.fresh("b", {3, 5});
    SymTensor m = enc.encode("matmul", {a, b}, {})[0];
    CHECK(m.shape == std::vector<std::int64_t>{4, 2, 5});
    // m[1, 0, 2] = sum_k a[1, 0, k] * b[k, 2]
    z3::expr expect = a.elements[6] * b.elements[2] + a.elements[7] * b.elements[7] + a.elements[8] * b.elements[12];
    CHECK(valid(ctx, m.elements[1 * 10 + 0 * 5 + 2] == expect));
    SymTensor v = enc.fresh("v", {3});
    CHECK(enc.encode("matmul", {v, v}, {})[0].shape.empty());
    CHECK(enc.encode("matmul", {a, v}, {})[0].shape == std::vector<std::int64_t>{4, 2});
    CHECK_THROWS_AS(enc.encode("matmul", {b, b}, {}), EncodingShapeError);
    SymTensor w = enc.fresh("w", {5, 3}), bias = enc.fresh("bias", {5});
    SymTensor l = enc.encode("linear", {a, w, bias}, {})[0];
    CHECK(l.shape == std::vector<std::int64_t>{4, 2, 5});
    CHECK(valid(ctx, l.elements[0] == a.elements[0] * w.elements[0] + a.elements[1] * w.elements[1] +
                                          a.elements[2] * w.elements[2] + bias.elements[0]));
    CHECK_THROWS_AS(enc.encode("bmm", {a, b}, {}), EncodingShapeError);
  }

  TEST_CASE("layout ops are index maps") {
    z3::context ctx;
    Z3Encoder enc(ctx);
    SymTensor x = enc.fresh("x", {2, 3, 4});
    SymTensor t = enc.encode("transpose", {x}, attrs({{"dim0", i(0)}, {"dim1", i(-1)}}))[0];
    CHECK(t.shape == std::vector<std::int64_t>{4, 3, 2});
    CHECK(z3::eq(t.elements[3 * 6 + 2 * 2 + 1], x.elements[1 * 12 + 2 * 4 + 3]));
    SymTensor p = enc.encode("permute", {x}, attrs({{"dims", ints({2, 0, 1})}}))[0];
    CHECK(p.shape == std::vector<std::int64_t>{4, 2, 3});
    SymTensor r = enc.encode("reshape", {x}, attrs({{"shape", ints({6, -1})}}))[0];
    CHECK(r.shape == std::vector<std::int64_t>{6, 4});
    SymTensor sl = enc.encode("slice", {x}, attrs({{"dim", i(-1)}, {"start", i(1)}, {"end", i(3)}}))[0];
    CHECK(sl.shape == std::vector<std::int64_t>{2, 3, 2});
    CHECK(z3::eq(sl.elements[0], x.elements[1]));
    SymTensor se = enc.encode("select", {x}, attrs({{"dim", i(1)}, {"index", i(-1)}}))[0];
    CHECK(se.shape == std::vector<std::int64_t>{2, 4});
    CHECK(z3::eq(se.elements[0], x.elements[8]));
    SymTensor c = enc.encode("cat", {x, x}, attrs({{"dim", i(1)}}))[0];
    CHECK(c.shape == std::vector<std::int64_t>{2, 6, 4});
    CHECK(z3::eq(c.elements[3 * 4], x.elements[0]));
    SymTensor st = enc.encode("stack", {x, x}, attrs({{"dim", i(0)}}))[0];
    CHECK(st.shape == std::vector<std::int64_t>{2, 2, 3, 4});
    auto parts = enc.encode("split", {x}, attrs({{"split_size", i(3)}, {"dim", i(-1)}}));
    REQUIRE(parts.size() == 2);
    CHECK(parts[1].shape == std::vector<std::int64_t>{2, 3, 1});
    CHECK(z3::eq(parts[1].elements[0], x.elements[3]));
    CHECK(enc.encode("chunk", {x}, attrs({{"chunks", i(2)}, {"dim", i(1)}})).size() == 2);
    CHECK(enc.encode("unsqueeze", {x}, attrs({{"dim", i(-1)}}))[0].shape == std::vector<std::int64_t>{2, 3, 4, 1});
    SymTensor e = enc.encode("expand", {enc.fresh("y", {3, 1})}, attrs({{"shape", ints({2, 3, 4})}}))[0];
    CHECK(e.shape == std::vector<std::int64_t>{2, 3, 4});
    SymTensor rep = enc.encode("repeat", {enc.fresh("z", {2})}, attrs({{"repeats", ints({3})}}))[0];
    CHECK(rep.shape == std::vector<std::int64_t>{6});
    SymTensor ri = enc.encode("repeat_interleave", {enc.fresh("q", {2})}, attrs({{"repeats", i(2)}, {"dim", i(0)}}))[0];
    CHECK(z3::eq(ri.elements[1], ri.elements[0]));
    CHECK(enc.encode("squeeze", {enc.fresh("s", {1, 3, 1})}, {})[0].shape == std::vector<std::int64_t>{3});
    CHECK(z3::eq(enc.encode("cast", {x}, attrs({{"dtype", ops::AttrValue{ops::DType::BF16}}}))[0].elements[5],
                 x.elements[5]));
    SymTensor tri = enc.encode("triu", {enc.fresh("m", {3, 3})}, {})[0];
    CHECK(valid(ctx, tri.elements[3] == 0));
  }

  TEST_CASE("reductions and softmax") {
    z3::context ctx;
    Z3Encoder enc(ctx);
    SymTensor x = enc.fresh("x", {2, 3});
    SymTensor s = enc.encode("sum", {x}, attrs({{"dim", ints({-1})}, {"keepdim", ops::AttrValue{true}}}))[0];
    CHECK(s.shape == std::vector<std::int64_t>{2, 1});
    CHECK(valid(ctx, s.elements[1] == x.elements[3] + x.elements[4] + x.elements[5]));
    CHECK(enc.encode("sum", {x}, {})[0].shape.empty());
    SymTensor m = enc.encode("mean", {x}, attrs({{"dim", ints({0})}}))[0];
    CHECK(valid(ctx, m.elements[2] * 2 == x.elements[2] + x.elements[5]));
    SymTensor sm = enc.encode("softmax", {x}, attrs({{"dim", i(-1)}}))[0];
    CHECK(sm.shape == x.shape);
    // The softmax of a row sums to 1 (exp > 0 is among the axioms).
    z3::expr_vector ax = enc.axioms();
    CHECK(valid(ctx, sm.elements[0] + sm.elements[1] + sm.elements[2] == 1, ax));
    CHECK(enc.uninterpreted_used().count("exp"));
  }

  TEST_CASE("uninterpreted functions carry sound axioms only") {
    z3::context ctx;
    Z3Encoder enc(ctx);
    SymTensor a = enc.fresh("a", {}), c = enc.fresh("c", {});
    SymTensor sum = enc.encode("add", {a, c}, {})[0];
    SymTensor e = enc.encode("exp", {sum}, {})[0];
    SymTensor ea = enc.encode("exp", {a}, {})[0];
    z3::expr_vector ax = enc.axioms();
    // exp(a + c) = exp(a) * exp(c), instantiated on the sum that occurs.
    z3::solver s(ctx);
    s.add(ax);
    CHECK(s.check() == z3::sat);  // the axioms are consistent
    CHECK(valid(ctx, e.elements[0] > ea.elements[0] * 0, ax));
    // sqrt is defined exactly on its domain: sqrt(x)^2 = x for x >= 0; rsqrt(x) * rsqrt(x) = 1/x.
    z3::context ctx2;
    Z3Encoder enc2(ctx2);
    SymTensor x = enc2.fresh("x", {});
    SymTensor r = enc2.encode("rsqrt", {x}, {})[0];
    z3::expr_vector dom = enc2.take_domain_conditions();
    REQUIRE(dom.size() >= 1);
    z3::expr_vector ax2 = enc2.axioms();
    for (unsigned k = 0; k < dom.size(); ++k) ax2.push_back(dom[k]);
    CHECK(valid(ctx2, r.elements[0] * r.elements[0] == 1 / x.elements[0], ax2));
    CHECK(enc2.uninterpreted_used().empty());  // sqrt is not a source of spurious models
    // tanh is odd and bounded; nothing forces tanh(1) to a value.
    SymTensor t = enc2.encode("tanh", {enc2.constant(Rational(1))}, {})[0];
    SymTensor tn = enc2.encode("tanh", {enc2.constant(Rational(-1))}, {})[0];
    z3::expr_vector ax3 = enc2.axioms();
    CHECK(valid(ctx2, t.elements[0] == -tn.elements[0], ax3));
    CHECK_FALSE(valid(ctx2, t.elements[0] == enc2.real(Rational(3, 4)), ax3));
  }

  TEST_CASE("gelu has both formulas; unknown ops are not encodable") {
    z3::context ctx;
    Z3Encoder enc(ctx);
    SymTensor x = enc.fresh("x", {2});
    CHECK(enc.encode("gelu", {x}, attrs({{"approximate", ops::AttrValue{std::string("tanh")}}}))[0].shape == x.shape);
    CHECK(enc.encode("gelu", {x}, {})[0].shape == x.shape);
    CHECK(enc.uninterpreted_used().count("erf"));
    CHECK(enc.uninterpreted_used().count("tanh"));
    CHECK_THROWS_AS(enc.encode("embedding", {x, x}, {}), NotEncodable);
    CHECK(is_encodable("matmul"));
    CHECK_FALSE(is_encodable("embedding"));
  }
}
