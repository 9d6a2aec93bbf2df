// The evaluator: runs the syntax tree of ast.h.
//
// A tree-walking interpreter with lexical scopes. Functions are closures over the
// environment they were defined in. `return` is a status flowing up through statement
// execution, not a C++ exception, so deep recursion stays cheap.
//
// Declarations (`op`, `ruleset`, `cost`) bind names in the scope they appear in; `use`
// loads a file once per interpreter (known by its device and inode) and binds its
// declarations in the global scope. `use` opens each place it searches through the host's
// sandbox (Interpreter::open_for_script) and never tests a path first, so what it answers
// for a path outside the sandbox does not depend on whether the file exists.
//
// Every loop iteration and call is a step (Evaluator::step): where an interrupt request and
// the host's limits (interp/script_budget.h) stop a running script.
// Runtime errors are twin::Error; as one unwinds through a call, the call adds a frame
// (function name and call site), which is how an error lists the chain of calls.
//
// Invariant: the evaluator never lets a C++ exception other than twin::Error escape from
// evaluating user code; unexpected ones are converted (see Interpreter).
#pragma once

#include "compiler/declarations.h"
#include "interp/ast.h"
#include "util/error.h"
#include "interp/relation.h"
#include "interp/term.h"
#include "interp/value.h"
#include "util/sandboxed_open.h"

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace twin {

class Interpreter;

class Environment {
 public:
  explicit Environment(std::shared_ptr<Environment> parent = nullptr) : parent_(std::move(parent)) {}
  const Value* lookup(const std::string& name) const;
  void define(const std::string& name, Value value) { vars_[name] = std::move(value); }
  // Assigns to the nearest existing binding; false when there is none.
  bool assign(const std::string& name, Value value);
  const std::unordered_map<std::string, Value>& vars() const { return vars_; }
  const std::shared_ptr<Environment>& parent() const { return parent_; }

 private:
  std::shared_ptr<Environment> parent_;
  std::unordered_map<std::string, Value> vars_;
};

using EnvPtr = std::shared_ptr<Environment>;

// A function defined in a script.
class Closure : public Object {
 public:
  Closure(std::shared_ptr<const FunctionDecl> decl, EnvPtr env) : decl_(std::move(decl)), env_(std::move(env)) {}
  std::string type_name() const override { return "function"; }
  std::string to_string() const override;
  const FunctionDecl& decl() const { return *decl_; }
  const EnvPtr& env() const { return env_; }
  std::string display_name() const { return decl_->name.empty() ? "<lambda>" : decl_->name; }

 private:
  std::shared_ptr<const FunctionDecl> decl_;
  EnvPtr env_;
};

// An error caught by `catch(f)`: a value the script can inspect.
class ErrorValue : public Object {
 public:
  explicit ErrorValue(Error error) : error_(std::move(error)) {}
  std::string type_name() const override { return "error"; }
  std::string to_string() const override;
  std::optional<Value> member(const std::string& name) override;
  std::vector<std::string> member_names() const override { return {"message", "kind", "location", "file", "line", "column", "stack"}; }
  const Error& error() const { return error_; }

 private:
  Error error_;
};

class Evaluator {
 public:
  explicit Evaluator(Interpreter& host);

  const EnvPtr& globals() const { return globals_; }

  // Runs a parsed program in the global scope; returns the last expression statement's value.
  Value run(const Program& program, bool declarations_only);
  // Loads a file for Interpreter::eval_file (`use` loads each file once per interpreter).
  Value run_file(const std::filesystem::path& path, const std::string& display_name, const SourceLocation& from,
                 bool declarations_of_script = false);

  Value call(const Value& function, CallArgs& args, const SourceLocation& location);

  // Lowers a quoted expression to a term in the scope `env` (which resolves `$x` splices).
  TermPtr quote(const Expr& expr, const EnvPtr& env);

  // Rulesets and cost functions declared so far, in declaration order (for :rules, twin disasm).
  const std::vector<std::shared_ptr<RulesetValue>>& rulesets() const { return rulesets_; }
  const std::vector<std::shared_ptr<CostValue>>& costs() const { return costs_; }
  // Ops declared so far, by name (an `op` declaration does not shadow a builtin function of
  // the same name, such as split or sqrt, but is always listed here).
  std::shared_ptr<OpValue> declared_op(const std::string& name) const;
  // Parameter relations declared so far (`relation ...`), in declaration order.
  const std::vector<DeclaredRelation>& relations() const { return declarations_.relations; }
  // Everything declared so far, frozen: what the rule compiler reads (compiler/declarations.h).
  // The same snapshot is returned until a declaration is added.
  std::shared_ptr<const compiler::Declarations> declarations() const;

  Value eval(const Expr& expr, const EnvPtr& env);

  // Asks the running script to stop at its next loop iteration or call (safe from a signal
  // handler): it raises an "interrupted" error there, which the host catches as any other.
  void request_interrupt() { interrupt_requested_.store(true, std::memory_order_relaxed); }

 private:
  enum class Flow { Normal, Return };

  Flow exec_block(const Block& block, const EnvPtr& env, Value& result, bool new_scope);
  Flow exec(const Stmt& stmt, const EnvPtr& env, Value& result);
  void declare(const Stmt& stmt, const EnvPtr& env, const std::shared_ptr<const Stmt>& owner);
  void use(const Stmt& stmt);
  Value run_opened(const SandboxedFile& file, const std::filesystem::path& path, const std::string& display_name,
                   const SourceLocation& from, bool declarations_of_script);
  // What `use` knows a file by (device and inode): the same file however it is named.
  static std::string file_identity(const SandboxedFile& file);
  void declare_relation(const Stmt& stmt);

  Value eval_name(const Expr& expr, const EnvPtr& env);
  Value eval_call(const Expr& expr, const EnvPtr& env);
  Value eval_binary(const std::string& op, const Value& left, const Value& right, const SourceLocation& location);
  bool compare(const std::string& op, const Value& left, const Value& right, const SourceLocation& location);
  Value member(const Value& object, const std::string& name, const SourceLocation& location);
  Value index(const Value& container, const Value& key, const SourceLocation& location);
  void assign(const Expr& target, Value value, const EnvPtr& env);

  // A step of the script (a loop iteration, a call): where an interrupt request and the
  // host's limits (ScriptBudget) stop it.
  void step(const SourceLocation& where);

  Interpreter& host_;
  EnvPtr globals_;
  std::atomic<bool> interrupt_requested_{false};
  int depth_ = 0;
  std::set<std::string> loaded_files_;          // identities (file_identity) of the files loaded
  std::vector<std::string> loading_stack_;      // files being loaded, for naming an import cycle
  std::vector<std::string> loading_display_;
  std::vector<std::shared_ptr<RulesetValue>> rulesets_;
  std::vector<std::shared_ptr<CostValue>> costs_;
  std::map<std::string, std::shared_ptr<OpValue>> declared_ops_;
  compiler::Declarations declarations_;  // in step with the values above
  mutable std::shared_ptr<const compiler::Declarations> snapshot_;
  std::vector<std::shared_ptr<const Program>> programs_;  // keeps statements alive for closures
};

// Registers the builtin functions (builtins.cpp) in the global scope.
void install_builtins(Interpreter& interpreter);

// The language's keywords, for completion and docs.
const std::vector<std::string>& language_keywords();

}  // namespace twin
