// Z3 encodings of the elementwise ops (ops/elementwise.cpp's family). Binary ops broadcast;
// every op maps elements to terms one by one:
//   - arithmetic is exact: `add sub mul neg`, `div` (its divisor required non-zero), `pow` with
//     a constant exponent (integers |n| <= 8 unrolled, a negative one as 1/x^n; 1/2 is sqrt,
//     -1/2 rsqrt), `relu abs` as `ite`, `square`, `reciprocal`;
//   - `exp log tanh erf sin cos` are uninterpreted functions, and `sqrt` one whose axioms define
//     it exactly on its domain (Z3Encoder::axioms); `log`'s argument is required positive, as is
//     `rsqrt`'s, and `sqrt`'s non-negative;
//   - `sigmoid silu gelu` by their definitions over those (gelu's constants √2 and √(2/π) are
//     uninterpreted constants with axioms);
//   - comparisons `eq ne lt le gt ge` and `logical_and logical_or logical_not` give 1 or 0 (a
//     bool's value; a logical operand counts as true when non-zero); `clamp` is `ite`;
//     `floor_divide` is floor(x / y) (Z3's to_int is the floor), its divisor required non-zero.
#include "verify/z3/op_encoding.h"

namespace twin::verify::encoding {

namespace {

std::vector<SymTensor> encode_pow(EncodeCall& c) {
  c.need(2, 2);
  if (c.in[1].numel() != 1) throw NotEncodable("pow", "the exponent must be a constant");
  auto p = numeral_value(c.in[1].elements[0]);
  if (!p) throw NotEncodable("pow", "the exponent must be a constant");
  Rational e = *p;
  auto power = [&](const z3::expr& x) -> z3::expr {
    if (e == Rational(1, 2)) return c.sqrt_of(x);
    if (e == Rational(-1, 2)) return c.rsqrt(x);
    if (!is_integer(e) || e > 8 || e < -8) throw NotEncodable("pow", "exponent " + rational_to_string(e));
    Rational ae = e < 0 ? Rational(-e) : e;
    long n = boost::multiprecision::numerator(ae).convert_to<long>();
    z3::expr r = c.real(1);
    for (long i = 0; i < n; ++i) r = i == 0 ? x : r * x;
    if (e < 0) return c.div(c.real(1), r);
    return r;
  };
  return {build(c.in[0].shape, [&](const Index& i) { return power(at(c.in[0], i)); })};
}

std::vector<SymTensor> encode_gelu(EncodeCall& c) {
  std::string approximate = c.get_string("approximate", "none");
  if (approximate == "tanh") {
    z3::expr k = c.uf_constant("sqrt_2_over_pi");
    z3::expr cubic = c.real(Rational(44715, 1000000));
    return c.unary([&](const z3::expr& x) {
      return c.real(Rational(1, 2)) * x * (1 + c.uf("tanh", k * (x + cubic * x * x * x)));
    });
  }
  if (approximate != "none") throw NotEncodable("gelu", "approximate=\"" + approximate + "\"");
  z3::expr s2 = c.uf_constant("sqrt2");
  return c.unary([&](const z3::expr& x) { return x * (1 + c.uf("erf", x / s2)) / 2; });
}

// tanh erf sin cos: an uninterpreted function of the op's name.
std::vector<SymTensor> encode_uninterpreted(EncodeCall& c) {
  return c.unary([&](const z3::expr& x) { return c.uf(c.registered, x); });
}

z3::expr truth(EncodeCall& c, const z3::expr& condition) { return z3::ite(condition, c.real(1), c.real(0)); }

std::vector<SymTensor> encode_comparison(EncodeCall& c) {
  const std::string& op = c.registered;
  return c.binary([&](const z3::expr& x, const z3::expr& y) {
    if (op == "eq") return truth(c, x == y);
    if (op == "ne") return truth(c, x != y);
    if (op == "lt") return truth(c, x < y);
    if (op == "le") return truth(c, x <= y);
    if (op == "gt") return truth(c, x > y);
    if (op == "ge") return truth(c, x >= y);
    if (op == "logical_and") return truth(c, x != 0 && y != 0);
    return truth(c, x != 0 || y != 0);  // logical_or
  });
}

std::vector<SymTensor> encode_clamp(EncodeCall& c) {
  auto low = c.opt_number("min"), high = c.opt_number("max");
  if (!low && !high) c.shape_error("clamp needs min or max");
  return c.unary([&](const z3::expr& x) {
    z3::expr r = x;
    if (low) r = z3::ite(r < c.real(*low), c.real(*low), r);
    if (high) r = z3::ite(r > c.real(*high), c.real(*high), r);
    return r;
  });
}

}  // namespace

void register_elementwise_encodings(EncodingTable& t) {
  t.add("add", [](EncodeCall& c) { return c.binary([](const z3::expr& x, const z3::expr& y) { return x + y; }); });
  t.add("sub", [](EncodeCall& c) { return c.binary([](const z3::expr& x, const z3::expr& y) { return x - y; }); });
  t.add("mul", [](EncodeCall& c) { return c.binary([](const z3::expr& x, const z3::expr& y) { return x * y; }); });
  t.add("div", [](EncodeCall& c) { return c.binary([&](const z3::expr& x, const z3::expr& y) { return c.div(x, y); }); });
  t.add("pow", encode_pow);

  t.add("neg", [](EncodeCall& c) { return c.unary([](const z3::expr& x) { return -x; }); });
  t.add("sqrt", [](EncodeCall& c) { return c.unary([&](const z3::expr& x) { return c.sqrt_of(x); }); });
  t.add("rsqrt", [](EncodeCall& c) { return c.unary([&](const z3::expr& x) { return c.rsqrt(x); }); });
  t.add("exp", [](EncodeCall& c) { return c.unary([&](const z3::expr& x) { return c.exp_of(x); }); });
  t.add("log", [](EncodeCall& c) {
    return c.unary([&](const z3::expr& x) {
      c.require(x > 0);
      return c.uf("log", x);
    });
  });
  t.add("tanh", encode_uninterpreted);
  t.add("sigmoid", [](EncodeCall& c) { return c.unary([&](const z3::expr& x) { return c.sigmoid(x); }); });
  t.add("sin", encode_uninterpreted);
  t.add("cos", encode_uninterpreted);
  t.add("silu", [](EncodeCall& c) { return c.unary([&](const z3::expr& x) { return x * c.sigmoid(x); }); });
  t.add("gelu", encode_gelu);
  t.add("relu", [](EncodeCall& c) { return c.unary([&](const z3::expr& x) { return z3::ite(x > 0, x, c.real(0)); }); });
  t.add("erf", encode_uninterpreted);
  t.add("abs", [](EncodeCall& c) { return c.unary([](const z3::expr& x) { return z3::ite(x >= 0, x, -x); }); });
  t.add("reciprocal", [](EncodeCall& c) { return c.unary([&](const z3::expr& x) { return c.div(c.real(1), x); }); });
  t.add("square", [](EncodeCall& c) { return c.unary([](const z3::expr& x) { return x * x; }); });
  for (const char* name : {"eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or"}) t.add(name, encode_comparison);
  t.add("logical_not", [](EncodeCall& c) { return c.unary([&](const z3::expr& x) { return truth(c, x == 0); }); });
  t.add("clamp", encode_clamp);
  t.add("floor_divide", [](EncodeCall& c) {
    return c.binary([&](const z3::expr& x, const z3::expr& y) {
      z3::expr q = c.div(x, y);
      return z3::to_real(z3::expr(q.ctx(), Z3_mk_real2int(q.ctx(), q)));  // real2int is the floor
    });
  });
}

}  // namespace twin::verify::encoding
