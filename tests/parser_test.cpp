// The front end: every form of LANGUAGE.md parses, and bad input gets a located error.
#include "util/error.h"
#include "interp/parser.h"

#include <doctest/doctest.h>

#include <sstream>

using namespace twin;

namespace {
Program parse(const std::string& text, const std::string& name = "t.twin") {
  return parse_program(std::make_shared<SourceFile>(name, text));
}
Error parse_error(const std::string& text, const std::string& name = "t.twin") {
  try {
    parse(text, name);
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected a syntax error for: " << text);
  return Error(ErrorKind::Syntax, "");
}
}  // namespace

TEST_CASE("every declaration form of the language sketch parses") {
  auto program = parse(R"(
version 1
use "std/core.rules"
op silu(x)
op fused_gate_up(x, w; act: str)
op my_rmsnorm(x, w; eps: float) = w * cast(x * rsqrt(mean(x * x, dims=[-1], keepdim=true) + eps), dtype(x))
ruleset algebra {
  rule add_comm:  ?a + ?b <=> ?b + ?a
  rule add_zero:  ?a + 0  =>  ?a
  @verified(z3)
  rule div_self:  ?a / ?a =>  1   if ?a != 0 and not is_const(?a) or ?a > 0
}
cost default {
  matmul(?a, ?b) => 2 * numel(?a) * dim(?b, -1)
  _              => 1
}
)");
  REQUIRE(program.statements.size() == 7);
  CHECK(program.statements[0]->kind == StmtKind::Version);
  CHECK(program.statements[1]->kind == StmtKind::Use);
  CHECK(program.statements[1]->text == "std/core.rules");
  CHECK(program.statements[3]->op->attributes.size() == 1);
  CHECK(program.statements[4]->op->body != nullptr);
  const auto& rules = program.statements[5]->rules;
  REQUIRE(rules.size() == 3);
  CHECK(rules[0]->bidirectional);
  CHECK_FALSE(rules[1]->bidirectional);
  CHECK(rules[2]->guard != nullptr);
  CHECK(rules[2]->annotations.size() == 1);
  CHECK(program.statements[6]->arms.size() == 2);
}

TEST_CASE("a rule may continue over several lines, even starting a line with an operator") {
  auto program = parse(R"(version 1
ruleset r {
  rule row_parallel:
      linear(?x, ?w)
        + linear(?y, ?v)
        => linear(?x, ?w)
      if dim(?x, -1) == ?n and 0 < ?k < ?n
  rule next: ?a => ?a
})");
  REQUIRE(program.statements[1]->rules.size() == 2);
  const auto& guard = *program.statements[1]->rules[0]->guard;
  CHECK(guard.kind == ExprKind::And);
  // `0 < ?k < ?n` is one chained comparison.
  CHECK(guard.operands[1]->kind == ExprKind::Compare);
  CHECK(guard.operands[1]->compare_ops.size() == 2);
}

TEST_CASE("script statements parse") {
  auto program = parse(R"(
let x = 1
x = x + 1
fn f(a, b) { return a * b }
if x < 2 { print(1) } else if x < 3 { print(2) } else { print(3) }
for i in [1, 2] { print(i) }
while false { }
assert x == 2, "x is two"
let t = term (x + 0) * 1
let s = term $t + $(x)
let g = fn(v) { return v }
)");
  CHECK(program.statements.size() == 10);
  CHECK(program.statements[3]->else_is_if);
}

TEST_CASE("a syntax error names file:line:col of the offending token and what was expected") {
  Error e = parse_error("let x = 1\nlet y = x + * 2\nprint(y)\n", "syntax_error.twin");
  CHECK(e.kind() == ErrorKind::Syntax);
  CHECK(e.location().line == 2);
  CHECK(e.location().column == 13);
  CHECK(e.format().find("syntax_error.twin:2:13") != std::string::npos);
  CHECK(e.message().find("expected an expression") != std::string::npos);
  // The caret sits under the column.
  CHECK(e.format().find("    let y = x + * 2\n                ^") != std::string::npos);
}

TEST_CASE("a syntax error names the construct being parsed, and a name is expected as a name") {
  Error let = parse_error("let = 3\n", "let.twin");
  CHECK(let.message() == "unexpected '='; expected a name (in a let statement: let NAME = EXPR)");
  CHECK(parse_error("let x 3\n", "let.twin").message().find("(in a let statement") != std::string::npos);
  CHECK(parse_error("for in x { }\n", "for.twin").message().find("(in a for loop: for NAME in EXPR") != std::string::npos);
  Error rule = parse_error("version 1\nruleset r {\n  rule a ?x => ?x\n}\n", "r.rules");
  CHECK(rule.message() == "unexpected '?x'; expected ':' (in a rule: rule NAME: LHS => RHS if GUARD)");
  // Outside any keyword's construct nothing is added.
  CHECK(parse_error("print(1 +)\n", "e.twin").message().find("(in ") == std::string::npos);
}

TEST_CASE("an error in a very long line shows a window around the column, not the whole line") {
  std::string line = "let x = [" + std::string(20000, '[') + " + ]";
  Error e = parse_error(line + "\n", "long.twin");
  const std::string text = e.format();
  INFO(text);
  std::istringstream lines(text);
  std::string message, source, caret;
  std::getline(lines, message);
  std::getline(lines, source);
  std::getline(lines, caret);
  CHECK(source.size() <= 4 + 3 + 100 + 3);
  CHECK(source.find("...") != std::string::npos);
  // The caret sits within the window shown.
  REQUIRE(caret.find('^') != std::string::npos);
  CHECK(caret.find('^') < source.size());

  Error short_line = parse_error("let y = x + * 2\n", "short.twin");
  CHECK(short_line.format().find("...") == std::string::npos);
}

TEST_CASE("unterminated strings, stray characters and unclosed blocks are errors, not crashes") {
  CHECK(parse_error("let s = \"abc\n").message().find("unterminated string") != std::string::npos);
  CHECK(parse_error("let s = 1 ` 2").message().find("'`'") != std::string::npos);
  Error e = parse_error("fn f() {\n  return 1\n");
  CHECK(e.message().find("end of input") != std::string::npos);
  CHECK(parse_error("let s = \"\\q\"").message().find("escape") != std::string::npos);
}

TEST_CASE("assignment targets must be names, indexes or members") {
  CHECK(parse_error("1 + 2 = 3").message().find("cannot assign") != std::string::npos);
}

TEST_CASE("absurdly deep nesting is rejected with an error instead of exhausting the stack") {
  std::string deep(5000, '(');
  deep += "1" + std::string(5000, ')');
  CHECK(parse_error("let x = " + deep).message().find("nested") != std::string::npos);
  std::string minus(5000, '-');
  CHECK(parse_error("let x = " + minus + "1").message().find("nested") != std::string::npos);
}

TEST_CASE("comments are kept with their positions for the formatter") {
  auto program = parse("# lead\nlet x = 1  # trail\n");
  REQUIRE(program.comments.size() == 2);
  CHECK(program.comments[0].text == "# lead");
  CHECK(program.comments[1].line == 2);
}

TEST_CASE("open_bracket_depth tells the REPL to keep reading") {
  CHECK(open_bracket_depth("fn sq(x) {") == 1);
  CHECK(open_bracket_depth("fn sq(x) { return x }") == 0);
  CHECK(open_bracket_depth("print(\"(\"") == 1);
  CHECK(open_bracket_depth("# (\nprint(1)") == 0);
}

TEST_CASE("text that is not UTF-8 is a located syntax error, not a crash") {
  Error e = parse_error("let a = 1\nprint(\"caf\xe9\")\n");
  CHECK(e.kind() == ErrorKind::Syntax);
  CHECK(e.location().line == 2);
  CHECK(e.location().column == 11);
  CHECK(e.message().find("UTF-8") != std::string::npos);
  CHECK_NOTHROW(parse("print(\"café ≥ ∑\")\n"));
}
