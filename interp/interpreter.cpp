#include "interp/interpreter.h"

#include "interp/evaluator.h"
#include "interp/parser.h"
#include "interp/term.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <set>
#include <sstream>

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

namespace {

fs::path canonical_or_self(const fs::path& p) {
  std::error_code ec;
  fs::path absolute = fs::absolute(p, ec);
  fs::path canonical = fs::weakly_canonical(absolute, ec);
  return ec ? absolute.lexically_normal() : canonical;
}

bool is_within(const fs::path& path, const fs::path& directory) {
  auto p = path.begin();
  for (auto d = directory.begin(); d != directory.end(); ++d, ++p) {
    if (d->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *d) return false;
  }
  return true;
}

// Runs a piece of user-facing work, turning anything that is not a twin::Error into one:
// no input may crash the host.
template <class F>
Value guarded(F&& f) {
  try {
    return f();
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorKind::Value, "out of memory");
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Value, std::string("internal error: ") + e.what());
  }
}

}  // namespace

Interpreter::Interpreter(InterpreterOptions options) : options_(std::move(options)) {
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
  for (const auto& dir : options_.allowed_read_dirs) allowed_canonical_.push_back(canonical_or_self(dir));
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
  allowed_canonical_.push_back(canonical_or_self(directory));
}

bool Interpreter::may_read(const fs::path& path) const {
  fs::path target = canonical_or_self(path);
  for (const auto& dir : allowed_canonical_)
    if (is_within(target, dir)) return true;
  for (const auto& dir : options_.library_path)
    if (is_within(target, canonical_or_self(dir))) return true;
  return false;
}

std::string Interpreter::read_text(const fs::path& path, const SourceLocation& where) const {
  if (!may_read(path))
    throw Error(ErrorKind::Permission,
                "reading " + path.string() + " is not allowed: it is outside the directories this script may read "
                "(allow it with --allow-read DIR, or Interpreter::allow_read)",
                where);
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(ErrorKind::Io, path.string() + " is a directory, not a file", where);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, "cannot read " + path.string() + ": no such file or not readable", where);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
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
