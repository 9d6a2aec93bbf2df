// The `twin` command line (cli/): commands, exit statuses, and what they do to files.
// These tests run the built binary, TWIN_BINARY_DIR/twin, on files in a scratch directory.
#include "tests/support.h"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const std::string kTwin = TWIN_BINARY_DIR "/twin";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Outcome {
  int status = -1;
  std::string output;  // standard output and standard error together
};

// Runs `twin ARGS` in `directory` (a shell command line: quote file names with quoted()).
Outcome run_twin(const std::string& arguments, const fs::path& directory = fs::current_path(),
             const std::string& input = "") {
  REQUIRE_MESSAGE(fs::exists(kTwin), "the twin binary is not built: build the twin_cli target first");
  std::string command = "cd " + quoted(directory.string()) + " && ";
  if (!input.empty()) command += "printf '%s' " + quoted(input) + " | ";
  command += quoted(kTwin) + " " + arguments + " 2>&1";
  Outcome outcome;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) outcome.output.append(buffer, n);
  int status = ::pclose(pipe);
  outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

const char* kMessyRules =
    "version   1\n"
    "# a comment that must survive formatting\n"
    "ruleset   messy{rule   r1 :?a*1=>?a\n"
    "   rule r2:  ?a  +  ?b<=>?b+?a   # trailing comment\n"
    "}\n";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("twin --version, --help and help COMMAND answer on standard output with status 0") {
  Outcome version = run_twin("--version");
  CHECK(version.status == 0);
  CHECK(version.output.starts_with("twin "));

  Outcome help = run_twin("--help");
  CHECK(help.status == 0);
  CHECK(contains(help.output, "run"));
  CHECK(contains(help.output, "repl"));
  CHECK(contains(help.output, "fmt"));

  Outcome fmt_help = run_twin("help fmt");
  CHECK(fmt_help.status == 0);
  CHECK(contains(fmt_help.output, "--check"));
  CHECK(run_twin("run --help").status == 0);
}

TEST_CASE("bad usage prints the usage and exits 2") {
  Outcome nothing = run_twin("");
  CHECK(nothing.status == 2);
  CHECK(contains(nothing.output, "usage: twin"));

  Outcome unknown = run_twin("frobnicate");
  CHECK(unknown.status == 2);
  CHECK(contains(unknown.output, "frobnicate"));

  Outcome no_script = run_twin("run");
  CHECK(no_script.status == 2);
  CHECK(contains(no_script.output, "usage: twin run"));

  CHECK(run_twin("fmt").status == 2);
  CHECK(run_twin("fmt --bogus x.rules").status == 2);
  CHECK(run_twin("help frobnicate").status == 2);
}

TEST_CASE("run passes the arguments after the script to it as the list `args`") {
  twin::testing::TempDir scratch;
  scratch.write("echo.twin", "print(len(args))\nfor a in args { print(a) }\n");
  Outcome outcome = run_twin("run echo.twin one 'two words' --flag", scratch.path);
  CHECK(outcome.status == 0);
  CHECK(outcome.output == "3\none\ntwo words\n--flag\n");
}

TEST_CASE("run exits 1 when an assert fails and 2 on any other error, naming file:line:col") {
  twin::testing::TempDir scratch;
  scratch.write("assert.twin", "print(\"before\")\nassert 1 == 2\n");
  Outcome failed = run_twin("run assert.twin", scratch.path);
  CHECK(failed.status == 1);
  CHECK(failed.output.starts_with("before\n"));  // what the script printed comes first
  CHECK(contains(failed.output, "assert.twin:2:"));

  scratch.write("syntax.twin", "let x = 1\nlet y = x + * 2\n");
  Outcome syntax = run_twin("run syntax.twin", scratch.path);
  CHECK(syntax.status == 2);
  CHECK(contains(syntax.output, "syntax.twin:2:13"));

  scratch.write("runtime.twin", "fn inner(x) { return x / 0 }\ninner(1)\n");
  Outcome runtime = run_twin("run runtime.twin", scratch.path);
  CHECK(runtime.status == 2);
  CHECK(contains(runtime.output, "runtime.twin:1:"));
  CHECK(contains(runtime.output, "inner"));

  CHECK(run_twin("run missing.twin", scratch.path).status == 2);
}

TEST_CASE("run handles deep recursion, and reports runaway recursion as an error, not a crash") {
  twin::testing::TempDir scratch;
  scratch.write("deep.twin", "fn depth(n) { if n == 0 { return 0 } return depth(n - 1) + 1 }\nprint(depth(900))\n");
  Outcome outcome = run_twin("run deep.twin", scratch.path);
  CHECK(outcome.status == 0);
  CHECK(outcome.output == "900\n");
  scratch.write("deeper.twin", "fn depth(n) { return depth(n + 1) }\ndepth(0)\n");
  CHECK(run_twin("run deeper.twin", scratch.path).status == 2);  // an error, not a crash
}

TEST_CASE("run lets a script read its own directory and --allow-read directories, nothing else") {
  twin::testing::TempDir scratch;
  fs::create_directories(scratch.path / "scripts");
  fs::create_directories(scratch.path / "data");
  fs::create_directories(scratch.path / "elsewhere");
  scratch.write("scripts/beside.txt", "beside\n");
  scratch.write("data/input.txt", "data\n");
  scratch.write("scripts/read.twin", "print(read_text(args[0]))\n");
  fs::path from = scratch.path / "elsewhere";
  std::string data = quoted((scratch.path / "data/input.txt").string());
  std::string beside = quoted((scratch.path / "scripts/beside.txt").string());

  CHECK(run_twin("run ../scripts/read.twin " + beside, from).status == 0);
  Outcome denied = run_twin("run ../scripts/read.twin " + data, from);
  CHECK(denied.status == 2);
  CHECK(contains(denied.output, "allow"));
  Outcome allowed = run_twin("run --allow-read ../data ../scripts/read.twin " + data, from);
  CHECK(allowed.status == 0);
  CHECK(contains(allowed.output, "data"));
}

TEST_CASE("fmt --check exits 1 for a file that is not canonical and changes nothing") {
  twin::testing::TempDir scratch;
  fs::path file = scratch.write("messy.rules", kMessyRules);
  Outcome outcome = run_twin("fmt --check messy.rules", scratch.path);
  CHECK(outcome.status == 1);
  CHECK(contains(outcome.output, "messy.rules"));
  CHECK(read_file(file) == kMessyRules);
}

TEST_CASE("fmt rewrites a file canonically, keeps its comments and permissions, and is idempotent") {
  twin::testing::TempDir scratch;
  fs::path file = scratch.write("messy.rules", kMessyRules);
  ::chmod(file.c_str(), 0640);

  CHECK(run_twin("fmt messy.rules", scratch.path).status == 0);
  std::string formatted = read_file(file);
  CHECK(formatted != kMessyRules);
  CHECK(contains(formatted, "# a comment that must survive formatting"));
  CHECK(contains(formatted, "# trailing comment"));
  CHECK(contains(formatted, "rule r1: ?a * 1 => ?a"));
  struct stat info {};
  ::stat(file.c_str(), &info);
  CHECK((info.st_mode & 07777) == 0640);

  CHECK(run_twin("fmt --check messy.rules", scratch.path).status == 0);
  CHECK(run_twin("fmt messy.rules", scratch.path).status == 0);
  CHECK(read_file(file) == formatted);
  // Only the file remains: no temporary file is left beside it.
  CHECK(std::distance(fs::directory_iterator(scratch.path), fs::directory_iterator()) == 1);
}

TEST_CASE("fmt leaves a canonical file untouched") {
  twin::testing::TempDir scratch;
  fs::path file = scratch.write("clean.rules", kMessyRules);
  REQUIRE(run_twin("fmt clean.rules", scratch.path).status == 0);
  struct stat before {};
  ::stat(file.c_str(), &before);
  Outcome outcome = run_twin("fmt clean.rules", scratch.path);
  CHECK(outcome.status == 0);
  CHECK(outcome.output.empty());
  struct stat after {};
  ::stat(file.c_str(), &after);
  CHECK(before.st_ino == after.st_ino);  // not even replaced by an identical copy
}

TEST_CASE("fmt reports a syntax error as file:line:col, exits 2, and leaves the file alone") {
  twin::testing::TempDir scratch;
  const std::string broken = "version 1\nruleset r {\n  rule a: ?x + => ?x\n}\n";
  fs::path file = scratch.write("broken.rules", broken);
  scratch.write("messy.rules", kMessyRules);
  Outcome outcome = run_twin("fmt broken.rules messy.rules", scratch.path);
  CHECK(outcome.status == 2);
  CHECK(contains(outcome.output, "broken.rules:3:"));
  CHECK(read_file(file) == broken);
  CHECK(read_file(scratch.path / "messy.rules") != kMessyRules);  // the other files are still formatted
}

TEST_CASE("repl reads piped lines without prompts and survives errors") {
  twin::testing::TempDir scratch;
  Outcome outcome = run_twin("repl", scratch.path, "fn sq(x) {\n  return x * x\n}\nsq(12)\nno_such_name + 1\nsq(3) + 1000\n");
  CHECK(outcome.status == 0);
  CHECK(outcome.output.starts_with("144\n"));
  CHECK(contains(outcome.output, "no_such_name"));
  CHECK(outcome.output.ends_with("1009\n"));
  CHECK_FALSE(contains(outcome.output, "twin>"));
}

TEST_CASE("repl runs the files it is given before reading input") {
  twin::testing::TempDir scratch;
  scratch.write("defs.twin", "let answer = 42\n");
  Outcome outcome = run_twin("repl defs.twin", scratch.path, "answer\n:quit\nanswer\n");
  CHECK(outcome.status == 0);
  CHECK(outcome.output == "42\n");
}

TEST_CASE("twin ops lists the registry, and docs/ops.md holds exactly its table") {
  Outcome text = run_twin("ops");
  CHECK(text.status == 0);
  CHECK(contains(text.output, "slice(input; dim: int = 0, start: int = none, end: int = none, step: int = 1)"));
  CHECK(contains(text.output, "aliases: view"));
  CHECK(run_twin("ops no_such_op").status == 2);
  Outcome markdown = run_twin("ops --markdown");
  REQUIRE(markdown.status == 0);
  std::string doc = read_file(fs::path(TWIN_SOURCE_DIR) / "docs" / "ops.md");
  const std::string begin = "<!-- registry table: generated by `twin ops --markdown`; edit ops/ instead -->\n";
  const std::string end = "<!-- end of registry table -->";
  auto a = doc.find(begin), b = doc.find(end);
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  CHECK_MESSAGE(doc.substr(a + begin.size(), b - a - begin.size()) == markdown.output,
                "docs/ops.md's registry table differs from `twin ops --markdown`: regenerate it");
}
