// Guards and costs: three-valued evaluation with the language's class semantics.
#include "egraph/egraph.h"
#include "egraph/scalar_expr.h"
#include "egraph/sexpr.h"

#include <doctest/doctest.h>

using namespace twin::egraph;
using S = ScalarExpr;

namespace {
struct Fixture {
  std::shared_ptr<OpTable> ops = std::make_shared<OpTable>();
  EGraph g{ops};
  EClassId cls(const char* t) { return g.add_expr(parse_term(t, *ops)); }
  ScalarValue eval(const S& e, std::vector<EClassId> subst, std::vector<std::string> vars = {"a", "b"}) {
    g.rebuild();
    return evaluate(resolve(e, vars, QueryRegistry::builtins()), g, subst, QueryRegistry::builtins());
  }
  bool holds(const S& e, std::vector<EClassId> subst) { return eval(e, subst).is_true(); }
};
S ne(S a, S b) { return S::compare_op(S::CompareOp::Ne, std::move(a), std::move(b)); }
S eq(S a, S b) { return S::compare_op(S::CompareOp::Eq, std::move(a), std::move(b)); }
}  // namespace

TEST_CASE("?a != 0 holds unless the class is known to contain 0") {
  Fixture f;
  S guard = ne(S::var("a"), S::constant(0));
  CHECK(f.holds(guard, {f.cls("(add y 1)"), 0}));
  CHECK_FALSE(f.holds(guard, {f.cls("(sub 2 2)"), 0}));
  CHECK(f.holds(guard, {f.cls("y"), 0}));
}

TEST_CASE("== and != between variables compare e-classes") {
  Fixture f;
  EClassId x = f.cls("x"), y = f.cls("y");
  CHECK(f.holds(ne(S::var("a"), S::var("b")), {x, y}));
  CHECK(f.holds(eq(S::var("a"), S::var("b")), {x, x}));
  f.g.union_classes(x, y);
  CHECK(f.holds(eq(S::var("a"), S::var("b")), {x, y}));
  CHECK(f.holds(eq(S::var("a"), S::constant(3)), {f.cls("(add 1 2)"), 0}));
}

TEST_CASE("a string operand counts as a class containing that string leaf") {
  Fixture f;
  EClassId act = f.cls("\"tanh\"");
  CHECK(f.holds(eq(S::var("a"), S::string("tanh")), {act, 0}));
  CHECK_FALSE(f.holds(eq(S::var("a"), S::string("gelu")), {act, 0}));
  CHECK(f.holds(ne(S::var("a"), S::string("gelu")), {act, 0}));
}

TEST_CASE("ordering and arithmetic use the constant value, unknown without one") {
  Fixture f;
  S lt = S::compare_op(S::CompareOp::Lt, S::var("a"), S::constant(5));
  CHECK(f.holds(lt, {f.cls("(mul 2 2)"), 0}));
  CHECK(f.eval(lt, {f.cls("z"), 0}).kind == ScalarValue::Kind::Unknown);
  CHECK_FALSE(f.holds(lt, {f.cls("z"), 0}));  // unknown: the guard does not hold
  S sum = S::arith_op(S::ArithOp::Add, S::var("a"), S::constant(twin::Rational(1) / 2));
  CHECK(f.eval(sum, {f.cls("3"), 0}).number == twin::Rational(7) / 2);
  S div0 = S::arith_op(S::ArithOp::Div, S::constant(1), S::constant(0));
  CHECK(f.eval(div0, {}).kind == ScalarValue::Kind::Unknown);
}

TEST_CASE("and, or, not follow Kleene's three-valued logic") {
  Fixture f;
  S unknown = S::compare_op(S::CompareOp::Lt, S::var("a"), S::constant(0));  // z has no value
  S yes = S::boolean_value(true), no = S::boolean_value(false);
  EClassId z = f.cls("z");
  CHECK(f.eval(S::and_(unknown, no), {z, 0}).kind == ScalarValue::Kind::Bool);
  CHECK_FALSE(f.eval(S::and_(unknown, no), {z, 0}).boolean);
  CHECK(f.eval(S::and_(unknown, yes), {z, 0}).kind == ScalarValue::Kind::Unknown);
  CHECK(f.holds(S::or_(unknown, yes), {z, 0}));
  CHECK(f.eval(S::or_(unknown, no), {z, 0}).kind == ScalarValue::Kind::Unknown);
  CHECK(f.eval(S::not_(unknown), {z, 0}).kind == ScalarValue::Kind::Unknown);
}

TEST_CASE("built-in queries is_const and is_sym, and registering a new query") {
  Fixture f;
  CHECK(f.holds(S::query("is_const", {S::var("a")}), {f.cls("(add 1 1)"), 0}));
  CHECK_FALSE(f.holds(S::query("is_const", {S::var("a")}), {f.cls("(add x 1)"), 0}));
  CHECK(f.holds(S::query("is_sym", {S::var("a")}), {f.cls("x"), 0}));
  QueryRegistry reg;
  reg.add("always", [](const EGraph&, std::span<const ScalarValue>) { return ScalarValue::of_bool(true); }, 0);
  std::vector<std::string> vars;
  CHECK(guard_holds(resolve(S::query("always", {}), vars, reg), f.g, {}, reg));
  CHECK_THROWS_AS(resolve(S::query("nope", {}), vars, reg), std::invalid_argument);
  CHECK_THROWS_AS(resolve(S::var("q"), vars, reg), std::invalid_argument);
  CHECK(ne(S::var("a"), S::constant(0)).to_string() == "?a != 0");
}
