// The standard library (stdlib/*.rules): every file loads on its own, every rule lowers to
// the engine's form, and Z3 refutes none of its rules.
//
// Z3 is asked about each rule's forward direction on one shape instance with a short
// timeout, so the whole check stays within CI's budget; `twin verify stdlib/*.rules` is the
// full check (three instances, both directions, random testing where Z3 cannot decide).
// A rule Z3 cannot decide here (unknown, not encodable) passes this test: only a
// refutation fails it.
#include "interp/evaluator.h"
#include "interp/interpreter.h"
#include "interp/term.h"
#include "support.h"
#include "verify/z3_checker.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace twin;

const fs::path kStdlib = fs::path(TWIN_SOURCE_DIR) / "stdlib";

std::vector<fs::path> stdlib_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kStdlib))
    if (entry.path().extension() == ".rules") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

InterpreterOptions stdlib_options() {
  InterpreterOptions options;
  options.allowed_read_dirs = {kStdlib};
  options.library_path = {kStdlib};
  return options;
}

}  // namespace

TEST_CASE("the stdlib holds the rule packs, each starting with `version 1`") {
  std::vector<std::string> names;
  for (const auto& f : stdlib_files()) names.push_back(f.filename().string());
  for (const char* expected :
       {"core.rules", "layout.rules", "linear.rules", "activations.rules", "softmax.rules", "norm.rules"}) {
    CAPTURE(expected);
    CHECK(std::find(names.begin(), names.end(), expected) != names.end());
  }
}

TEST_CASE("every stdlib file loads on its own, and its rules lower to rewrites") {
  for (const auto& file : stdlib_files()) {
    std::string name = file.filename().string();
    CAPTURE(name);
    Interpreter interpreter(stdlib_options());
    REQUIRE_NOTHROW(interpreter.load_declarations(file));
    auto ops = std::make_shared<egraph::OpTable>();
    for (const auto& ruleset : interpreter.evaluator().rulesets()) {
      for (const auto& rule : ruleset->rules()) {
        std::string rule_name = rule->name();
        CAPTURE(rule_name);
        CHECK_NOTHROW(testing::rule_meaning(interpreter, *rule, ops));
      }
    }
  }
}

TEST_CASE("no stdlib rule pack names a ruleset twice (a later one would replace an earlier one)") {
  Interpreter interpreter(stdlib_options());
  std::vector<std::string> names;
  for (const auto& file : stdlib_files()) {
    std::size_t before = interpreter.evaluator().rulesets().size();
    interpreter.load_declarations(file);
    const auto& rulesets = interpreter.evaluator().rulesets();
    for (std::size_t i = before; i < rulesets.size(); ++i) {
      std::string ruleset_name = rulesets[i]->name();
      CAPTURE(ruleset_name);
      CHECK(std::find(names.begin(), names.end(), rulesets[i]->name()) == names.end());
      names.push_back(rulesets[i]->name());
    }
  }
}

TEST_CASE("Z3 refutes no stdlib rule") {
  verify::Z3Options options;
  options.instances = 1;
  options.timeout_ms = 3000;
  int checked = 0, proved = 0, encodable = 0;
  auto start = std::chrono::steady_clock::now();
  for (const auto& file : stdlib_files()) {
    Interpreter interpreter(stdlib_options());
    interpreter.load_declarations(file);
    auto ops = std::make_shared<egraph::OpTable>();
    for (const auto& ruleset : interpreter.evaluator().rulesets()) {
      for (const auto& rule : ruleset->rules()) {
        std::string where = file.filename().string() + ": " + rule->to_string();
        CAPTURE(where);
        egraph::Rewrite rewrite = testing::rule_meaning(interpreter, *rule, ops);
        verify::Z3Verdict verdict = verify::check_rule_z3(rewrite, *ops, options);
        std::string why = verdict.reason + (verdict.counterexample ? "\n" + verdict.counterexample->to_string() : "");
        CAPTURE(why);
        CHECK(verdict.status != verify::Z3Status::Refuted);
        ++checked;
        if (verdict.status != verify::Z3Status::NotEncodable) ++encodable;
        if (verdict.status == verify::Z3Status::Proved) ++proved;
      }
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("stdlib: " << checked << " rules, " << encodable << " encodable, " << proved
                      << " proved by Z3 on one instance, " << seconds << " s");
  CHECK(checked >= 50);
  // Most of the stdlib is decided by Z3 itself: nearly every rule it can encode is proved (the
  // rest, and the rules it cannot encode, such as SDPA's meaning, go to random testing).
  CHECK(encodable * 10 >= checked * 8);
  CHECK(proved * 10 >= encodable * 9);
}
