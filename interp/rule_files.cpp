#include "interp/rule_files.h"

#include "interp/evaluator.h"
#include "interp/interpreter.h"

#include <algorithm>

namespace twin {

namespace fs = std::filesystem;

std::vector<fs::path> stdlib_rule_files() {
  std::vector<fs::path> files;
  fs::path dir = installed_stdlib_directory();
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".rules") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::shared_ptr<const compiler::Declarations> load_rule_files(const RuleFiles& request) {
  InterpreterOptions options;
  options.allowed_read_dirs = request.allow_read;
  options.allowed_read_files = request.allow_read_files;
  options.library_path = request.library_path;
  if (!request.confine)
    for (const auto& f : request.files) options.allowed_read_dirs.push_back(fs::absolute(f).parent_path());
  Interpreter interpreter(std::move(options));
  std::vector<fs::path> files;
  if (request.stdlib) files = stdlib_rule_files();
  files.insert(files.end(), request.files.begin(), request.files.end());
  for (const auto& f : files) interpreter.load_declarations(f);
  return interpreter.evaluator().declarations();
}

}  // namespace twin
