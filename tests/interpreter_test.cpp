// The embedding API: what a host program relies on.
#include "interp/interpreter.h"
#include "interp/lib/egraph_library.h"
#include "support.h"

#include <doctest/doctest.h>

using namespace twin;
using twin::testing::CapturingInterpreter;
using twin::testing::TempDir;

TEST_CASE("a host reads and writes globals") {
  Interpreter in;
  in.set_global("limit", Value(10));
  in.eval_string("let doubled = limit * 2");
  CHECK(in.get_global("doubled").to_repr() == "20");
  CHECK(in.has_global("doubled"));
  CHECK(in.get_global("nothing").is_nil());
}

TEST_CASE("a host registers native functions that scripts call") {
  Interpreter in;
  int calls = 0;
  in.register_function("host_add", [&](CallContext&, CallArgs& a) {
    ++calls;
    return Value(Rational(a.positional.at(0).as_rational() + a.positional.at(1).as_rational()));
  });
  CHECK(in.eval_string("host_add(2, 3) * 2").to_repr() == "10");
  CHECK(calls == 1);
  // An error raised by a native function is located at the script's call site.
  in.register_function("host_fail", [](CallContext&, CallArgs& a) -> Value {
    throw Error(ErrorKind::Value, "host says no");
  });
  try {
    in.eval_string("let a = 1\nhost_fail()", "h.twin");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.location().to_string() == "h.twin:2:1");
  }
}

TEST_CASE("a host captures what scripts print") {
  CapturingInterpreter t;
  CHECK(t.run("print(\"a\", 1/2)\nprint([1, \"b\"])") == "a 1/2\n[1, \"b\"]\n");
}

TEST_CASE("a host calls script functions") {
  Interpreter in;
  in.eval_string("fn square(x) { return x * x }");
  CHECK(in.call(in.get_global("square"), {Value(7)}).to_repr() == "49");
}

TEST_CASE("scripts read files only under the directories the host allows") {
  TempDir allowed, outside;
  allowed.write("in.txt", "hello\n");
  auto secret = outside.write("secret.txt", "secret\n");
  Interpreter in({.allowed_read_dirs = {allowed.path}, .output = [](std::string_view) {}});
  CHECK(in.eval_string("read_text(\"" + (allowed.path / "in.txt").string() + "\")").as_string() == "hello\n");
  try {
    in.eval_string("read_text(\"" + secret.string() + "\")");
    FAIL("reading outside the allowed directories must fail");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Permission);
    CHECK(e.message().find("not allowed") != std::string::npos);
  }
  // `..` and symlinks cannot escape the sandbox.
  std::error_code ec;
  std::filesystem::create_symlink(secret, allowed.path / "link.txt", ec);
  if (!ec) CHECK_THROWS_AS(in.eval_string("read_text(\"" + (allowed.path / "link.txt").string() + "\")"), Error);
  CHECK_THROWS_AS(in.eval_string("read_text(\"" + (allowed.path / ".." / outside.path.filename() / "secret.txt").string() + "\")"),
                  Error);
}

TEST_CASE("by default a script may read nothing") {
  TempDir dir;
  auto file = dir.write("x.txt", "x");
  Interpreter in;
  CHECK_THROWS_AS(in.eval_string("read_text(\"" + file.string() + "\")"), Error);
  CHECK_FALSE(in.may_read("/etc/hostname"));
}

TEST_CASE("read_text resolves a relative path against the calling script's directory") {
  TempDir dir;
  dir.write("data.txt", "beside\n");
  auto script = dir.write("s.twin", "let text = read_text(\"data.txt\")\n");
  Interpreter in({.allowed_read_dirs = {dir.path}});
  in.eval_file(script);
  CHECK(in.get_global("text").as_string() == "beside\n");
}

TEST_CASE("the interpreter stays usable after any error") {
  Interpreter in({.output = [](std::string_view) {}});
  CHECK_THROWS_AS(in.eval_string("let x = "), Error);
  CHECK_THROWS_AS(in.eval_string("undefined_thing"), Error);
  CHECK(in.eval_string("1 + 1").to_repr() == "2");
}

TEST_CASE("completion candidates include keywords, globals and rule names") {
  Interpreter in;
  in.eval_string("ruleset algebra { rule add_zero: ?a + 0 => ?a }\nlet my_graph = 1");
  auto names = in.completion_candidates();
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  CHECK(has("ruleset"));
  CHECK(has("my_graph"));
  CHECK(has("algebra"));
  CHECK(has("add_zero"));
  CHECK(has("print"));
}

TEST_CASE("an interpreter has the language alone until the host opens a library") {
  std::string out;
  twin::Interpreter bare({.output = [&](std::string_view text) { out += text; }});
  CHECK_FALSE(bare.has_global("egraph"));
  CHECK_FALSE(bare.has_global("load_graph"));
  CHECK_FALSE(bare.has_global("check_graphs"));
  CHECK_THROWS_AS(bare.eval_string("egraph()"), twin::Error);
  twin::open_egraph_library(bare);
  CHECK(bare.has_global("egraph"));
  CHECK_FALSE(bare.has_global("load_graph"));  // only what was opened
  bare.eval_string("let g = egraph()\nprint(g.equal(g.add(term x), g.add(term x)))");
  CHECK(out == "true\n");
}

TEST_CASE("progress and warnings reach the host through the diagnostics callback") {
  std::vector<twin::Diagnostic> seen;
  twin::Interpreter twin({.diagnostics = [&](const twin::Diagnostic& d) { seen.push_back(d); }});
  twin.diagnose({twin::Diagnostic::Kind::Warning, "test", "a warning"});
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].message == "a warning");
  twin::Interpreter silent;  // no callback: nothing happens
  CHECK_NOTHROW(silent.diagnose({twin::Diagnostic::Kind::Progress, "test", "ignored"}));
}

TEST_CASE("a denied `use` answers the same whether or not the file exists") {
  TempDir allowed, outside;
  outside.write("real.rules", "version 1\n");
  Interpreter in({.allowed_read_dirs = {allowed.path}, .output = [](std::string_view) {}});
  auto message_for = [&](const std::string& name) {
    try {
      in.eval_string("use \"" + (outside.path / name).string() + "\"", "u.twin");
    } catch (const Error& e) {
      std::string text = e.format();
      for (auto at = text.find(name); at != std::string::npos; at = text.find(name)) text.replace(at, name.size(), "NAME");
      return text;
    }
    FAIL("use outside the sandbox must fail");
    return std::string();
  };
  std::string existing = message_for("real.rules");
  std::string missing = message_for("none.rules");
  CHECK(existing == missing);
  CHECK(existing.find("not allowed") != std::string::npos);
}

TEST_CASE("a path with a NUL byte is refused with an error that names it") {
  TempDir dir;
  dir.write("ok", "fine\n");
  Interpreter in({.allowed_read_dirs = {dir.path}, .output = [](std::string_view) {}});
  try {
    in.eval_string("read_text(\"" + (dir.path / "ok").string() + "\\0../../etc/passwd\")", "n.twin");
    FAIL("a NUL byte in a path must be refused");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Value);
    CHECK(e.message().find("NUL") != std::string::npos);
    CHECK(e.location().to_string() == "n.twin:1:1");
  }
}

TEST_CASE("by default an interpreter grants no processes, no cache and no limits but the digits one") {
  InterpreterOptions defaults;
  CHECK_FALSE(defaults.allow_processes);
  CHECK(defaults.verdict_cache == VerdictCacheAccess::None);
  CHECK(defaults.time_limit_seconds == 0);
  CHECK(defaults.step_limit == 0);
  CHECK(defaults.memory_limit_bytes == 0);
  CHECK(defaults.integer_digits_limit == 4300);
}

namespace {

// Runs `source`, which must reach a limit: returns the error, after checking its kind.
Error limit_error(Interpreter& in, const std::string& source) {
  try {
    in.eval_string(source, "limits.twin");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Limit);
    return e;
  }
  FAIL("expected a limit to be reached");
  return Error(ErrorKind::Value, "");
}

}  // namespace

TEST_CASE("a deadline stops a runaway script, names the time limit, and the interpreter stays usable") {
  Interpreter in({.output = [](std::string_view) {}, .time_limit_seconds = 0.2});
  Error e = limit_error(in, "while true {}");
  CHECK(e.message().find("time limit") != std::string::npos);
  CHECK(e.location().known());
  // A script that catches the error meets the deadline again at its next step.
  limit_error(in, "fn spin() { while true {} }\nwhile true { catch(spin) }");
  // Each outermost call has its own deadline.
  CHECK(in.eval_string("1 + 1").to_repr() == "2");
}

TEST_CASE("a deadline stops a long g.run too") {
  Interpreter in({.output = [](std::string_view) {}, .time_limit_seconds = 0.3});
  open_all_libraries(in);
  // Associativity and commutativity over a long sum grow without end; the run's own limits are large.
  Error e = limit_error(in, R"(
ruleset ac {
  rule comm: ?a + ?b => ?b + ?a
  rule assoc: (?a + ?b) + ?c => ?a + (?b + ?c)
  rule unassoc: ?a + (?b + ?c) => (?a + ?b) + ?c
}
let g = egraph()
g.add(term a + b + c + d + e + f + h + i + j + k + l + m)
g.run([ac], iters=100000, nodes=100000000, time=1000)
)");
  CHECK(e.message().find("time limit") != std::string::npos);
  CHECK(in.eval_string("2 + 2").to_repr() == "4");
}

TEST_CASE("a step budget stops a loop and a recursion") {
  Interpreter in({.output = [](std::string_view) {}, .step_limit = 10000});
  CHECK(limit_error(in, "let i = 0\nwhile true { i = i + 1 }").message().find("step limit of 10000") != std::string::npos);
  CHECK(in.get_global("i").as_rational() > 9000);
  limit_error(in, "fn f(n) { if n == 0 { return 0 }\nreturn f(n - 1) }\nfor k in range(100000) { f(50) }");
  CHECK(in.eval_string("let total = 0\nfor k in range(100) { total = total + k }\ntotal").to_repr() == "4950");
}

TEST_CASE("a memory limit stops strings, lists and numbers that keep growing") {
  Interpreter in({.output = [](std::string_view) {}, .memory_limit_bytes = std::size_t{64} << 20});
  Error strings = limit_error(in, "let s = \"ab\"\nwhile true { s = s + s }");
  CHECK(strings.message().find("memory limit of 64 MiB") != std::string::npos);
  in.set_global("s", Value());
  limit_error(in, "let l = [1, 2]\nwhile true { l = l + l }");
  in.set_global("l", Value());
  limit_error(in, "let l = []\nwhile true { append(l, \"x\") }");
  in.set_global("l", Value());
  limit_error(in, "len(join(list(range(20000000)), \",\"))");
  CHECK(in.eval_string("len(\"ab\" * 1000)").to_repr() == "2000");
}

TEST_CASE("integers above the digits limit are not converted to text; the host may change the limit") {
  Interpreter in({.output = [](std::string_view) {}});
  Error e = limit_error(in, "str(10 ** 5000)");
  CHECK(e.message().find("limit of 4300 digits") != std::string::npos);
  CHECK(in.eval_string("len(str(10 ** 4299))").to_repr() == "4300");
  limit_error(in, "number(\"" + std::string(5000, '7') + "\")");
  limit_error(in, "let x = " + std::string(5000, '9'));
  // Numbers that big still compute; only their text is refused.
  CHECK(in.eval_string("(10 ** 5000) / (10 ** 4999)").to_repr() == "10");
  Interpreter unlimited({.output = [](std::string_view) {}, .integer_digits_limit = 0});
  CHECK(unlimited.eval_string("len(str(10 ** 5000))").to_repr() == "5001");
}

TEST_CASE("a script cannot catch a limit the host set; it can catch the digits limit") {
  Interpreter in({.output = [](std::string_view) {}, .step_limit = 5000});
  Error e = limit_error(in, "let caught = catch(fn() { while true {} })\nprint(\"went on\")");
  CHECK(e.message().find("step limit") != std::string::npos);
  CHECK(in.eval_string("is_error(catch(fn() { return str(10 ** 5000) }))").to_repr() == "true");
}

TEST_CASE("repr that escapes ever more text stops at the memory limit") {
  Interpreter in({.output = [](std::string_view) {}, .memory_limit_bytes = std::size_t{64} << 20});
  Error e = limit_error(in, "let s = \"ab\" * 100000\nwhile true { s = repr(s) }");
  CHECK(e.message().find("memory limit") != std::string::npos);
}

TEST_CASE("a deadline too far for the clock to count never comes") {
  Interpreter in({.output = [](std::string_view) {}, .time_limit_seconds = 1e300});
  CHECK(in.eval_string("let i = 0\nwhile i < 5000 { i = i + 1 }\ni").to_repr() == "5000");
}
