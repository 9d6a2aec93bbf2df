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
  // Directories `use` may read besides each file's own directory and the library path.
  std::vector<std::filesystem::path> allow_read;
};

// The installed standard library's rule files, sorted by name.
std::vector<std::filesystem::path> stdlib_rule_files();

// Throws twin::Error (located) for a file that does not load.
std::shared_ptr<const compiler::Declarations> load_rule_files(const RuleFiles& request);

}  // namespace twin
