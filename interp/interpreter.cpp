#include "interp/interpreter.h"

#include "interp/evaluator.h"
#include "interp/parser.h"
#include "interp/term.h"
#include "util/atomic_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <set>
#include <sstream>
#include <system_error>

#ifndef TWIN_INSTALLED_STDLIB_DIR
#define TWIN_INSTALLED_STDLIB_DIR ""
#endif
#ifndef TWIN_SOURCE_STDLIB_DIR
#define TWIN_SOURCE_STDLIB_DIR ""
#endif

namespace twin {

namespace fs = std::filesystem;

fs::path installed_stdlib_directory() {
  std::error_code ec;
  fs::path installed(TWIN_INSTALLED_STDLIB_DIR);
  if (!installed.empty() && fs::is_directory(installed, ec)) return installed;
  // Running from a build tree: the stdlib of the source tree this Twin was built from.
  return fs::path(TWIN_SOURCE_STDLIB_DIR);
}

// Runs a piece of user-facing work, turning anything that is not a twin::Error into one:
// no input may crash the host. The outermost call starts the limits' budget and sets the
// integer digits limit for the thread.
template <class F>
Value Interpreter::guarded(F&& work) {
  ScriptBudget::Scope budget(budget_);
  IntegerDigitsLimitScope digits(options_.integer_digits_limit);
  try {
    return work();
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorKind::Limit, "out of memory");
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Value, std::string("internal error: ") + e.what());
  }
}

Interpreter::Interpreter(InterpreterOptions options)
    : options_(std::move(options)),
      budget_({options_.time_limit_seconds, options_.step_limit, options_.memory_limit_bytes}) {
  if (!options_.output) options_.output = [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  if (options_.library_path.empty()) {
    if (const char* env = std::getenv("TWIN_PATH")) {
      std::stringstream parts(env);
      std::string part;
      while (std::getline(parts, part, ':'))
        if (!part.empty()) options_.library_path.emplace_back(part);
    }
    fs::path stdlib = installed_stdlib_directory();
    if (!stdlib.empty()) options_.library_path.push_back(stdlib);
  }
  for (const auto& dir : options_.allowed_read_dirs) sandbox_.allow(dir);
  for (const auto& file : options_.allowed_read_files) sandbox_.allow_file(file);
  for (const auto& dir : options_.library_path) sandbox_.allow(dir);
  evaluator_ = std::make_unique<Evaluator>(*this);
  install_builtins(*this);
}

Interpreter::~Interpreter() = default;

Value Interpreter::eval_string(std::string_view source, const std::string& chunk_name) {
  return guarded([&] {
    auto file = std::make_shared<SourceFile>(chunk_name, std::string(source));
    Program program = parse_program(file);
    return evaluator_->run(program, false);
  });
}

Value Interpreter::eval_file(const fs::path& path) {
  return guarded([&] { return evaluator_->run_file(path, path.string(), SourceLocation{}); });
}

void Interpreter::load_declarations(const fs::path& path) {
  guarded([&] { return evaluator_->run_file(path, path.string(), SourceLocation{}, true); });
}

const std::vector<DeclaredRelation>& Interpreter::declared_relations() const { return evaluator_->relations(); }

std::shared_ptr<const compiler::Declarations> Interpreter::declarations() const { return evaluator_->declarations(); }

bool Interpreter::has_global(const std::string& name) const { return evaluator_->globals()->vars().count(name) > 0; }

Value Interpreter::get_global(const std::string& name) const {
  auto& vars = evaluator_->globals()->vars();
  auto it = vars.find(name);
  return it == vars.end() ? Value() : it->second;
}

void Interpreter::set_global(const std::string& name, Value value) { evaluator_->globals()->define(name, std::move(value)); }

std::vector<std::string> Interpreter::global_names() const {
  std::vector<std::string> names;
  for (const auto& [name, value] : evaluator_->globals()->vars()) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

void Interpreter::register_function(const std::string& name, NativeFunctionBody body) {
  set_global(name, Value(std::make_shared<NativeFunction>(name, std::move(body))));
}

Value Interpreter::call(const Value& function, std::vector<Value> positional) {
  return guarded([&] {
    CallArgs args;
    args.positional = std::move(positional);
    return evaluator_->call(function, args, SourceLocation{});
  });
}

void Interpreter::request_interrupt() { evaluator_->request_interrupt(); }

void Interpreter::set_output(std::function<void(std::string_view)> output) { options_.output = std::move(output); }

void Interpreter::print(std::string_view text) { options_.output(text); }

void Interpreter::set_diagnostics(std::function<void(const Diagnostic&)> diagnostics) {
  options_.diagnostics = std::move(diagnostics);
}

void Interpreter::diagnose(const Diagnostic& diagnostic) {
  if (options_.diagnostics) options_.diagnostics(diagnostic);
}

void Interpreter::allow_read(const fs::path& directory) {
  options_.allowed_read_dirs.push_back(directory);
  sandbox_.allow(directory);
}

void Interpreter::allow_read_file(const fs::path& file) {
  options_.allowed_read_files.push_back(file);
  sandbox_.allow_file(file);
}

void Interpreter::set_limits(double time_limit_seconds, std::uint64_t step_limit, std::size_t memory_limit_bytes) {
  options_.time_limit_seconds = time_limit_seconds;
  options_.step_limit = step_limit;
  options_.memory_limit_bytes = memory_limit_bytes;
  budget_.set_limits({time_limit_seconds, step_limit, memory_limit_bytes});
}

bool Interpreter::may_read(const fs::path& path) const { return sandbox_.covers(path); }

SandboxedFile Interpreter::open_for_script(const fs::path& path) const { return sandbox_.open(path); }

Error Interpreter::file_error(const SandboxedFile& file, const fs::path& path, const SourceLocation& where) const {
  std::string name = printable_path(path.string());
  switch (file.status) {
    case SandboxedFile::Status::InvalidName:
      return Error(ErrorKind::Value, "the path \"" + name + "\" contains a NUL byte (\\0), which no file name can hold", where);
    case SandboxedFile::Status::Denied:
      return Error(ErrorKind::Permission,
                   "reading " + name + " is not allowed: " + file.why +
                       " (allow it with --allow-read DIR, or Interpreter::allow_read)",
                   where);
    case SandboxedFile::Status::Missing: return Error(ErrorKind::Io, "cannot read " + name + ": no such file", where);
    case SandboxedFile::Status::NotRegular: return Error(ErrorKind::Io, name + " is " + file.why + ", not a file", where);
    case SandboxedFile::Status::Failed:
    case SandboxedFile::Status::Opened: break;
  }
  std::string reason = file.why.empty() ? std::strerror(file.error) : file.why;
  return Error(ErrorKind::Io, "cannot read " + name + ": " + reason, where);
}

std::string Interpreter::read_opened(const SandboxedFile& file, const fs::path& path, const SourceLocation& where) const {
  struct stat st {};
  if (::fstat(file.fd.get(), &st) == 0 && st.st_size > 0) reserve_memory(static_cast<std::size_t>(st.st_size), where);
  try {
    return read_all(file.fd.get());
  } catch (const std::system_error& e) {
    throw Error(ErrorKind::Io, "cannot read " + printable_path(path.string()) + ": " + e.code().message(), where);
  }
}

std::string Interpreter::read_text(const fs::path& path, const SourceLocation& where) const {
  SandboxedFile file = open_for_script(path);
  if (file.status != SandboxedFile::Status::Opened) throw file_error(file, path, where);
  return read_opened(file, path, where);
}

void Interpreter::allow_write(const fs::path& directory) { options_.allowed_write_dirs.push_back(directory); }

void Interpreter::write_text(const fs::path& path, const std::string& text, const SourceLocation& where) const {
  const std::string name = printable_path(path.string());
  if (path.native().find('\0') != std::string::npos)
    throw Error(ErrorKind::Value, "the path \"" + name + "\" contains a NUL byte (\\0), which no file name can hold", where);
  std::error_code ec;
  const fs::path target = absolute_normal(path);
  fs::path named_root;  // the allowed directory that holds the target, as the host named it
  for (const auto& dir : options_.allowed_write_dirs) {
    const fs::path r = absolute_normal(dir);
    if (target != r && lies_within(target, r)) {
      named_root = r;
      break;
    }
  }
  if (named_root.empty())
    throw Error(ErrorKind::Permission,
                "writing " + name + " is not allowed: it is not under a directory the host lets scripts write to"
                " (allow one with --allow-write DIR, or Interpreter::allow_write)", where);
  // A link inside the root must not lead the write out: the deepest directory on the way that
  // exists, every link resolved, must lie under the real root before any directory is made
  // (create_directories follows links), and the file's directory must after.
  auto escapes = [&](const fs::path& dir) {
    std::error_code e;
    const fs::path real_root = fs::canonical(named_root, e);
    if (e) return true;
    const fs::path real = fs::canonical(dir, e);
    return e || !lies_within(real, real_root);
  };
  auto refuse = [&] {
    return Error(ErrorKind::Permission, "writing " + name + " is not allowed: its directory leads outside " +
                                            printable_path(named_root.string()) + " through a symbolic link", where);
  };
  fs::create_directories(named_root, ec);  // the root itself, as the host named it
  fs::path existing = target.parent_path();
  while (!existing.empty() && existing != named_root && !fs::exists(existing, ec)) existing = existing.parent_path();
  if (escapes(existing)) throw refuse();
  fs::create_directories(target.parent_path(), ec);
  if (ec) throw Error(ErrorKind::Io, "cannot write " + name + ": " + ec.message(), where);
  if (escapes(target.parent_path())) throw refuse();
  if (fs::is_symlink(fs::symlink_status(target, ec)))
    throw Error(ErrorKind::Permission, "writing " + name + " is not allowed: it is a symbolic link", where);
  try {
    replace_file_atomically(target, text);
  } catch (const FileWriteError& e) {
    throw Error(ErrorKind::Io, e.what(), where);
  }
}

fs::path Interpreter::base_directory() const {
  std::error_code ec;
  return fs::current_path(ec);
}

fs::path Interpreter::resolve_script_path(const fs::path& path, const SourceLocation& where) const {
  if (path.is_absolute()) return path;
  if (where.file && !where.file->path().empty()) return fs::path(where.file->path()).parent_path() / path;
  return base_directory() / path;
}

const std::vector<fs::path>& Interpreter::library_path() const { return options_.library_path; }

std::vector<std::string> Interpreter::completion_candidates() const {
  std::set<std::string> names(language_keywords().begin(), language_keywords().end());
  for (const auto& name : global_names()) names.insert(name);
  for (const auto& ruleset : evaluator_->rulesets()) {
    names.insert(ruleset->name());
    for (const auto& rule : ruleset->rules()) names.insert(rule->name());
  }
  return {names.begin(), names.end()};
}

}  // namespace twin
