// The `twin` command line (cli/): commands, exit statuses, and what they do to files.
// These tests run the built binary, TWIN_BINARY_DIR/twin, on files in a scratch directory.
#include "tests/support.h"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cctype>
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
  CHECK_FALSE(contains(run_twin("help frobnicate").output, "did you mean"));

  Outcome typo = run_twin("chek --ref a --port b");
  CHECK(typo.status == 2);
  CHECK(contains(typo.output, "unknown command 'chek' (did you mean 'check'?)"));
  CHECK(contains(run_twin("help verfy").output, "(did you mean 'verify'?)"));
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

TEST_CASE("run lets a script read its own directory, --allow-read directories and the files its arguments name") {
  twin::testing::TempDir scratch;
  fs::create_directories(scratch.path / "scripts");
  fs::create_directories(scratch.path / "data");
  fs::create_directories(scratch.path / "elsewhere");
  scratch.write("scripts/beside.txt", "beside\n");
  scratch.write("data/input.txt", "data\n");
  scratch.write("data/other.txt", "other\n");
  scratch.write("scripts/read.twin", "print(read_text(args[0]))\n");
  scratch.write("scripts/read_other.twin", "print(read_text(\"" + (scratch.path / "data/other.txt").string() + "\"))\n");
  fs::path from = scratch.path / "elsewhere";
  std::string data = quoted((scratch.path / "data/input.txt").string());
  std::string beside = quoted((scratch.path / "scripts/beside.txt").string());

  CHECK(run_twin("run ../scripts/read.twin " + beside, from).status == 0);
  // A file named by an argument is readable: the user handed it to the script.
  Outcome named = run_twin("run ../scripts/read.twin " + data, from);
  CHECK(named.status == 0);
  CHECK(contains(named.output, "data"));
  // Only that file, not its directory.
  Outcome denied = run_twin("run ../scripts/read_other.twin " + data, from);
  CHECK(denied.status == 2);
  CHECK(contains(denied.output, "allow"));
  Outcome allowed = run_twin("run --allow-read ../data ../scripts/read_other.twin", from);
  CHECK(allowed.status == 0);
  CHECK(contains(allowed.output, "other"));
}

TEST_CASE("run --timeout stops a runaway script with a clear error, exit 2") {
  twin::testing::TempDir scratch;
  scratch.write("spin.twin", "print(\"started\")\nwhile true {}\n");
  Outcome outcome = run_twin("run --timeout 0.5 spin.twin", scratch.path);
  CHECK(outcome.status == 2);
  CHECK(outcome.output.starts_with("started\n"));
  CHECK(contains(outcome.output, "spin.twin:2:1: limit exceeded: time limit of 0.5 s reached"));
  CHECK(run_twin("run --timeout 0 spin.twin", scratch.path).status == 2);  // a usage error
  CHECK(contains(run_twin("run --timeout soon spin.twin", scratch.path).output, "--timeout"));
}

TEST_CASE("run --max-memory stops a doubling loop with a clear error, exit 2") {
  twin::testing::TempDir scratch;
  scratch.write("grow.twin", "print(\"started\")\nlet s = \"ab\"\nlet l = [1, 2]\nwhile true {\n  s = s + s\n  l = l + l\n}\n");
  Outcome outcome = run_twin("run --max-memory 64M grow.twin", scratch.path);
  CHECK(outcome.status == 2);
  CHECK(outcome.output.starts_with("started\n"));
  CHECK(contains(outcome.output, "memory limit of 64 MiB reached"));
  CHECK(contains(run_twin("run --max-memory lots grow.twin", scratch.path).output, "--max-memory"));
}

TEST_CASE("run refuses huge integer text quickly instead of converting it") {
  twin::testing::TempDir scratch;
  scratch.write("big.twin", "let x = 1" + std::string(1000000, '0') + "\nprint(1)\n");
  Outcome literal = run_twin("run big.twin", scratch.path);
  CHECK(literal.status == 2);
  CHECK(contains(literal.output, "big.twin:1:9"));
  CHECK(contains(literal.output, "digits"));
  CHECK(run_twin("fmt --check big.twin", scratch.path).status == 2);
  scratch.write("str.twin", "print(len(str(10 ** 1000000)))\n");
  Outcome text = run_twin("run str.twin", scratch.path);
  CHECK(text.status == 2);
  CHECK(contains(text.output, "limit of 4300 digits"));
}

TEST_CASE("run --no-cache: check_graphs verifies its rules and writes no file") {
  twin::testing::TempDir scratch;
  for (const char* dir : {"home", "xdg-cache", "xdg-config", "work"}) fs::create_directories(scratch.path / dir);
  scratch.write("work/right.rules", "version 1\n\nruleset right {\n  rule swap_add: ?a + ?b => ?b + ?a\n}\n");
  scratch.write("work/cg.twin",
                "let r = check_graphs(args[0], args[1], rules=[\"right.rules\"], stdlib=false, numerics=false)\n"
                "print(r.verdict)\n");
  std::string llama = TWIN_SOURCE_DIR "/examples/llama/";
  std::string environment = "env -u TWIN_CACHE_DIR -u TWIN_KEY_FILE HOME=" + quoted((scratch.path / "home").string()) +
                            " XDG_CACHE_HOME=" + quoted((scratch.path / "xdg-cache").string()) +
                            " XDG_CONFIG_HOME=" + quoted((scratch.path / "xdg-config").string()) + " ";
  auto files_written = [&] {
    std::vector<std::string> files;
    for (const char* dir : {"home", "xdg-cache", "xdg-config"})
      for (const auto& entry : fs::recursive_directory_iterator(scratch.path / dir))
        if (entry.is_regular_file()) files.push_back(entry.path().string());
    return files;
  };
  std::string graphs = quoted(llama + "reference.graph") + " " + quoted(llama + "port.graph");
  std::string in_work = "cd " + quoted((scratch.path / "work").string()) + " && " + environment + quoted(kTwin);
  auto no_cache = twin::testing::shell(in_work + " run --no-cache cg.twin " + graphs);
  CHECK_MESSAGE(no_cache.status == 0, no_cache.output);
  CHECK(files_written().empty());
  // Without --no-cache, the verdict (and the key that signs it) are written: the cache is in use.
  auto cached = twin::testing::shell(in_work + " run cg.twin " + graphs);
  CHECK_MESSAGE(cached.status == 0, cached.output);
  CHECK_FALSE(files_written().empty());
}

TEST_CASE("docs/cli.md documents every option each command's help lists") {
  const std::string doc = read_file(fs::path(TWIN_SOURCE_DIR) / "docs" / "cli.md");
  for (const std::string command : {"run", "repl", "fmt", "verify", "capture", "check", "disasm", "ops"}) {
    CAPTURE(command);
    const std::string heading = "## `twin " + command + "`";
    std::size_t begin = doc.find(heading);
    REQUIRE_MESSAGE(begin != std::string::npos, "docs/cli.md has no section " << heading);
    std::size_t end = doc.find("\n## ", begin + heading.size());
    const std::string section = doc.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    CHECK_MESSAGE(contains(doc, "| `twin " + command), "the table of commands lacks twin " << command);
    Outcome help = run_twin("help " + command);
    REQUIRE(help.status == 0);
    for (std::size_t at = help.output.find("--"); at != std::string::npos; at = help.output.find("--", at + 2)) {
      std::size_t stop = at + 2;
      while (stop < help.output.size() && (std::islower(static_cast<unsigned char>(help.output[stop])) || help.output[stop] == '-'))
        ++stop;
      if (stop == at + 2) continue;
      const std::string option = help.output.substr(at, stop - at);
      CHECK_MESSAGE(contains(section, option), "twin help " << command << " lists " << option
                                                             << ", which its section of docs/cli.md does not");
    }
  }
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

TEST_CASE("fmt --diff prints a unified diff to the canonical form, exits 1, and changes nothing") {
  twin::testing::TempDir scratch;
  fs::path file = scratch.write("messy.rules", kMessyRules);
  Outcome outcome = run_twin("fmt --diff messy.rules", scratch.path);
  CHECK(outcome.status == 1);
  CHECK(contains(outcome.output, "--- messy.rules\n+++ messy.rules (formatted)\n@@ -1,5 +1,"));
  CHECK(contains(outcome.output, "\n-ruleset   messy{rule   r1 :?a*1=>?a\n"));
  CHECK(contains(outcome.output, "\n+  rule r1: ?a * 1 => ?a\n"));
  CHECK(contains(outcome.output, "\n # a comment that must survive formatting\n"));  // context
  CHECK(read_file(file) == kMessyRules);

  REQUIRE(run_twin("fmt messy.rules", scratch.path).status == 0);
  Outcome clean = run_twin("fmt --diff messy.rules", scratch.path);
  CHECK(clean.status == 0);
  CHECK(clean.output.empty());
}

TEST_CASE("fmt - formats standard input to standard output") {
  twin::testing::TempDir scratch;
  Outcome outcome = run_twin("fmt -", scratch.path, kMessyRules);
  CHECK(outcome.status == 0);
  CHECK(contains(outcome.output, "rule r1: ?a * 1 => ?a"));
  CHECK(contains(outcome.output, "# trailing comment"));
  CHECK(fs::is_empty(scratch.path));

  Outcome broken = run_twin("fmt -", scratch.path, "version 1\nruleset r {\n  rule a: ?x + => ?x\n}\n");
  CHECK(broken.status == 2);
  CHECK(contains(broken.output, "<stdin>:3:"));
  CHECK(run_twin("fmt - other.rules", scratch.path, kMessyRules).status == 2);
}

TEST_CASE("every .rules and .twin file in the repository is canonically formatted") {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(TWIN_SOURCE_DIR)) {
    std::string relative = fs::relative(entry.path(), TWIN_SOURCE_DIR).string();
    if (relative.starts_with("build") || relative.starts_with(".git") || !entry.is_regular_file()) continue;
    std::string extension = entry.path().extension().string();
    if (extension == ".rules" || extension == ".twin") files.push_back(quoted(entry.path().string()));
  }
  REQUIRE(files.size() > 10);
  std::string arguments = "fmt --check";
  for (const std::string& file : files) arguments += " " + file;
  Outcome outcome = run_twin(arguments);
  CHECK_MESSAGE(outcome.status == 0, outcome.output);
}

TEST_CASE("verify exits 1 on a rule it cannot verify unless --allow-unknown, and says why plainly") {
  twin::testing::TempDir scratch;
  scratch.write("attr.rules",
                "version 1\n\nruleset attr_arith {\n"
                "  rule first_half: slice(?x, dim=-1, start=0, end=2 * ?k) => slice(?x, dim=-1, start=0, end=?k + ?k)\n}\n");
  Outcome strict = run_twin("verify --no-cache --rule-seconds 20 attr.rules", scratch.path);
  CHECK_MESSAGE(strict.status == 1, strict.output);
  CHECK(contains(strict.output, "unknown"));
  CHECK(contains(strict.output, "--allow-unknown"));
  CHECK_FALSE(contains(strict.output, "no encoding for no"));
  Outcome allowed = run_twin("verify --no-cache --rule-seconds 20 --allow-unknown attr.rules", scratch.path);
  CHECK_MESSAGE(allowed.status == 0, allowed.output);
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

TEST_CASE("fmt refuses a file the user may not write, and leaves its text and owner") {
  twin::testing::TempDir scratch;
  ::chmod(scratch.path.c_str(), 0777);  // a directory anyone may write: a rename would succeed
  fs::path file = scratch.write("ro.rules", kMessyRules);
  ::chmod(file.c_str(), 0444);
  std::string command = "cd " + quoted(scratch.path.string()) + " && " + quoted(kTwin) + " fmt ro.rules";
  if (::geteuid() == 0) {
    // root may write anything: become another user, as in the attack this guards against.
    if (twin::testing::shell("command -v setpriv").status != 0) return;
    fs::copy_file(kTwin, scratch.path / "twin-copy");
    ::chmod((scratch.path / "twin-copy").c_str(), 0755);
    command = "cd " + quoted(scratch.path.string()) +
              " && setpriv --reuid=nobody --regid=nogroup --clear-groups ./twin-copy fmt ro.rules";
  }
  struct stat before {};
  ::stat(file.c_str(), &before);
  auto outcome = twin::testing::shell(command);
  CHECK(outcome.status == 2);
  CHECK(contains(outcome.output, "cannot write"));
  CHECK(contains(outcome.output, "unchanged"));
  CHECK(read_file(file) == kMessyRules);
  struct stat after {};
  ::stat(file.c_str(), &after);
  CHECK(after.st_uid == before.st_uid);
  CHECK(after.st_ino == before.st_ino);
}

TEST_CASE("fmt keeps a file's hard links: the file is rewritten in place") {
  twin::testing::TempDir scratch;
  fs::path file = scratch.write("linked.rules", kMessyRules);
  fs::create_hard_link(file, scratch.path / "other-name.rules");
  struct stat before {};
  ::stat(file.c_str(), &before);
  CHECK(run_twin("fmt linked.rules", scratch.path).status == 0);
  struct stat after {};
  ::stat(file.c_str(), &after);
  CHECK(after.st_ino == before.st_ino);
  CHECK(after.st_nlink == 2);
  CHECK(read_file(scratch.path / "other-name.rules") == read_file(file));
  CHECK(read_file(file) != kMessyRules);
  CHECK(std::distance(fs::directory_iterator(scratch.path), fs::directory_iterator()) == 2);  // no temporary left
}

TEST_CASE("fmt survives input nested as deeply as a 100,000-long ** chain") {
  twin::testing::TempDir scratch;
  std::string chain = "let x = 2";
  for (int i = 0; i < 100000; ++i) chain += " ** 2";
  scratch.write("pow.twin", chain + "\n");
  Outcome outcome = run_twin("fmt --check pow.twin", scratch.path);
  CHECK(outcome.status == 2);  // refused with an error, as `twin run` refuses it: not a crash
  CHECK(contains(outcome.output, "nested"));
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

TEST_CASE("fmt refuses a FIFO or a device at once instead of waiting on it") {
  twin::testing::TempDir scratch;
  REQUIRE(::mkfifo((scratch.path / "pipe.twin").c_str(), 0600) == 0);
  Outcome fifo = run_twin("fmt --check pipe.twin", scratch.path);  // no writer: a plain read would wait forever
  CHECK(fifo.status == 2);
  CHECK(contains(fifo.output, "pipe.twin is a FIFO, not a file"));
  Outcome device = run_twin("fmt --check /dev/zero", scratch.path);  // a read that never ends
  CHECK(device.status == 2);
  CHECK(contains(device.output, "is a device, not a file"));
}

TEST_CASE("twin stages runs the stage scripts, or a user's --script; its errors exit 2 with a location") {
  twin::testing::TempDir scratch;
  const std::string llama = std::string(TWIN_SOURCE_DIR) + "/examples/llama/";
  const std::string pair = "--ref " + quoted(llama + "reference.graph") + " --port " + quoted(llama + "bugs/silu_on_up.graph");
  Outcome shipped = run_twin("stages " + pair + " --out out", scratch.path);
  CHECK(shipped.status == 0);
  CHECK(contains(shipped.output, "stage 3: primary suspect layers.0.mlp.act_fn (step"));
  CHECK(contains(read_file(scratch.path / "out" / "report.md"), "Primary suspect: **`layers.0.mlp.act_fn`**"));
  // A project's stricter end-to-end criterion, the rest as shipped.
  std::ofstream(scratch.path / "ours.twin") << "use \"std/stages/stages.twin\"\n"
                                               "fn stage56_teacher_forced(p, out, config) {\n"
                                               "  write_text(out + \"/results/teacher_forced.json\", to_json({\"pass\": false, \"ours\": true}))\n"
                                               "  return {\"applicable\": false, \"note\": \"ours\"}\n"
                                               "}\n";
  Outcome ours = run_twin("stages " + pair + " --out out2 --script ours.twin", scratch.path);
  CHECK(ours.status == 0);
  CHECK(contains(read_file(scratch.path / "out2" / "results" / "teacher_forced.json"), "\"ours\": true"));
  std::ofstream(scratch.path / "broken.twin") << "use \"std/stages/stages.twin\"\nfn stage2_components(p, out, config) { return p.nope }\n";
  Outcome broken = run_twin("stages " + pair + " --out out3 --script broken.twin", scratch.path);
  CHECK(broken.status == 2);
  CHECK(contains(broken.output, "broken.twin:2:"));
  std::ofstream(scratch.path / "empty.twin") << "let x = 1\n";
  Outcome empty = run_twin("stages " + pair + " --out out4 --script empty.twin", scratch.path);
  CHECK(empty.status == 2);
  CHECK(contains(empty.output, "defines no run_stages(config)"));
  // A script writes nothing outside --out.
  std::ofstream(scratch.path / "escape.twin") << "fn run_stages(config) { write_text(config.out + \"/../escaped.txt\", \"x\") }\n";
  Outcome escape = run_twin("stages " + pair + " --out out5 --script escape.twin", scratch.path);
  CHECK(escape.status == 2);
  CHECK(contains(escape.output, "not allowed"));
  CHECK_FALSE(fs::exists(scratch.path / "escaped.txt"));
}
