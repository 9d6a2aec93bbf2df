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
