// Helpers shared by the test files: run a script and collect what it printed; make
// temporary directories that clean up after themselves; run a shell command.
#pragma once

#include "compiler/rule_compiler.h"
#include "interp/interpreter.h"
#include "interp/lib/libraries.h"
#include "interp/term.h"

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace twin::testing {

// A shell command's exit status (128 + signal when killed) and its output (stdout and stderr).
struct Outcome {
  int status = -1;
  std::string output;
};

inline Outcome shell(const std::string& command) {
  Outcome outcome;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) outcome.output.append(buffer, n);
  int status = ::pclose(pipe);
  outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("twin-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    auto file = path / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file;
  }
};

// An interpreter whose output is captured into `output`, with every library open (as `twin run`
// has them).
struct CapturingInterpreter {
  std::string output;
  Interpreter interpreter;
  explicit CapturingInterpreter(InterpreterOptions options = {})
      : interpreter([&] {
          options.output = [this](std::string_view text) { output += text; };
          return options;
        }()) {
    open_all_libraries(interpreter);
  }
  std::string run(const std::string& source, const std::string& name = "test.twin") {
    output.clear();
    interpreter.eval_string(source, name);
    return output;
  }
};

// A rule's meaning, left to right: what `twin verify` validates (declared ops' bodies expanded),
// compiled by the rule compiler against the interpreter's declarations, interned in `ops`.
inline egraph::Rewrite rule_meaning(Interpreter& interpreter, const RuleValue& rule,
                                    std::shared_ptr<egraph::OpTable> ops) {
  compiler::RuleCompiler compiler(interpreter.declarations(), std::move(ops));
  return compiler.compile(rule.source())->meaning.front();
}

}  // namespace twin::testing
