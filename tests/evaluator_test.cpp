// The evaluator: exact numbers, values, control flow, functions, terms and rules as values,
// and errors that carry their location and the chain of calls.
#include "interp/evaluator.h"
#include "support.h"

#include <doctest/doctest.h>

#include <chrono>

using namespace twin;
using twin::testing::CapturingInterpreter;

namespace {
std::string eval_repr(const std::string& source) {
  Interpreter in;
  return in.eval_string(source).to_repr();
}
Error eval_error(const std::string& source, const std::string& name = "e.twin") {
  Interpreter in({.output = [](std::string_view) {}});
  try {
    in.eval_string(source, name);
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an error from: " << source);
  return Error(ErrorKind::Value, "");
}
}  // namespace

TEST_CASE("numbers are exact: big integers and rationals") {
  CHECK(eval_repr("2 ** 100") == "1267650600228229401496703205376");
  CHECK(eval_repr("1/3 + 1/6 == 1/2") == "true");
  CHECK(eval_repr("7/21") == "1/3");
  CHECK(eval_repr("(2 ** 200) / (2 ** 199)") == "2");
  CHECK(eval_repr("2 ** -2") == "1/4");
  CHECK(eval_repr("-7 % 3") == "2");
  CHECK(eval_repr("0.1 + 0.2 == 3/10") == "true");  // decimal literals are exact too
  CHECK(eval_repr("1e-6") == "1/1000000");
  CHECK(eval_repr("floor(-7/2)") == "-4");
}

TEST_CASE("inexact numbers appear only where asked for") {
  CHECK(eval_repr("float(1/4)") == "0.25");
  CHECK(eval_repr("2 ** (1/2) > 1.41") == "true");
  CHECK(eval_repr("sqrt(4)") == "2.0");
}

TEST_CASE("strings, lists and maps") {
  CHECK(eval_repr("\"tw\" + \"in\"") == "\"twin\"");
  CHECK(eval_repr("len([1, 2, 3])") == "3");
  CHECK(eval_repr("[1, 2] + [3]") == "[1, 2, 3]");
  CHECK(eval_repr("let m = {\"a\": 1, \"b\": 2}\nm[\"c\"] = 3\nm") == "{\"a\": 1, \"b\": 2, \"c\": 3}");
  CHECK(eval_repr("let m = {\"a\": 1}\nm.a") == "1");
  CHECK(eval_repr("let l = [1, 2, 3]\nl[-1]") == "3");
  CHECK(eval_repr("join(sorted([3, 1, 2]), \",\")") == "\"1,2,3\"");
  CHECK(eval_repr("contains([1, 2], 2)") == "true");
}

TEST_CASE("control flow and closures") {
  CHECK(eval_repr("fn fib(n) { if n < 2 { return n }\n return fib(n - 1) + fib(n - 2) }\nfib(20)") == "6765");
  CHECK(eval_repr("let total = 0\nfor x in range(5) { total = total + x }\ntotal") == "10");
  CHECK(eval_repr("let i = 0\nwhile i < 3 { i = i + 1 }\ni") == "3");
  CHECK(eval_repr("fn adder(n) { return fn(x) { return x + n } }\nlet add2 = adder(2)\nadd2(5)") == "7");
  CHECK(eval_repr("fn twice(f, x) { return f(f(x)) }\ntwice(fn(v) { return v * 3 }, 1)") == "9");
  CHECK(eval_repr("fn f(a, b) { return a - b }\nf(b=1, a=5)") == "4");
  CHECK(eval_repr("if false { 1 } else if true { let r = 2 }\n3") == "3");
  CHECK(eval_repr("nil or 5") == "5");
  CHECK(eval_repr("0 and 5") == "5");  // only nil and false are false
}

TEST_CASE("let scopes: a block's let does not leak; assignment needs a binding") {
  CHECK(eval_repr("let x = 1\nif true { let x = 2 }\nx") == "1");
  Error e = eval_error("y = 3");
  CHECK(e.kind() == ErrorKind::Name);
  CHECK(e.message().find("let") != std::string::npos);
}

TEST_CASE("a runtime error names its location and the chain of calls") {
  Error e = eval_error("fn inner(x) { return x / 0 }\nfn outer(x) { return inner(x) + 1 }\nouter(5)\n", "runtime_error.twin");
  CHECK(e.message() == "division by zero");
  CHECK(e.location().line == 1);
  CHECK(e.location().column == 24);
  REQUIRE(e.stack().size() == 2);
  CHECK(e.stack()[0].function == "inner");
  CHECK(e.stack()[1].function == "outer");
  std::string text = e.format();
  CHECK(text.find("runtime_error.twin:1:24") != std::string::npos);
  CHECK(text.find("in outer (called at runtime_error.twin:3:1)") != std::string::npos);
}

TEST_CASE("undefined names, bad calls and bad types are located errors") {
  CHECK(eval_error("no_such_name + 1").message().find("no_such_name") != std::string::npos);
  CHECK(eval_error("let x = 1\nx(2)").message().find("not callable") != std::string::npos);
  CHECK(eval_error("1 + \"a\"").kind() == ErrorKind::Type);
  CHECK(eval_error("[1][5]").message().find("out of range") != std::string::npos);
  CHECK(eval_error("fn f(a) { return a }\nf(1, 2)").message().find("takes 1 argument") != std::string::npos);
}

TEST_CASE("runaway recursion is an error, not a crash") {
  Error e = eval_error("fn f(n) { return f(n + 1) }\nf(0)");
  CHECK(e.message().find("too deep") != std::string::npos);
}

TEST_CASE("assert failures are Assertion errors that quote the condition and message") {
  Error e = eval_error("let x = 1\nassert x == 2, \"x is \" + str(x)");
  CHECK(e.kind() == ErrorKind::Assertion);
  CHECK(e.message() == "assert x == 2: x is 1");
}

TEST_CASE("errors are values a script can catch and inspect") {
  CapturingInterpreter t;
  std::string out = t.run(
      "let e = catch(fn() { return 1 / 0 })\nprint(is_error(e), e.message, e.line)\n"
      "print(catch(fn(a) { return a + 1 }, 2))\nlet u = catch(fn() { error(\"boom\") })\nprint(u.message)\n");
  CHECK(out == "true division by zero 1\n3\nboom\n");
}

TEST_CASE("terms quote expressions: unknown names are symbols, $ splices script values") {
  CapturingInterpreter t;
  std::string out = t.run(
      "let t = term (x + 0) * 1\nprint(t)\nlet k = 3\nprint(term $k * y)\nprint(term $t + 1/3)\n"
      "print(term f(a, dim=-1))\nprint(t.op, len(t.operands))\nprint(term -2 * x)\nprint(term x ** (1/2))\n");
  CHECK(out == "(x + 0) * 1\n3 * y\n(x + 0) * 1 + 1/3\nf(a, dim=-1)\nmul 2\n-2 * x\nx ** (1/2)\n");
}

TEST_CASE("rulesets, rules and cost functions are values a script can list and print") {
  CapturingInterpreter t;
  std::string out = t.run(
      "ruleset algebra {\n  rule add_zero: ?a + 0 => ?a\n  rule add_comm: ?a + ?b <=> ?b + ?a\n"
      "  rule div_self: ?a / ?a => 1 if ?a != 0\n}\ncost size { _ => 1 }\n"
      "for r in rules(algebra) { print(r.name, r.bidirectional) }\nprint(rules(algebra)[2])\n"
      "print(algebra.rules[0].lhs, \"|\", algebra.rules[2].guard)\nprint(type(size))\n");
  CHECK(out ==
        "add_zero false\nadd_comm true\ndiv_self false\nrule div_self: ?a / ?a => 1 if ?a != 0\n?a + 0 | ?a != 0\ncost\n");
}

TEST_CASE("a rule whose right side uses a variable its left side does not bind is rejected") {
  Error e = eval_error("ruleset bad {\n  rule r: ?a + 0 => ?b\n}");
  CHECK(e.message().find("?b") != std::string::npos);
  CHECK(e.location().line == 2);
  CHECK(eval_error("ruleset bad {\n  rule r: ?a => ?a\n  rule r: ?a => ?a\n}").message().find("twice") != std::string::npos);
}

TEST_CASE("the value of the last expression statement is returned to the host") {
  Interpreter in;
  CHECK(in.eval_string("let x = 2\nx * 21").to_repr() == "42");
  CHECK(in.eval_string("let y = 1").is_nil());
}

TEST_CASE("typed symbols carry their dtype and shape, and print back as written") {
  CapturingInterpreter t;
  CHECK(t.run("let x = term x: bf16[2, 8, 64] * 2\nprint(x)\nprint(x.operands[0].op)\n") ==
        "x: bf16[2, 8, 64] * 2\nx: bf16[2, 8, 64]\n");
  CHECK(t.run("let m = {\"a\": 1}\nprint(m[\"a\"])\n") == "1\n");  // maps still parse
  CHECK_THROWS_AS(t.run("let y = term y: int9[2]"), Error);
  CHECK_THROWS_AS(t.run("let y = x: f32[2]"), Error);
}

TEST_CASE("lists and maps that contain themselves print as [...] and {...}, and compare") {
  CapturingInterpreter t;
  CHECK(t.run("let l = [1]\nappend(l, l)\nprint(l)") == "[1, [...]]\n");
  CHECK(t.run("let m = {\"a\": 1}\nm[\"a\"] = m\nprint(m)") == "{\"a\": {...}}\n");
  CHECK(t.run("print(l == l, m == m, str(l), repr([l, l]))") == "true true [1, [...]] [[1, [...]], [1, [...]]]\n");
  // Two distinct self-containing lists that no element tells apart are equal; one difference tells.
  CHECK(t.run("let a = [1]\nappend(a, a)\nlet b = [1]\nappend(b, b)\nprint(a == b)") == "true\n");
  CHECK(t.run("let c = [2]\nappend(c, c)\nprint(a == c, contains([a], b))") == "false true\n");
  CHECK(t.run("let k = {}\nk[\"self\"] = k\nlet j = {}\nj[\"self\"] = j\nprint(k == j, {\"x\": k} == {\"x\": j})") ==
        "true true\n");
}

TEST_CASE("values nested very deeply are refused for printing, not a crash, and are freed") {
  CapturingInterpreter t;
  t.run("let deep = []\nfor i in range(200000) { deep = [deep] }");
  try {
    t.run("print(deep)");
    FAIL("printing 200,000 levels must be refused");
  } catch (const Error& e) {
    CHECK(e.message().find("nested more than 10000 levels") != std::string::npos);
  }
  // Two equal towers, built apart: comparing them goes all the way down.
  t.run("let other = []\nfor i in range(200000) { other = [other] }");
  CHECK_THROWS_AS(t.run("deep == other"), Error);
  CHECK(t.run("print(deep == deep)") == "true\n");
  t.interpreter.set_global("deep", Value());
  t.interpreter.set_global("other", Value());  // destroying it must not recurse 200,000 deep
  CHECK(t.run("print(1)") == "1\n");
}

TEST_CASE("range is lazy: length, indexing, membership and iteration need no list") {
  CapturingInterpreter t;
  CHECK(t.run("print(len(range(50000000)), range(3), range(1, 10, 3), range(5, 0, -2))") ==
        "50000000 range(0, 3) range(1, 10, 3) range(5, 0, -2)\n");
  CHECK(t.run("let r = range(10, 1000000000000, 7)\nprint(r[0], r[2], r[-1], len(r), contains(r, 24), contains(r, 25))") ==
        "10 24 999999999995 142857142856 true false\n");
  CHECK(t.run("let total = 0\nfor i in range(5, 0, -2) { total = total + i }\nprint(total)") == "9\n");
  CHECK(t.run("print(list(range(4)), sorted(range(3, 0, -1)), join(range(3), \",\"), max(range(7)))") ==
        "[0, 1, 2, 3] [1, 2, 3] 0,1,2 6\n");
  CHECK(t.run("print(range(0) == range(4, 4), range(3) == range(0, 3, 1), range(3) == [0, 1, 2], type(range(1)))") ==
        "true true false range\n");
  CHECK_THROWS_AS(t.run("range(1, 2, 0)"), Error);
  CHECK_THROWS_AS(t.run("range(3)[3]"), Error);
}

TEST_CASE("a range too long for a 64-bit length is refused, not given a negative length") {
  CapturingInterpreter t;
  CHECK_THROWS_AS(t.run("range(-9223372036854775807 - 1, 9223372036854775807)"), Error);
  CHECK(t.run("print(len(range(-9223372036854775807, 9223372036854775807, 2)))") == "9223372036854775807\n");
}

TEST_CASE("exact numbers too large to compute in seconds are refused with an error, not a hang") {
  CapturingInterpreter t;
  auto seconds = [&](const std::string& source) {
    auto start = std::chrono::steady_clock::now();
    try {
      t.run(source);
      FAIL("expected an error from " << source);
    } catch (const Error& e) {
      CHECK(e.message().find("too large for an exact") != std::string::npos);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  CHECK(seconds("let x = 3\nwhile true { x = x * x }") < 20);
  CHECK(seconds("(10 ** 4000) ** 1000000") < 5);
  // A fraction is normalised with a gcd quadratic in its size: huge fractions are refused.
  CHECK(seconds("(3 ** 1000000) / 7") < 5);
  CHECK(seconds("let a = 1/3\nwhile true { a = a * a + 1/7 }") < 20);
  // What divides exactly stays an integer, and small fractions are exact as before.
  CHECK(t.run("print((3 ** 1000000) / 3 == 3 ** 999999, 10 / 4, -6 / 3, 1/3 + 1/6, (1/2) ** -3)") ==
        "true 5/2 -2 1/2 8\n");
}

TEST_CASE("splicing a list that contains itself into a term is an error, not a crash") {
  CapturingInterpreter t;
  t.run("let l = [1]\nappend(l, l)");
  try {
    t.run("term f($l)");
    FAIL("spliced a list that contains itself");
  } catch (const Error& e) {
    CHECK(e.message().find("contains itself") != std::string::npos);
  }
  CHECK(t.run("let k = [1, [2]]\nprint(term f($k))") == "f([1, [2]])\n");
}

TEST_CASE("iterating a string takes one character at a time, without a list of them") {
  CapturingInterpreter t;
  CHECK(t.run("let n = \"\"\nfor c in \"abc\" { n = c + n }\nprint(n)") == "cba\n");
  Interpreter in({.output = [](std::string_view) {}, .memory_limit_bytes = std::size_t{64} << 20});
  // A list of 2,000,000 one-character values would take more than the 64 MiB allowed.
  CHECK(in.eval_string("let s = \"x\" * 2000000\nlet n = 0\nfor c in s { n = n + 1 }\nn").to_repr() == "2000000");
}
