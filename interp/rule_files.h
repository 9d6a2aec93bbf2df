// Loading `.rules` files for a tool that is not a script: `twin check`, `twin verify`,
// `check_graphs(...)`. The front end parses and declares them (with their `use` imports) and
// hands back the frozen table of declarations (compiler/declarations.h), which the checker and
// the verifier read without an interpreter.
#pragma once

#include "compiler/declarations.h"

#include <filesystem>
#include <memory>
#include <vector>

namespace twin {

struct RuleFiles {
  std::vector<std::filesystem::path> files;  // loaded in order, after the stdlib
  bool stdlib = true;                        // the installed standard library's *.rules first
  // Directories `use` may read besides the library path, and each file's own directory unless
  // `confine` is set.
  std::vector<std::filesystem::path> allow_read;
  std::vector<std::filesystem::path> allow_read_files;  // single files, as allow_read
  // Read the files themselves under `allow_read` only: how check_graphs keeps a script's rule
  // files inside the script's sandbox.
  bool confine = false;
  // The library path for `use` (empty: the default, InterpreterOptions::library_path).
  std::vector<std::filesystem::path> library_path;
};

// The installed standard library's rule files, sorted by name.
std::vector<std::filesystem::path> stdlib_rule_files();

// Throws twin::Error (located) for a file that does not load.
std::shared_ptr<const compiler::Declarations> load_rule_files(const RuleFiles& request);

}  // namespace twin
