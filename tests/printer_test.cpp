// The canonical printer: whatever it prints parses back to the same tree, and formatting
// is idempotent and keeps every comment.
#include "interp/parser.h"
#include "interp/printer.h"

#include <doctest/doctest.h>

#include <functional>
#include <random>

using namespace twin;

namespace {

Program parse(const std::string& text) { return parse_program(std::make_shared<SourceFile>("p.twin", text)); }

// Structural equality of expression trees, ignoring locations and parenthesization marks.
bool same_tree(const Expr& a, const Expr& b) {
  if (a.kind != b.kind || a.text != b.text || a.number != b.number || a.boolean != b.boolean) return false;
  if (a.operands.size() != b.operands.size() || a.arg_names != b.arg_names || a.compare_ops != b.compare_ops) return false;
  for (std::size_t i = 0; i < a.operands.size(); ++i)
    if (!same_tree(*a.operands[i], *b.operands[i])) return false;
  return true;
}

ExprPtr parse_expr(const std::string& text) {
  auto program = parse("let probe = " + text);
  return program.statements.at(0)->expr;
}

void check_round_trip(const std::string& text) {
  ExprPtr original = parse_expr(text);
  std::string printed = print_expr(*original);
  ExprPtr again = parse_expr(printed);
  INFO("source: " << text << "\nprinted: " << printed << "\nreprinted: " << print_expr(*again));
  CHECK(same_tree(*original, *again));
  CHECK(print_expr(*again) == printed);
}

}  // namespace

TEST_CASE("precedence survives printing: parentheses appear exactly where needed") {
  CHECK(print_expr(*parse_expr("(a + b) * c")) == "(a + b) * c");
  CHECK(print_expr(*parse_expr("a + (b * c)")) == "a + b * c");
  CHECK(print_expr(*parse_expr("a - (b - c)")) == "a - (b - c)");
  CHECK(print_expr(*parse_expr("(a - b) - c")) == "a - b - c");
  CHECK(print_expr(*parse_expr("-(a ** b)")) == "-a ** b");
  CHECK(print_expr(*parse_expr("(-a) ** b")) == "(-a) ** b");
  CHECK(print_expr(*parse_expr("a ** (b ** c)")) == "a ** b ** c");
  CHECK(print_expr(*parse_expr("(a ** b) ** c")) == "(a ** b) ** c");
  CHECK(print_expr(*parse_expr("not (a == b)")) == "not a == b");
  CHECK(print_expr(*parse_expr("(not a) == b")) == "(not a) == b");
  CHECK(print_expr(*parse_expr("(a < b) < c")) == "(a < b) < c");
  CHECK(print_expr(*parse_expr("a < b < c")) == "a < b < c");
  CHECK(print_expr(*parse_expr("term (x+0)*1")) == "term (x + 0) * 1");
  CHECK(print_expr(*parse_expr("f(x,dim = -1 , keepdim=true)")) == "f(x, dim=-1, keepdim=true)");
}

TEST_CASE("a fixed corpus of expressions round-trips") {
  for (const char* text : {"1/3 + 1/6", "2 ** 100", "x * (1/3)", "-1/3 * x", "[1, [2, 3], {\"a\": 1}]",
                           "m[\"b\"].c(1)(2)", "g.add(term (x * 1 + 0) * (y + z))", "a and b or not c",
                           "a or b and c", "(a or b) and c", "term $t + $(x + 1)", "fn(x) { return x + 1 }",
                           "\"esc\\\"aped\\n\"", "cat([?g, ?u], dim=-1)", "-(-x)", "- -x", "x % 3 * 2"})
    check_round_trip(text);
}

TEST_CASE("randomly generated expressions round-trip through the printer") {
  std::mt19937 rng(12345);
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    std::uniform_int_distribution<int> pick(0, depth <= 0 ? 3 : 12);
    static const char* binops[] = {"+", "-", "*", "/", "**", "%", "==", "<", "and", "or"};
    switch (pick(rng)) {
      case 0: return "x";
      case 1: return std::to_string(rng() % 10);
      case 2: return "?v";
      case 3: return "\"s\"";
      case 4: case 5: case 6: case 7:
        return "(" + gen(depth - 1) + " " + binops[rng() % 10] + " " + gen(depth - 1) + ")";
      case 8: return "-" + gen(depth - 1);
      case 9: return "not " + gen(depth - 1);
      case 10: return "f(" + gen(depth - 1) + ", k=" + gen(depth - 1) + ")";
      case 11: return "[" + gen(depth - 1) + "]";
      default: return "(" + gen(depth - 1) + ")";
    }
  };
  for (int i = 0; i < 500; ++i) check_round_trip(gen(5));
}

TEST_CASE("rules print on one line in canonical form") {
  auto program = parse("version 1\nruleset a {\n rule div_self:   ?a/?a=>1 if ?a!=0\n}\n");
  CHECK(print_rule(*program.statements[1]->rules[0]) == "rule div_self: ?a / ?a => 1 if ?a != 0");
}

TEST_CASE("formatting keeps every comment and is idempotent") {
  const std::string messy =
      "version   1\n# a comment that must survive formatting\nruleset   messy{rule   r1 :?a*1=>?a\n"
      "   rule r2:  ?a  +  ?b<=>?b+?a   # trailing comment\n}\n";
  std::string once = format_program(parse(messy));
  CHECK(once ==
        "version 1\n# a comment that must survive formatting\nruleset messy {\n  rule r1: ?a * 1 => ?a\n"
        "  rule r2: ?a + ?b <=> ?b + ?a  # trailing comment\n}\n");
  CHECK(format_program(parse(once)) == once);
}

TEST_CASE("formatting places leading, trailing and dangling comments in blocks") {
  const std::string source =
      "fn f(x) {  # header\n  # leading\n  let y = x   # trailing\n\n\n  return y\n  # dangling\n}  # after\n# end of file\n";
  std::string once = format_program(parse(source));
  CHECK(once ==
        "fn f(x) {  # header\n  # leading\n  let y = x  # trailing\n\n  return y\n  # dangling\n}  # after\n# end of file\n");
  CHECK(format_program(parse(once)) == once);
}

TEST_CASE("short one-line blocks stay on one line; long ones expand") {
  CHECK(format_program(parse("if n < 2 { return n }")) == "if n < 2 { return n }\n");
  CHECK(format_program(parse("while i < 3 {i = i + 1}")) == "while i < 3 { i = i + 1 }\n");
  CHECK(format_program(parse("fn f() {\nreturn 1 }")) == "fn f() {\n  return 1\n}\n");
  CHECK(format_program(parse("if a { b() } else { c() }")) == "if a { b() } else { c() }\n");
  CHECK(format_program(parse("if a {\nb()\n} else if c {\nd()\n}")) == "if a {\n  b()\n} else if c {\n  d()\n}\n");
}

TEST_CASE("stray semicolons and trailing blank lines format idempotently (found by the fuzzer)") {
  std::string once = format_program(parse("x\n\n;\n"));
  CHECK(once == "x\n");
  CHECK(format_program(parse(once)) == once);
  CHECK(format_program(parse("let a = 1;;\n\n\n;let b = 2\n")) == "let a = 1\n\nlet b = 2\n");
}
