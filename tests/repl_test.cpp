// The REPL (interp/repl.h): what a user sees line by line, without a terminal.
#include "interp/repl.h"
#include "tests/support.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;
using twin::ReplHistory;
using twin::ReplResponse;
using twin::ReplSession;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A session on an interpreter whose printed output is collected in `capture.output`.
struct Repl {
  twin::testing::CapturingInterpreter capture;
  ReplSession session{capture.interpreter};

  ReplResponse feed(const std::string& line) { return session.feed_line(line); }
};

}  // namespace

TEST_CASE("the value of an expression is echoed in source form; nil and statements echo nothing") {
  Repl repl;
  CHECK(repl.feed("1 + 2").output == "3\n");
  CHECK(repl.feed("\"tw\" + \"in\"").output == "\"twin\"\n");
  CHECK(repl.feed("let x = 5").output.empty());
  CHECK(repl.feed("x * 2").output == "10\n");
  ReplResponse printed = repl.feed("print(\"hi\")");
  CHECK(printed.output.empty());
  CHECK(printed.error.empty());
  CHECK(repl.capture.output == "hi\n");
  CHECK(repl.feed("").output.empty());
}

TEST_CASE("input continues over several lines while a brace or bracket is open") {
  Repl repl;
  CHECK(std::string(repl.session.prompt()) == ReplSession::kPrompt);

  ReplResponse first = repl.feed("fn sq(x) {");
  CHECK(first.needs_more_input);
  CHECK(std::string(repl.session.prompt()) == ReplSession::kContinuationPrompt);
  CHECK(repl.feed("  return x * x").needs_more_input);
  ReplResponse last = repl.feed("}");
  CHECK_FALSE(last.needs_more_input);
  CHECK(last.error.empty());
  CHECK(std::string(repl.session.prompt()) == ReplSession::kPrompt);
  CHECK(repl.feed("sq(12)").output == "144\n");

  SUBCASE("a list spread over lines") {
    CHECK(repl.feed("[1,").needs_more_input);
    CHECK(repl.feed("").needs_more_input);  // a blank line inside brackets does not end the entry
    CHECK(repl.feed(" 2]").output == "[1, 2]\n");
  }
  SUBCASE("a bracket inside a string or comment does not continue the entry") {
    CHECK(repl.feed("\"(\"").output == "\"(\"\n");
    CHECK(repl.feed("1 # (").output == "1\n");
  }
}

TEST_CASE("an error is printed with its location and the session goes on") {
  Repl repl;
  repl.feed("fn sq(x) { return x * x }");
  ReplResponse failed = repl.feed("no_such_name + 1");
  CHECK(failed.output.empty());
  CHECK(failed.error.find("no_such_name") != std::string::npos);
  CHECK(failed.error.find("<repl>:1:1") != std::string::npos);
  CHECK(failed.error.back() == '\n');
  CHECK_FALSE(failed.quit);

  CHECK(repl.feed("sq(3) + 1000").output == "1009\n");

  ReplResponse syntax = repl.feed("let y = 1 + * 2");
  CHECK(syntax.error.find("<repl>:1:") != std::string::npos);
  CHECK(repl.feed("sq(2)").output == "4\n");

  ReplResponse runtime = repl.feed("1 / 0");
  CHECK_FALSE(runtime.error.empty());
  CHECK(repl.feed("sq(1)").output == "1\n");
}

TEST_CASE("an exception that is not a twin::Error is shown as an internal error, not fatal") {
  Repl repl;
  repl.session.register_command("boom", "fail", [](ReplSession&, const std::string&, ReplResponse&) {
    throw std::runtime_error("kaboom");
  });
  ReplResponse response = repl.feed(":boom");
  CHECK(response.error == "internal error: kaboom\n");
  CHECK_FALSE(response.quit);
  CHECK(repl.feed("2 + 2").output == "4\n");
}

TEST_CASE("Ctrl-C drops an unfinished entry") {
  Repl repl;
  CHECK(repl.feed("fn broken(x) {").needs_more_input);
  repl.session.cancel_input();
  CHECK_FALSE(repl.session.has_pending_input());
  CHECK(repl.feed("7").output == "7\n");
}

TEST_CASE("at end of input an unfinished entry is reported and the session ends") {
  Repl repl;
  repl.feed("fn f(x) {");
  ReplResponse end = repl.session.finish();
  CHECK(end.quit);
  CHECK_FALSE(end.error.empty());
  CHECK(repl.session.finish().error.empty());
}

TEST_CASE(":type prints the type name of the expression's value") {
  Repl repl;
  CHECK(repl.feed(":type 1/3").output == "number\n");
  CHECK(repl.feed(":type \"s\"").output == "string\n");
  CHECK(repl.feed(":type [1, 2]").output == "list\n");
  CHECK(repl.feed(":type nil").output == "nil\n");
  CHECK(repl.feed(":type undefined_thing").error.find("undefined_thing") != std::string::npos);
  CHECK(repl.feed(":type").error.find("usage") != std::string::npos);
}

TEST_CASE(":rules lists each ruleset with its rules") {
  Repl repl;
  CHECK(repl.feed(":rules").output == "no rulesets are defined\n");
  CHECK(repl.feed("ruleset demo {").needs_more_input);
  CHECK(repl.feed("  rule add_zero: ?a + 0 => ?a").needs_more_input);
  CHECK(repl.feed("  rule mul_one: ?a * 1 => ?a").needs_more_input);
  CHECK(repl.feed("}").error.empty());
  CHECK(repl.feed(":rules").output ==
        "ruleset demo (2 rules)\n"
        "  rule add_zero: ?a + 0 => ?a\n"
        "  rule mul_one: ?a * 1 => ?a\n");
  CHECK(repl.feed(":rules demo").output.find("mul_one") != std::string::npos);
  CHECK(repl.feed(":rules other").error == "no ruleset named other\n");
}

TEST_CASE(":load runs a file, whose definitions stay available") {
  twin::testing::TempDir scratch;
  scratch.write("defs.twin", "let loaded_value = 41\nfn bump(x) { return x + 1 }\n");
  Repl repl;
  ReplResponse loaded = repl.feed(":load " + (scratch.path / "defs.twin").string());
  CHECK(loaded.error.empty());
  CHECK(repl.feed("bump(loaded_value)").output == "42\n");

  ReplResponse missing = repl.feed(":load " + (scratch.path / "missing.twin").string());
  CHECK(missing.error.find("missing.twin") != std::string::npos);
  CHECK(repl.feed(":load").error.find("usage") != std::string::npos);
}

TEST_CASE("commands: unknown ones are reported, :quit ends, register_command adds to :help") {
  Repl repl;
  ReplResponse unknown = repl.feed(":frobnicate");
  CHECK(unknown.error.find(":frobnicate") != std::string::npos);
  CHECK(unknown.error.find(":help lists the commands") != std::string::npos);  // nothing close to it
  CHECK_FALSE(unknown.quit);
  CHECK(repl.feed(":ruels").error.find("did you mean ':rules'?") != std::string::npos);
  CHECK(repl.feed(":lod x").error.find("did you mean ':load'?") != std::string::npos);
  CHECK(repl.feed(":quit").quit);

  std::string seen;
  repl.session.register_command("disasm", "RULE  show a rule's match program",
                                [&](ReplSession&, const std::string& argument, ReplResponse& response) {
                                  seen = argument;
                                  response.output += "ok\n";
                                });
  CHECK(repl.feed("  :disasm   add_zero  ").output == "ok\n");
  CHECK(seen == "add_zero");
  std::string help = repl.feed(":help").output;
  CHECK(help.find(":disasm RULE") != std::string::npos);
  CHECK(help.find("show a rule's match program") != std::string::npos);
  CHECK(help.find(":load FILE") != std::string::npos);
}

TEST_CASE("tab completion offers the names, members, commands and files that fit the word") {
  Repl repl;
  repl.feed("let alpha_one = 1");
  repl.feed("let alpha_two = 2");
  repl.feed("ruleset algebra { rule add_zero: ?a + 0 => ?a }");

  auto names = repl.session.complete("print(alpha_");
  CHECK(names.word_start == 6);
  CHECK(names.candidates == std::vector<std::string>{"alpha_one", "alpha_two"});

  CHECK(repl.session.complete("add_z").candidates == std::vector<std::string>{"add_zero"});
  auto keywords = repl.session.complete("whi").candidates;
  CHECK(std::find(keywords.begin(), keywords.end(), "while") != keywords.end());

  auto members = repl.session.complete("algebra.ru");
  CHECK(members.word_start == 0);
  CHECK(members.candidates == std::vector<std::string>{"algebra.rules"});

  CHECK(repl.session.complete(":ty").candidates == std::vector<std::string>{":type"});
  CHECK(repl.session.complete("1 + 2").candidates.empty());

  twin::testing::TempDir scratch;
  scratch.write("rules_a.rules", "version 1\n");
  fs::create_directory(scratch.path / "rules_dir");
  std::string prefix = scratch.path.string() + "/rul";
  auto files = repl.session.complete(":load " + prefix);
  CHECK(files.word_start == 6);
  CHECK(files.candidates == std::vector<std::string>{scratch.path.string() + "/rules_a.rules",
                                                     scratch.path.string() + "/rules_dir/"});
}

TEST_CASE("the history file lives under XDG_STATE_HOME, else ~/.local/state") {
  const char* old_state = std::getenv("XDG_STATE_HOME");
  std::string saved = old_state ? old_state : "";
  ::setenv("XDG_STATE_HOME", "/tmp/state-home", 1);
  CHECK(twin::default_history_path() == fs::path("/tmp/state-home/twin/history"));
  ::setenv("XDG_STATE_HOME", "relative/is/ignored", 1);
  const char* home = std::getenv("HOME");
  if (home) CHECK(twin::default_history_path() == fs::path(home) / ".local/state/twin/history");
  if (old_state) ::setenv("XDG_STATE_HOME", saved.c_str(), 1);
  else ::unsetenv("XDG_STATE_HOME");
}

TEST_CASE("each entered line is in the history file as soon as it is entered") {
  twin::testing::TempDir scratch;
  fs::path file = scratch.path / "state" / "twin" / "history";
  ReplHistory history(file);
  CHECK(history.load().empty());  // creates the directories
  CHECK(fs::is_directory(file.parent_path()));

  CHECK(history.add("sq(12)"));
  CHECK(read_file(file) == "sq(12)\n");
  CHECK(history.add("   "));       // blank: not recorded
  CHECK(history.add("sq(12)"));    // a repeat of the previous line: not recorded
  CHECK(history.add("1 + 2"));
  CHECK(read_file(file) == "sq(12)\n1 + 2\n");

  ReplHistory restarted(file);
  CHECK(restarted.load() == std::vector<std::string>{"sq(12)", "1 + 2"});
}

TEST_CASE("the history keeps only the newest entries once it grows past its cap") {
  twin::testing::TempDir scratch;
  fs::path file = scratch.path / "history";
  ReplHistory history(file, 3);
  history.load();
  for (int i = 0; i < 10; ++i) CHECK(history.add("entry " + std::to_string(i)));

  std::string text = read_file(file);
  CHECK(std::count(text.begin(), text.end(), '\n') <= 6);  // trimmed once past twice the cap
  CHECK(text.find("entry 9\n") != std::string::npos);
  CHECK(ReplHistory(file, 3).load() == std::vector<std::string>{"entry 7", "entry 8", "entry 9"});
}
