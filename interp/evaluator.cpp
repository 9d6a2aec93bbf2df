#include "interp/evaluator.h"

#include "interp/guard_lowering.h"

#include "util/error.h"
#include "interp/interpreter.h"
#include "interp/parser.h"
#include "interp/printer.h"
#include "interp/range.h"
#include "interp/script_budget.h"

#include <algorithm>
#include <cmath>

namespace twin {

namespace fs = std::filesystem;

// Nested calls allowed before "call stack too deep": deep enough for real recursion,
// shallow enough that a runaway recursion fails cleanly on an 8 MiB host stack.
constexpr int kMaxCallDepth = 1000;

const Value* Environment::lookup(const std::string& name) const {
  for (const Environment* env = this; env; env = env->parent_.get()) {
    auto it = env->vars_.find(name);
    if (it != env->vars_.end()) return &it->second;
  }
  return nullptr;
}

bool Environment::assign(const std::string& name, Value value) {
  for (Environment* env = this; env; env = env->parent_.get()) {
    auto it = env->vars_.find(name);
    if (it != env->vars_.end()) {
      it->second = std::move(value);
      return true;
    }
  }
  return false;
}

std::string Closure::to_string() const { return "<function " + display_name() + ">"; }

std::string ErrorValue::to_string() const {
  std::string text = error_.location().known() ? error_.location().to_string() + ": " : "";
  return "<error " + text + error_.message() + ">";
}

std::optional<Value> ErrorValue::member(const std::string& name) {
  const SourceLocation& at = error_.location();
  if (name == "message") return Value(error_.message());
  if (name == "kind") return Value(error_kind_id(error_.kind()));
  if (name == "location") return at.known() ? Value(at.to_string()) : Value();
  if (name == "file") return at.known() ? Value(at.file->name()) : Value();
  if (name == "line") return at.known() ? Value(at.line) : Value();
  if (name == "column") return at.known() ? Value(at.column) : Value();
  if (name == "stack") {
    auto list = make_list();
    for (const auto& frame : error_.stack()) list->items.emplace_back(frame.function);
    return Value(list);
  }
  return std::nullopt;
}

const std::vector<std::string>& language_keywords() {
  static const std::vector<std::string> keywords = {
      "version", "use", "op", "ruleset", "rule", "cost", "relation", "let", "fn", "return", "if", "else", "for",
      "in", "while", "assert", "term", "and", "or", "not", "true", "false", "nil"};
  return keywords;
}

Evaluator::Evaluator(Interpreter& host) : host_(host), globals_(std::make_shared<Environment>()) {
  // dtype names evaluate to themselves, so `dtype=bf16` reads naturally in scripts.
  for (const char* dtype : {"f32", "f16", "bf16", "f64", "i64", "i32", "bool"}) globals_->define(dtype, Value(dtype));
}

namespace {

struct DepthScope {
  int& depth;
  DepthScope(int& d, const SourceLocation& location) : depth(d) {
    if (++depth > kMaxCallDepth) {
      --depth;
      throw Error(ErrorKind::Value, "call stack too deep (more than " + std::to_string(kMaxCallDepth) + " nested calls)",
                  location);
    }
  }
  ~DepthScope() { --depth; }
};

std::string stmt_kind_name(StmtKind kind) {
  switch (kind) {
    case StmtKind::Let: return "a `let` statement";
    case StmtKind::Fn: return "a function definition";
    case StmtKind::Return: return "a `return` statement";
    case StmtKind::If: return "an `if` statement";
    case StmtKind::For: return "a `for` loop";
    case StmtKind::While: return "a `while` loop";
    case StmtKind::Assert: return "an `assert` statement";
    case StmtKind::Assign: return "an assignment";
    case StmtKind::ExprStmt: return "an expression statement";
    default: return "a statement";
  }
}

bool is_declaration(StmtKind kind) {
  return kind == StmtKind::Version || kind == StmtKind::Use || kind == StmtKind::Op || kind == StmtKind::Ruleset ||
         kind == StmtKind::Cost || kind == StmtKind::Relation || kind == StmtKind::Empty;
}

}  // namespace

void Evaluator::step(const SourceLocation& where) {
  if (interrupt_requested_.exchange(false, std::memory_order_relaxed))
    throw Error(ErrorKind::Value, "interrupted", where);
  host_.budget().step(where);
}

Value Evaluator::run(const Program& program, bool declarations_only) {
  // `version` may only open a file.
  for (std::size_t i = 0; i < program.statements.size(); ++i)
    if (program.statements[i]->kind == StmtKind::Version && i != 0)
      throw Error(ErrorKind::Syntax, "`version` must be the first statement of a file", program.statements[i]->location);
  if (declarations_only) {
    bool first = true;
    for (const auto& stmt : program.statements) {
      if (stmt->kind == StmtKind::Empty) continue;
      if (first && stmt->kind != StmtKind::Version)
        throw Error(ErrorKind::Syntax, "a .rules file starts with `version 1`", stmt->location);
      first = false;
      if (!is_declaration(stmt->kind))
        throw Error(ErrorKind::Syntax,
                    "a .rules file holds declarations only (version, use, op, ruleset, cost, relation); found " +
                        stmt_kind_name(stmt->kind),
                    stmt->location);
    }
  }
  Value last;
  for (const auto& stmt : program.statements) {
    last = Value();
    if (stmt->kind == StmtKind::ExprStmt) {
      last = eval(*stmt->expr, globals_);
      continue;
    }
    Value result;
    if (stmt->kind == StmtKind::Ruleset || stmt->kind == StmtKind::Cost) {
      declare(*stmt, globals_, stmt);
      continue;
    }
    if (exec(*stmt, globals_, result) == Flow::Return)
      throw Error(ErrorKind::Syntax, "`return` outside a function", stmt->location);
  }
  return last;
}

Evaluator::Flow Evaluator::exec_block(const Block& block, const EnvPtr& env, Value& result, bool new_scope) {
  EnvPtr scope = new_scope ? std::make_shared<Environment>(env) : env;
  for (const auto& stmt : block) {
    if (stmt->kind == StmtKind::Ruleset || stmt->kind == StmtKind::Cost) {
      declare(*stmt, scope, stmt);
      continue;
    }
    if (exec(*stmt, scope, result) == Flow::Return) return Flow::Return;
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::exec(const Stmt& stmt, const EnvPtr& env, Value& result) {
  switch (stmt.kind) {
    case StmtKind::Version:
      if (stmt.number != 1)
        throw Error(ErrorKind::Syntax, "unsupported language version " + rational_to_string(stmt.number) + "; expected `version 1`",
                    stmt.location);
      return Flow::Normal;
    case StmtKind::Use: use(stmt); return Flow::Normal;
    case StmtKind::Op:
    case StmtKind::Ruleset:
    case StmtKind::Cost: declare(stmt, env, nullptr); return Flow::Normal;
    case StmtKind::Relation: declare_relation(stmt); return Flow::Normal;
    case StmtKind::Let: env->define(stmt.text, eval(*stmt.expr, env)); return Flow::Normal;
    case StmtKind::Fn: env->define(stmt.function->name, Value(std::make_shared<Closure>(stmt.function, env))); return Flow::Normal;
    case StmtKind::Return:
      result = stmt.expr ? eval(*stmt.expr, env) : Value();
      return Flow::Return;
    case StmtKind::If: {
      if (eval(*stmt.expr, env).truthy()) return exec_block(stmt.body, env, result, true);
      if (stmt.has_else) return exec_block(stmt.else_body, env, result, true);
      return Flow::Normal;
    }
    case StmtKind::For: {
      Value iterable = eval(*stmt.expr, env);
      auto run_body = [&](Value item) {
        step(stmt.location);
        auto scope = std::make_shared<Environment>(env);
        scope->define(stmt.text, std::move(item));
        return exec_block(stmt.body, scope, result, false);
      };
      if (auto range = iterable.as<RangeValue>()) {  // lazily: a range holds no list
        for (std::int64_t i = 0; i < range->length(); ++i)
          if (run_body(Value(static_cast<long long>(range->at(i)))) == Flow::Return) return Flow::Return;
        return Flow::Normal;
      }
      std::vector<Value> items;
      if (iterable.is_list()) {
        reserve_memory(bytes_for(iterable.as_list()->items.size(), sizeof(Value)), stmt.location);
        items = iterable.as_list()->items;  // a copy: the body may change the list
      } else if (iterable.is_map()) {
        reserve_memory(bytes_for(iterable.as_map()->entries.size(), sizeof(Value)), stmt.location);
        for (const auto& [k, v] : iterable.as_map()->entries) items.push_back(k);
      } else if (iterable.is_string()) {  // one character at a time, as a range: no list of them
        reserve_memory(iterable.as_string().size(), stmt.location);
        const std::string text = iterable.as_string();  // the body may rebind the name, never change this
        for (char c : text)
          if (run_body(Value(std::string(1, c))) == Flow::Return) return Flow::Return;
        return Flow::Normal;
      } else if (auto rs = iterable.as<RulesetValue>()) {
        for (const auto& r : rs->rules()) items.emplace_back(r);
      } else {
        throw Error(ErrorKind::Type,
                    "cannot iterate over a " + iterable.type_name() + "; expected a list, a range, a map, a string or a ruleset",
                    stmt.expr->location);
      }
      for (auto& item : items)
        if (run_body(std::move(item)) == Flow::Return) return Flow::Return;
      return Flow::Normal;
    }
    case StmtKind::While:
      while (step(stmt.location), eval(*stmt.expr, env).truthy())
        if (exec_block(stmt.body, env, result, true) == Flow::Return) return Flow::Return;
      return Flow::Normal;
    case StmtKind::Assert: {
      if (eval(*stmt.expr, env).truthy()) return Flow::Normal;
      std::string message = "assert " + print_expr(*stmt.expr);
      if (stmt.message) message += ": " + eval(*stmt.message, env).to_display();
      throw Error(ErrorKind::Assertion, message, stmt.expr->location);
    }
    case StmtKind::Assign: assign(*stmt.target, eval(*stmt.expr, env), env); return Flow::Normal;
    case StmtKind::ExprStmt: eval(*stmt.expr, env); return Flow::Normal;
    case StmtKind::Empty: return Flow::Normal;
  }
  return Flow::Normal;
}

void Evaluator::declare(const Stmt& stmt, const EnvPtr& env, const std::shared_ptr<const Stmt>& owner) {
  if (stmt.kind == StmtKind::Op) {
    static const std::set<std::string> kinds = {"int", "float", "bool", "str", "dtype", "ints", "floats"};
    auto source = std::make_shared<compiler::OpSource>();
    source->name = stmt.op->name;
    source->operands = stmt.op->operands;
    source->location = stmt.op->location;
    for (const auto& a : stmt.op->attributes) {
      if (!kinds.count(a.type))
        throw Error(ErrorKind::Syntax, "unknown attribute type '" + a.type + "' for " + a.name +
                                           "; expected one of int, float, bool, str, dtype, ints, floats",
                    stmt.op->location);
      // `= nil` is the attribute's "no value", the symbol `none` in terms.
      TermPtr default_value;
      if (a.default_value)
        default_value = a.default_value->kind == ExprKind::Nil ? make_symbol("none", a.default_value->location)
                                                               : lower_term(*a.default_value, nullptr);
      source->attributes.push_back({a.name, a.type, default_value});
    }
    if (stmt.op->body) source->body = lower_term(*stmt.op->body, nullptr);
    auto op = std::make_shared<OpValue>(stmt.op, source);
    declared_ops_[stmt.op->name] = op;
    declarations_.ops[source->name] = source;
    snapshot_.reset();
    // A builtin function keeps its name: `use "std/ops.rules"` must not turn split() or
    // sqrt() into term builders.
    const Value* existing = env->lookup(stmt.op->name);
    if (!existing || !existing->as<NativeFunction>()) env->define(stmt.op->name, Value(op));
    return;
  }
  if (stmt.kind == StmtKind::Ruleset) {
    std::vector<std::shared_ptr<RuleValue>> rules;
    auto ruleset_source = std::make_shared<compiler::RulesetSource>();
    ruleset_source->name = stmt.text;
    ruleset_source->location = stmt.location;
    std::set<std::string> names;
    for (const auto& decl : stmt.rules) {
      if (!names.insert(decl->name).second)
        throw Error(ErrorKind::Syntax, "rule '" + decl->name + "' is defined twice in ruleset " + stmt.text, decl->location);
      auto source = std::make_shared<compiler::RuleSource>();
      source->ruleset = stmt.text;
      source->name = decl->name;
      source->lhs = lower_term(*decl->lhs, nullptr);
      source->rhs = lower_term(*decl->rhs, nullptr);
      source->bidirectional = decl->bidirectional;
      source->location = decl->location;
      auto lhs_vars = term_variables(*source->lhs);
      auto rhs_vars = term_variables(*source->rhs);
      auto bound = [](const std::vector<std::string>& vars, const std::string& v) {
        return std::find(vars.begin(), vars.end(), v) != vars.end();
      };
      for (const auto& v : rhs_vars)
        if (!bound(lhs_vars, v))
          throw Error(ErrorKind::Syntax, "?" + v + " on the right side of rule " + decl->name + " is not bound by its left side",
                      decl->rhs->location);
      if (decl->bidirectional)
        for (const auto& v : lhs_vars)
          if (!bound(rhs_vars, v))
            throw Error(ErrorKind::Syntax,
                        "?" + v + " on the left side of `<=>` rule " + decl->name + " is not bound by its right side",
                        decl->lhs->location);
      if (decl->guard) {
        source->guard = lower_scalar(*decl->guard, "the guard of rule " + decl->name);
        source->guard_text = print_expr(*decl->guard);
        for (const auto& v : source->guard->variables())
          if (!bound(lhs_vars, v))
            throw Error(ErrorKind::Syntax, "?" + v + " in the guard of rule " + decl->name + " is not bound by its left side",
                        decl->guard->location);
      }
      ruleset_source->rules.push_back(source);
      rules.push_back(std::make_shared<RuleValue>(decl, std::move(source)));
    }
    std::shared_ptr<const Stmt> self = owner ? owner : std::make_shared<Stmt>(stmt);
    auto ruleset = std::make_shared<RulesetValue>(stmt.text, std::move(rules), self);
    env->define(stmt.text, Value(ruleset));
    auto same = std::find_if(rulesets_.begin(), rulesets_.end(), [&](const auto& r) { return r->name() == stmt.text; });
    if (same != rulesets_.end()) *same = ruleset;
    else rulesets_.push_back(ruleset);
    auto same_source = std::find_if(declarations_.rulesets.begin(), declarations_.rulesets.end(),
                                    [&](const auto& r) { return r->name == stmt.text; });
    if (same_source != declarations_.rulesets.end()) *same_source = ruleset_source;
    else declarations_.rulesets.push_back(ruleset_source);
    snapshot_.reset();
    return;
  }
  if (stmt.kind == StmtKind::Cost) {
    auto source = std::make_shared<compiler::CostSource>();
    source->name = stmt.text;
    std::string context = "cost " + stmt.text;
    for (const auto& arm : stmt.arms) {
      compiler::CostSource::Arm lowered{lower_term(*arm->pattern, nullptr),
                                        arm->guard ? std::optional(lower_scalar(*arm->guard, context)) : std::nullopt,
                                        lower_scalar(*arm->cost, context), arm->location};
      source->arms.push_back(std::move(lowered));
    }
    std::shared_ptr<const Stmt> self = owner ? owner : std::make_shared<Stmt>(stmt);
    auto cost = std::make_shared<CostValue>(std::move(source), self);
    env->define(stmt.text, Value(cost));
    auto same = std::find_if(costs_.begin(), costs_.end(), [&](const auto& c) { return c->name() == stmt.text; });
    if (same != costs_.end()) *same = cost;
    else costs_.push_back(cost);
    auto same_source = std::find_if(declarations_.costs.begin(), declarations_.costs.end(),
                                    [&](const auto& c) { return c->name == stmt.text; });
    if (same_source != declarations_.costs.end()) *same_source = cost->source();
    else declarations_.costs.push_back(cost->source());
    snapshot_.reset();
  }
}

void Evaluator::declare_relation(const Stmt& stmt) {
  DeclaredRelation relation = make_declared_relation(stmt);
  for (const auto& earlier : declarations_.relations)
    if (earlier.port == relation.port)
      throw Error(ErrorKind::Syntax,
                  "a relation for " + relation.port + " is already declared at " + earlier.location.to_string(),
                  relation.port_location);
  declarations_.relations.push_back(std::move(relation));
  snapshot_.reset();
}

std::shared_ptr<const compiler::Declarations> Evaluator::declarations() const {
  if (!snapshot_) snapshot_ = std::make_shared<const compiler::Declarations>(declarations_);
  return snapshot_;
}

std::shared_ptr<OpValue> Evaluator::declared_op(const std::string& name) const {
  auto it = declared_ops_.find(name);
  return it == declared_ops_.end() ? nullptr : it->second;
}

void Evaluator::use(const Stmt& stmt) {
  const std::string& requested = stmt.text;
  std::vector<fs::path> candidates;
  fs::path as_given(requested);
  if (as_given.is_absolute()) {
    candidates.push_back(as_given);
  } else {
    fs::path base = stmt.location.file && !stmt.location.file->path().empty()
                        ? fs::path(stmt.location.file->path()).parent_path()
                        : host_.base_directory();
    candidates.push_back(base / as_given);
    for (const auto& dir : host_.library_path()) {
      candidates.push_back(dir / as_given);
      // `use "std/core.rules"` names a file of the standard library directory itself.
      if (requested.rfind("std/", 0) == 0) candidates.push_back(dir / requested.substr(4));
    }
  }
  // The library path may name a directory twice ($TWIN_PATH and the installed stdlib): search it once.
  std::vector<fs::path> unique;
  for (const auto& candidate : candidates)
    if (std::find(unique.begin(), unique.end(), candidate.lexically_normal()) == unique.end())
      unique.push_back(candidate.lexically_normal());
  candidates = std::move(unique);
  // Each candidate is opened, never tested first: a path outside the allowed directories is
  // denied by its name whether or not it exists, so `use` tells nothing of what exists there.
  std::optional<SandboxedFile> denied;
  fs::path denied_path;
  std::size_t denied_count = 0;
  std::string searched;
  for (const auto& candidate : candidates) {
    SandboxedFile file = host_.open_for_script(candidate);
    switch (file.status) {
      case SandboxedFile::Status::Opened: {
        std::string key = file_identity(file);
        auto on_stack = std::find(loading_stack_.begin(), loading_stack_.end(), key);
        if (on_stack != loading_stack_.end()) {
          std::string cycle;
          for (auto it = on_stack; it != loading_stack_.end(); ++it)
            cycle += loading_display_[static_cast<std::size_t>(it - loading_stack_.begin())] + " -> ";
          cycle += requested;
          throw Error(ErrorKind::Import, "import cycle: " + cycle, stmt.location);
        }
        if (!loaded_files_.count(key)) run_opened(file, candidate, requested, stmt.location, false);
        return;
      }
      case SandboxedFile::Status::Missing:
      case SandboxedFile::Status::NotRegular: searched += "\n    " + candidate.string(); continue;
      case SandboxedFile::Status::Denied:
        if (!denied) denied = std::move(file), denied_path = candidate;
        ++denied_count;
        searched += "\n    " + candidate.string() + " (not allowed)";
        continue;
      case SandboxedFile::Status::InvalidName:
      case SandboxedFile::Status::Failed: throw host_.file_error(file, candidate, stmt.location);
    }
  }
  if (denied && denied_count == candidates.size()) throw host_.file_error(*denied, denied_path, stmt.location);
  throw Error(ErrorKind::Import, "cannot find \"" + requested + "\"; looked in:" + searched, stmt.location);
}

std::string Evaluator::file_identity(const SandboxedFile& file) {
  return std::to_string(file.device) + ":" + std::to_string(file.inode);
}

Value Evaluator::run_file(const fs::path& path, const std::string& display_name, const SourceLocation& from,
                          bool declarations_of_script) {
  SandboxedFile file = host_.open_for_script(path);
  if (file.status != SandboxedFile::Status::Opened) throw host_.file_error(file, path, from);
  return run_opened(file, path, display_name, from, declarations_of_script);
}

Value Evaluator::run_opened(const SandboxedFile& file, const fs::path& path, const std::string& display_name,
                            const SourceLocation& from, bool declarations_of_script) {
  std::string key = file_identity(file);
  std::string text = host_.read_opened(file, path, from);
  auto source = std::make_shared<SourceFile>(display_name, std::move(text), file.resolved.string());
  Program program = parse_program(source);
  bool rules_file = path.extension() == ".rules";
  loading_stack_.push_back(key);
  loading_display_.push_back(display_name);
  struct Pop {
    Evaluator* self;
    ~Pop() {
      self->loading_stack_.pop_back();
      self->loading_display_.pop_back();
    }
  } pop{this};
  if (declarations_of_script && !rules_file) {
    Block declarations;
    for (const auto& stmt : program.statements)
      if (is_declaration(stmt->kind)) declarations.push_back(stmt);
    program.statements = std::move(declarations);
  }
  Value result = run(program, rules_file);
  loaded_files_.insert(key);
  return result;
}

TermPtr Evaluator::quote(const Expr& expr, const EnvPtr& env) {
  SpliceEvaluator splice = [&](const Expr& spliced) -> TermPtr {
    Value v = eval(spliced, env);
    std::vector<const List*> open_lists;  // the lists being spliced, outermost first
    std::function<TermPtr(const Value&)> to_term = [&](const Value& value) -> TermPtr {
      if (auto t = value.as<TermValue>()) return t->term();
      if (value.is_rational()) return make_constant(value.as_rational());
      if (value.is_string()) {
        auto t = std::make_shared<Term>();
        t->kind = TermKind::String;
        t->name = value.as_string();
        return t;
      }
      if (value.is_bool()) return make_symbol(value.as_bool() ? "true" : "false");
      if (value.is_list()) {
        // A term is a tree: a list met inside itself has no term, and nesting is bounded.
        const List* list = value.as_list().get();
        if (std::find(open_lists.begin(), open_lists.end(), list) != open_lists.end())
          throw Error(ErrorKind::Value, "cannot splice a list that contains itself into a term", spliced.location);
        if (open_lists.size() >= static_cast<std::size_t>(kMaxValueDepth))
          throw Error(ErrorKind::Value, "cannot splice lists nested more than " + std::to_string(kMaxValueDepth) +
                                            " levels deep into a term",
                      spliced.location);
        open_lists.push_back(list);
        auto t = std::make_shared<Term>();
        t->kind = TermKind::List;
        for (const auto& item : list->items) t->operands.push_back(to_term(item));
        open_lists.pop_back();
        return t;
      }
      if (value.is_object()) {
        // Objects that stand for a term (e-class ids) say so through a `term` member.
        if (auto m = value.as_object()->member("__term__")) {
          if (auto t = m->as<TermValue>()) return t->term();
        }
      }
      throw Error(ErrorKind::Type, "cannot splice a " + value.type_name() + " into a term; expected a term, a number, a string or a list",
                  spliced.location);
    };
    return to_term(v);
  };
  return lower_term(expr, splice);
}

Value Evaluator::eval(const Expr& e, const EnvPtr& env) {
  try {
    switch (e.kind) {
      case ExprKind::Number: return Value(e.number);
      case ExprKind::String: return Value(e.text);
      case ExprKind::Bool: return Value(e.boolean);
      case ExprKind::Nil: return Value();
      case ExprKind::PatternVar:
        throw Error(ErrorKind::Syntax, "pattern variable ?" + e.text + " outside a rule or a `term`", e.location);
      case ExprKind::Name: return eval_name(e, env);
      case ExprKind::Splice: throw Error(ErrorKind::Syntax, "a splice `$...` is only meaningful inside `term`", e.location);
      case ExprKind::List: {
        auto list = make_list();
        list->items.reserve(e.operands.size());
        for (const auto& item : e.operands) list->items.push_back(eval(*item, env));
        return Value(list);
      }
      case ExprKind::Map: {
        auto map = make_map();
        for (std::size_t i = 0; i + 1 < e.operands.size(); i += 2) map->set(eval(*e.operands[i], env), eval(*e.operands[i + 1], env));
        return Value(map);
      }
      case ExprKind::Call: return eval_call(e, env);
      case ExprKind::Index: return index(eval(*e.operands[0], env), eval(*e.operands[1], env), e.location);
      case ExprKind::Member: return member(eval(*e.operands[0], env), e.text, e.location);
      case ExprKind::Unary: {
        Value v = eval(*e.operands[0], env);
        if (v.is_rational()) {
          const Rational& r = v.as_rational();  // an integer negated without cpp_rational's gcd
          if (is_integer(r)) return Value(Rational(BigInt(-boost::multiprecision::numerator(r))));
          return Value(Rational(-r));
        }
        if (v.is_float()) return Value(-v.as_float());
        if (auto t = v.as<TermValue>()) return Value(std::make_shared<TermValue>(make_apply("neg", {t->term()})));
        throw Error(ErrorKind::Type, "cannot negate a " + v.type_name(), e.location);
      }
      case ExprKind::Binary: {
        Value l = eval(*e.operands[0], env);
        Value r = eval(*e.operands[1], env);
        return eval_binary(e.text, l, r, e.location);
      }
      case ExprKind::Compare: {
        Value left = eval(*e.operands[0], env);
        for (std::size_t i = 0; i < e.compare_ops.size(); ++i) {
          Value right = eval(*e.operands[i + 1], env);
          if (!compare(e.compare_ops[i], left, right, e.location)) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case ExprKind::And: {
        Value l = eval(*e.operands[0], env);
        if (!l.truthy()) return l;
        return eval(*e.operands[1], env);
      }
      case ExprKind::Or: {
        Value l = eval(*e.operands[0], env);
        if (l.truthy()) return l;
        return eval(*e.operands[1], env);
      }
      case ExprKind::Not: return Value(!eval(*e.operands[0], env).truthy());
      case ExprKind::Quote: return Value(std::make_shared<TermValue>(quote(*e.operands[0], env)));
      case ExprKind::Lambda: return Value(std::make_shared<Closure>(e.function, env));
      case ExprKind::Path:
      case ExprKind::Placeholder: reject_relation_syntax(e);
      case ExprKind::TypedSymbol:
        throw Error(ErrorKind::Syntax, "a typed symbol `" + e.text + ": " + e.type_name + "[...]` is only meaningful inside `term`",
                    e.location);
    }
  } catch (Error& error) {
    error.set_location_if_unknown(e.location);
    throw;
  }
  return Value();
}

Value Evaluator::eval_name(const Expr& e, const EnvPtr& env) {
  if (const Value* v = env->lookup(e.text)) return *v;
  // A dotted name `g.add` is the member `add` of `g` (unless `g.add` itself is bound).
  auto dot = e.text.find('.');
  if (dot != std::string::npos) {
    std::string head = e.text.substr(0, dot);
    if (const Value* v = env->lookup(head)) {
      Value current = *v;
      std::size_t start = dot + 1;
      while (true) {
        auto next = e.text.find('.', start);
        std::string part = e.text.substr(start, next == std::string::npos ? std::string::npos : next - start);
        SourceLocation at = e.location;
        at.column += static_cast<int>(start);
        current = member(current, part, at);
        if (next == std::string::npos) break;
        start = next + 1;
      }
      return current;
    }
    throw Error(ErrorKind::Name, "undefined name '" + head + "'", e.location);
  }
  throw Error(ErrorKind::Name, "undefined name '" + e.text + "'", e.location);
}

Value Evaluator::eval_call(const Expr& e, const EnvPtr& env) {
  Value callee = eval(*e.operands[0], env);
  CallArgs args;
  args.location = e.location;
  for (std::size_t i = 1; i < e.operands.size(); ++i) {
    const std::string& name = e.arg_names[i - 1];
    Value v = eval(*e.operands[i], env);
    if (name.empty()) {
      if (!args.named.empty())
        throw Error(ErrorKind::Syntax, "a positional argument after a named one", e.operands[i]->location);
      args.positional.push_back(std::move(v));
    } else {
      args.named.emplace_back(name, std::move(v));
    }
  }
  return call(callee, args, e.location);
}

Value Evaluator::call(const Value& function, CallArgs& args, const SourceLocation& location) {
  args.location = location;
  if (auto closure = function.as<Closure>()) {
    const FunctionDecl& decl = closure->decl();
    step(location);
    DepthScope depth(depth_, location);
    auto scope = std::make_shared<Environment>(closure->env());
    if (args.positional.size() > decl.params.size())
      throw Error(ErrorKind::Type, closure->display_name() + " takes " + std::to_string(decl.params.size()) + " argument" +
                                       (decl.params.size() == 1 ? "" : "s") + ", got " + std::to_string(args.positional.size()),
                  location);
    for (std::size_t i = 0; i < args.positional.size(); ++i) scope->define(decl.params[i], args.positional[i]);
    for (auto& [name, value] : args.named) {
      auto it = std::find(decl.params.begin(), decl.params.end(), name);
      if (it == decl.params.end())
        throw Error(ErrorKind::Type, closure->display_name() + " has no parameter named '" + name + "'", location);
      if (static_cast<std::size_t>(it - decl.params.begin()) < args.positional.size())
        throw Error(ErrorKind::Type, "parameter '" + name + "' of " + closure->display_name() + " given twice", location);
      scope->define(name, value);
    }
    for (const auto& p : decl.params)
      if (!scope->vars().count(p))
        throw Error(ErrorKind::Type, closure->display_name() + " is missing argument '" + p + "'", location);
    Value result;
    try {
      exec_block(decl.body, scope, result, false);
    } catch (Error& error) {
      error.add_frame(StackFrame{closure->display_name(), location});
      throw;
    }
    return result;
  }
  if (auto native = function.as<NativeFunction>()) {
    step(location);
    DepthScope depth(depth_, location);
    CallContext context{host_, location};
    try {
      return native->call(context, args);
    } catch (Error& error) {
      error.set_location_if_unknown(location);
      throw;
    }
  }
  if (auto op = function.as<OpValue>()) {
    // Applying a declared op to terms builds a term: silu(term x) is term silu(x).
    std::vector<TermPtr> operands;
    std::vector<std::pair<std::string, TermPtr>> attributes;
    auto to_term = [&](const Value& v) -> TermPtr {
      if (auto t = v.as<TermValue>()) return t->term();
      if (v.is_rational()) return make_constant(v.as_rational());
      if (v.is_string()) {
        auto t = std::make_shared<Term>();
        t->kind = TermKind::String;
        t->name = v.as_string();
        return t;
      }
      throw Error(ErrorKind::Type, "op " + op->decl().name + " applies to terms, not a " + v.type_name(), location);
    };
    for (const auto& v : args.positional) operands.push_back(to_term(v));
    for (const auto& [n, v] : args.named) attributes.emplace_back(n, to_term(v));
    return Value(std::make_shared<TermValue>(make_apply(op->decl().name, std::move(operands), std::move(attributes))));
  }
  throw Error(ErrorKind::Type, "a " + function.type_name() + " is not callable", location);
}

namespace {

// About how many bytes a number's digits take (numerator and denominator).
std::size_t number_bytes(const Rational& r) {
  auto bytes = [](const BigInt& n) { return n == 0 ? std::size_t{8} : boost::multiprecision::msb(abs(n)) / 8 + 8; };
  return bytes(boost::multiprecision::numerator(r)) + bytes(boost::multiprecision::denominator(r));
}

// Bits an exact fraction may have (about 60,000 digits over numerator and denominator):
// Boost normalises every fraction with a gcd quadratic in its bits (a binary gcd: even
// gcd(3 ** 1000000, 7) took 24 s), and at this size one takes at most a second or two.
constexpr std::size_t kMaxExactFractionBits = 200000;
// Bits an exact integer product or power may have (2 MiB, about 5,050,000 digits): one
// multiplication of that size takes a few seconds, and no step of a script may take longer
// (the host's deadline is checked between steps).
constexpr std::size_t kMaxExactIntegerBits = std::size_t{1} << 24;

std::size_t integer_bits(const BigInt& n) { return n == 0 ? 1 : boost::multiprecision::msb(abs(n)) + 1; }

// The bits of a number's numerator and denominator together.
std::size_t number_bits(const Rational& r) {
  return integer_bits(boost::multiprecision::numerator(r)) + integer_bits(boost::multiprecision::denominator(r));
}

[[noreturn]] void too_large(const char* what, std::size_t bits, const SourceLocation& location) {
  throw Error(ErrorKind::Value, std::string("the result is too large for an exact ") + what + " (it would have about " +
                                    std::to_string(static_cast<std::size_t>(static_cast<double>(bits) * 0.30103)) +
                                    " digits; at most about " +
                                    std::to_string(static_cast<std::size_t>(
                                        static_cast<double>(std::string(what) == "integer" ? kMaxExactIntegerBits
                                                                                           : kMaxExactFractionBits) *
                                        0.30103)) +
                                    ")",
              location);
}

// Exact power with an integer exponent; refuses results that would not fit in memory.
Rational exact_power(const Rational& base, const BigInt& exponent, const SourceLocation& location) {
  if (base == 0 && exponent < 0) throw Error(ErrorKind::Value, "zero cannot be raised to a negative power", location);
  if (base == 0 || base == 1) return exponent == 0 ? Rational(1) : base;
  if (base == -1) return (exponent % 2 == 0) ? Rational(1) : Rational(-1);
  BigInt magnitude = exponent < 0 ? BigInt(-exponent) : exponent;
  if (magnitude > 1000000) throw Error(ErrorKind::Value, "exponent too large for an exact result", location);
  unsigned e = magnitude.convert_to<unsigned>();
  std::size_t bits = boost::multiprecision::msb(abs(boost::multiprecision::numerator(base))) +
                     boost::multiprecision::msb(boost::multiprecision::denominator(base)) + 2;
  std::size_t result_bits = bytes_for(bits, e);
  // A fraction is normalised with a gcd quadratic in its size: keep exact fractions small.
  if ((!is_integer(base) || exponent < 0) && result_bits > kMaxExactFractionBits) too_large("fraction", result_bits, location);
  if (result_bits > kMaxExactIntegerBits) too_large("integer", result_bits, location);
  reserve_memory(result_bits / 8, location);
  BigInt num = integer_power(BigInt(boost::multiprecision::numerator(base)), e);
  if (is_integer(base)) return exponent < 0 ? Rational(BigInt(1), num) : Rational(num);  // no gcd for an integer
  BigInt den = integer_power(BigInt(boost::multiprecision::denominator(base)), e);
  return exponent < 0 ? Rational(den, num) : Rational(num, den);
}

// Exact arithmetic between integers, kept on BigInt: boost's cpp_rational normalises every
// result with a gcd that is quadratic in the digits even against a denominator of 1 (adding
// two integers of a million bits as rationals took 5 s, multiplying them 9 s). nullopt: not
// an integer operation.
std::optional<Value> integer_arithmetic(const std::string& op, const Rational& a, const Rational& b,
                                        const SourceLocation& location) {
  if (!is_integer(a) || !is_integer(b)) return std::nullopt;
  BigInt x = boost::multiprecision::numerator(a), y = boost::multiprecision::numerator(b);
  if (op == "+") return Value(Rational(BigInt(x + y)));
  if (op == "-") return Value(Rational(BigInt(x - y)));
  if (op == "*") {
    std::size_t bits = integer_bits(x) + integer_bits(y);
    if (bits > kMaxExactIntegerBits) too_large("integer", bits, location);
    reserve_memory(number_bytes(a) + number_bytes(b), location);
    return Value(Rational(BigInt(x * y)));
  }
  if (op == "/" && y != 0 && x % y == 0) return Value(Rational(BigInt(x / y)));  // an integer: no gcd
  if (op == "%" && y != 0) {
    BigInt remainder = x % y;  // truncated; the language's % takes the divisor's sign
    if (remainder != 0 && (remainder < 0) != (y < 0)) remainder += y;
    return Value(Rational(remainder));
  }
  return std::nullopt;
}

}  // namespace

Value Evaluator::eval_binary(const std::string& op, const Value& l, const Value& r, const SourceLocation& location) {
  if (l.is_rational() && r.is_rational()) {
    const Rational& a = l.as_rational();
    const Rational& b = r.as_rational();
    if (auto fast = integer_arithmetic(op, a, b, location)) return *fast;
    // What is left makes a fraction (or takes one): keep it small enough to normalise.
    bool arithmetic = op == "+" || op == "-" || op == "*" || op == "/" || op == "%";
    if (arithmetic && number_bits(a) + number_bits(b) > kMaxExactFractionBits)
      too_large("fraction", number_bits(a) + number_bits(b), location);
    if (op == "+") return Value(Rational(a + b));
    if (op == "-") return Value(Rational(a - b));
    if (op == "*") {
      reserve_memory(number_bytes(a) + number_bytes(b), location);
      return Value(Rational(a * b));
    }
    if (op == "/") {
      if (b == 0) throw Error(ErrorKind::Value, "division by zero", location);
      return Value(Rational(a / b));
    }
    if (op == "%") {
      if (b == 0) throw Error(ErrorKind::Value, "modulo by zero", location);
      Rational q = a / b;
      BigInt floor = boost::multiprecision::numerator(q) / boost::multiprecision::denominator(q);
      if (q < 0 && Rational(floor) != q) floor -= 1;
      return Value(Rational(a - Rational(floor) * b));
    }
    if (op == "**") {
      if (is_integer(b)) return Value(exact_power(a, boost::multiprecision::numerator(b), location));
      if (a < 0) throw Error(ErrorKind::Value, "a negative number raised to a fractional power", location);
      return Value(std::pow(to_double(a), to_double(b)));
    }
  }
  if (l.is_number() && r.is_number()) {
    double a = l.to_double(), b = r.to_double();
    if (op == "+") return Value(a + b);
    if (op == "-") return Value(a - b);
    if (op == "*") return Value(a * b);
    if (op == "/") {
      if (b == 0) throw Error(ErrorKind::Value, "division by zero", location);
      return Value(a / b);
    }
    if (op == "%") {
      if (b == 0) throw Error(ErrorKind::Value, "modulo by zero", location);
      return Value(a - std::floor(a / b) * b);
    }
    if (op == "**") return Value(std::pow(a, b));
  }
  if (op == "+" && l.is_string() && r.is_string()) {
    reserve_memory(l.as_string().size() + r.as_string().size(), location);
    return Value(l.as_string() + r.as_string());
  }
  if (op == "+" && l.is_list() && r.is_list()) {
    reserve_memory(bytes_for(l.as_list()->items.size() + r.as_list()->items.size(), sizeof(Value)), location);
    auto list = make_list(l.as_list()->items);
    list->items.insert(list->items.end(), r.as_list()->items.begin(), r.as_list()->items.end());
    return Value(list);
  }
  if (op == "*" && l.is_string() && r.is_rational()) {
    std::int64_t n = args::integer(r, "the repeat count", location);
    if (n < 0 || n * static_cast<std::int64_t>(l.as_string().size()) > 100'000'000)
      throw Error(ErrorKind::Value, "repeat count out of range", location);
    reserve_memory(static_cast<std::size_t>(n) * l.as_string().size(), location);
    std::string out;
    for (std::int64_t i = 0; i < n; ++i) out += l.as_string();
    return Value(out);
  }
  // Terms combine into terms: (term x) + 1 is term x + 1.
  auto lt = l.as<TermValue>();
  auto rt = r.as<TermValue>();
  if ((lt || rt) && !infix_operator_name(op).empty()) {
    auto to_term = [&](const Value& v) -> TermPtr {
      if (auto t = v.as<TermValue>()) return t->term();
      if (v.is_rational()) return make_constant(v.as_rational());
      throw Error(ErrorKind::Type, "cannot combine a term with a " + v.type_name(), location);
    };
    return Value(std::make_shared<TermValue>(make_apply(infix_operator_name(op), {to_term(l), to_term(r)})));
  }
  throw Error(ErrorKind::Type, "unsupported operand types for " + op + ": " + l.type_name() + " and " + r.type_name(), location);
}

bool Evaluator::compare(const std::string& op, const Value& l, const Value& r, const SourceLocation& location) {
  if (op == "==") return l == r;
  if (op == "!=") return l != r;
  int order = 0;
  if (l.is_rational() && r.is_rational()) {
    order = l.as_rational() < r.as_rational() ? -1 : (l.as_rational() > r.as_rational() ? 1 : 0);
  } else if (l.is_number() && r.is_number()) {
    double a = l.to_double(), b = r.to_double();
    if (std::isnan(a) || std::isnan(b)) return false;
    order = a < b ? -1 : (a > b ? 1 : 0);
  } else if (l.is_string() && r.is_string()) {
    int c = l.as_string().compare(r.as_string());
    order = c < 0 ? -1 : (c > 0 ? 1 : 0);
  } else {
    throw Error(ErrorKind::Type, "cannot order a " + l.type_name() + " and a " + r.type_name() + " with " + op, location);
  }
  if (op == "<") return order < 0;
  if (op == "<=") return order <= 0;
  if (op == ">") return order > 0;
  return order >= 0;
}

Value Evaluator::member(const Value& object, const std::string& name, const SourceLocation& location) {
  if (object.is_object()) {
    if (auto m = object.as_object()->member(name)) return *m;
    std::string known;
    for (const auto& n : object.as_object()->member_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error(ErrorKind::Name, "a " + object.type_name() + " has no member '" + name + "'" +
                                     (known.empty() ? "" : "; it has: " + known),
                location);
  }
  if (object.is_map()) {
    if (const Value* v = object.as_map()->find(Value(name))) return *v;
    throw Error(ErrorKind::Name, "the map has no key \"" + name + "\"", location);
  }
  throw Error(ErrorKind::Name, "a " + object.type_name() + " has no member '" + name + "'", location);
}

Value Evaluator::index(const Value& container, const Value& key, const SourceLocation& location) {
  if (auto range = container.as<RangeValue>()) {
    std::int64_t i = args::integer(key, "an index", location);
    if (i < 0) i += range->length();
    if (i < 0 || i >= range->length())
      throw Error(ErrorKind::Value, "index " + key.to_repr() + " out of range for a range of length " +
                                        std::to_string(range->length()),
                  location);
    return Value(static_cast<long long>(range->at(i)));
  }
  if (container.is_list() || container.is_string()) {
    std::int64_t size = container.is_list() ? static_cast<std::int64_t>(container.as_list()->items.size())
                                            : static_cast<std::int64_t>(container.as_string().size());
    std::int64_t i = args::integer(key, "an index", location);
    if (i < 0) i += size;
    if (i < 0 || i >= size)
      throw Error(ErrorKind::Value, "index " + key.to_repr() + " out of range for a " + container.type_name() + " of length " +
                                        std::to_string(size),
                  location);
    if (container.is_list()) return container.as_list()->items[static_cast<std::size_t>(i)];
    return Value(std::string(1, container.as_string()[static_cast<std::size_t>(i)]));
  }
  if (container.is_map()) {
    if (const Value* v = container.as_map()->find(key)) return *v;
    throw Error(ErrorKind::Value, "no key " + key.to_repr() + " in the map", location);
  }
  if (container.is_object()) {
    if (auto m = container.as_object()->member("__index__")) {
      CallArgs a;
      a.positional.push_back(key);
      return call(*m, a, location);
    }
  }
  throw Error(ErrorKind::Type, "a " + container.type_name() + " cannot be indexed", location);
}

void Evaluator::assign(const Expr& target, Value value, const EnvPtr& env) {
  if (target.kind == ExprKind::Name && target.text.find('.') != std::string::npos && !env->lookup(target.text)) {
    // `m.key = v`: the lexer reads `m.key` as one name; set the member of what `m` (or `m.a`) is.
    auto last = target.text.rfind('.');
    Expr head = target;
    head.text = target.text.substr(0, last);
    Value container = eval_name(head, env);
    std::string key = target.text.substr(last + 1);
    if (container.is_map()) {
      container.as_map()->set(Value(key), std::move(value));
      return;
    }
    throw Error(ErrorKind::Type, "cannot set member '" + key + "' of a " + container.type_name(), target.location);
  }
  if (target.kind == ExprKind::Name) {
    if (!env->assign(target.text, std::move(value)))
      throw Error(ErrorKind::Name, "assignment to undefined name '" + target.text + "'; declare it first with `let`",
                  target.location);
    return;
  }
  if (target.kind == ExprKind::Index) {
    Value container = eval(*target.operands[0], env);
    Value key = eval(*target.operands[1], env);
    if (container.is_list()) {
      auto& items = container.as_list()->items;
      std::int64_t i = args::integer(key, "an index", target.location);
      if (i < 0) i += static_cast<std::int64_t>(items.size());
      if (i < 0 || i >= static_cast<std::int64_t>(items.size()))
        throw Error(ErrorKind::Value, "index " + key.to_repr() + " out of range", target.location);
      items[static_cast<std::size_t>(i)] = std::move(value);
      return;
    }
    if (container.is_map()) {
      container.as_map()->set(key, std::move(value));
      return;
    }
    throw Error(ErrorKind::Type, "cannot assign into a " + container.type_name(), target.location);
  }
  if (target.kind == ExprKind::Member) {
    Value container = eval(*target.operands[0], env);
    if (container.is_map()) {
      container.as_map()->set(Value(target.text), std::move(value));
      return;
    }
    throw Error(ErrorKind::Type, "cannot set member '" + target.text + "' of a " + container.type_name(), target.location);
  }
  throw Error(ErrorKind::Syntax, "cannot assign to this expression", target.location);
}

}  // namespace twin
