// `use`: relative to the importing file first, then the library path; each file once; cycles named.
#include "interp/interpreter.h"
#include "support.h"

#include <doctest/doctest.h>

using namespace twin;
using twin::testing::TempDir;

TEST_CASE("use resolves relative to the importing file, then the library path") {
  TempDir project, library;
  project.write("rules/local.rules", "version 1\nuse \"shared.rules\"\nruleset local { rule r: ?a => ?a }\n");
  library.write("shared.rules", "version 1\nruleset shared { rule s: ?a * 1 => ?a }\n");
  auto script = project.write("main.twin", "use \"rules/local.rules\"\nlet n = len(rules(local)) + len(rules(shared))\n");
  Interpreter in({.allowed_read_dirs = {project.path}, .library_path = {library.path}});
  in.eval_file(script);
  CHECK(in.get_global("n").to_repr() == "2");
}

TEST_CASE("each file is loaded once however often it is used") {
  TempDir dir;
  dir.write("a.rules", "version 1\nuse \"c.rules\"\n");
  dir.write("b.rules", "version 1\nuse \"c.rules\"\n");
  dir.write("c.rules", "version 1\nruleset c { rule r: ?a => ?a }\n");
  auto script = dir.write("m.twin", "use \"a.rules\"\nuse \"b.rules\"\nuse \"c.rules\"\nlet ok = len(rules(c)) == 1\n");
  Interpreter in({.allowed_read_dirs = {dir.path}});
  in.eval_file(script);
  CHECK(in.get_global("ok").as_bool());
}

TEST_CASE("an import cycle is an error that names the cycle") {
  TempDir dir;
  dir.write("a.rules", "version 1\nuse \"b.rules\"\n");
  dir.write("b.rules", "version 1\nuse \"a.rules\"\n");
  auto script = dir.write("m.twin", "use \"a.rules\"\n");
  Interpreter in({.allowed_read_dirs = {dir.path}});
  try {
    in.eval_file(script);
    FAIL("expected an import cycle error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Import);
    CHECK(e.message().find("a.rules -> b.rules -> a.rules") != std::string::npos);
  }
}

TEST_CASE("a missing import says where it looked") {
  TempDir dir;
  auto script = dir.write("m.twin", "use \"nowhere.rules\"\n");
  Interpreter in({.allowed_read_dirs = {dir.path}, .library_path = {dir.path / "lib"}});
  try {
    in.eval_file(script);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.location().to_string().find("m.twin:1:1") != std::string::npos);
    CHECK(e.message().find("lib") != std::string::npos);
  }
}

TEST_CASE(".rules files hold declarations only and start with a version") {
  TempDir dir;
  dir.write("stmts.rules", "version 1\nlet x = 1\n");
  dir.write("noversion.rules", "ruleset r { rule a: ?a => ?a }\n");
  Interpreter in({.allowed_read_dirs = {dir.path}});
  try {
    in.eval_file(dir.path / "stmts.rules");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.message().find("declarations only") != std::string::npos);
    CHECK(e.location().line == 2);
  }
  CHECK_THROWS_AS(in.eval_file(dir.path / "noversion.rules"), Error);
}

TEST_CASE("the stdlib directory is on the library path") {
  Interpreter in;
  CHECK_FALSE(in.library_path().empty());
}
