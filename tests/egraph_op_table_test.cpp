// Operators: interning gives one stable id per distinct operator or leaf.
#include "egraph/op_table.h"

#include <doctest/doctest.h>

using namespace twin::egraph;

TEST_CASE("interning the same operator twice gives the same id") {
  OpTable ops;
  OpId add = ops.intern_apply("add", 2);
  CHECK(ops.intern_apply("add", 2) == add);
  CHECK(ops.intern_apply("add", 3) != add);  // arity is part of the identity
  CHECK(ops.info(add).kind == OpKind::Apply);
  CHECK(ops.arity(add) == 2);
}

TEST_CASE("every distinct leaf is its own zero-ary operator") {
  OpTable ops;
  OpId x = ops.intern_symbol("x");
  OpId third = ops.intern_constant(twin::Rational(1) / 3);
  OpId tanh = ops.intern_string("tanh");
  CHECK(ops.intern_symbol("x") == x);
  CHECK(ops.intern_symbol("y") != x);
  CHECK(ops.intern_constant(twin::Rational(2) / 6) == third);
  CHECK(ops.info(third).constant == twin::Rational(1) / 3);
  CHECK(ops.display(third) == "1/3");
  CHECK(ops.display(tanh) == "\"tanh\"");
  CHECK(ops.is_leaf(x));
  CHECK(ops.arity(x) == 0);
  CHECK(ops.find_symbol("x") == x);
  CHECK_FALSE(ops.find_symbol("nope").has_value());
}

TEST_CASE("attribute names are recorded; more names than children is an error") {
  OpTable ops;
  OpId slice = ops.intern_apply("slice", 4, {"dim", "start", "end"});
  CHECK(ops.info(slice).attr_names == std::vector<std::string>{"dim", "start", "end"});
  CHECK(ops.intern_apply("slice", 4, {"dim", "start", "end"}) == slice);
  CHECK_THROWS_AS(ops.intern_apply("f", 1, {"a", "b"}), std::invalid_argument);
}

TEST_CASE("operators with the same name and arity but different attribute names are different operators") {
  OpTable ops;
  OpId by_dim = ops.intern_apply("sum", 2, {"dim"});
  OpId by_keepdim = ops.intern_apply("sum", 2, {"keepdim"});
  OpId positional = ops.intern_apply("sum", 2);
  CHECK(by_dim != by_keepdim);
  CHECK(positional != by_dim);
  CHECK(ops.intern_apply("sum", 2, {"dim"}) == by_dim);
  CHECK(ops.find_apply("sum", 2, {"keepdim"}) == by_keepdim);
  CHECK(ops.find_apply("sum", 2) == positional);
}
