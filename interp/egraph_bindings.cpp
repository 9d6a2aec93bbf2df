#include "interp/egraph_bindings.h"

#include "egraph/constant_folding.h"
#include "egraph/egraph.h"
#include "egraph/extract.h"
#include "egraph/machine.h"
#include "egraph/pattern_compiler.h"
#include "egraph/rewrite.h"
#include "egraph/runner.h"
#include "egraph/scalar_expr.h"
#include "egraph/scheduler.h"
#include "util/error.h"
#include "interp/evaluator.h"
#include "interp/printer.h"
#include "interp/term.h"
#include "ops/op_spec.h"
#include "ops/shape_analysis.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace twin {

namespace eg = twin::egraph;

namespace {

// State shared by every e-graph of one interpreter: one operator table, so terms intern the
// same way everywhere, and the interpreter (for op declarations' attribute order).
struct Engine {
  std::shared_ptr<eg::OpTable> ops = std::make_shared<eg::OpTable>();
  Interpreter* interpreter = nullptr;

  // Attribute order of an operator: as declared by `op`, or by the op vocabulary (ops/), when
  // the op is known; else as written. The order is part of an operator's identity in the
  // engine, so `sum(x, dim=0, keepdim=true)` and `sum(x, keepdim=true, dim=0)` must agree.
  std::vector<std::pair<std::string, TermPtr>> ordered_attributes(const Term& term) const {
    if (term.attributes.size() < 2) return term.attributes;
    std::vector<std::string> order;
    if (auto op = interpreter->evaluator().declared_op(term.name)) {
      for (const auto& attribute : op->decl().attributes) order.push_back(attribute.name);
    } else if (const ops::OpSpec* spec = ops::find_op(term.name)) {
      for (const auto& attribute : spec->attributes) order.push_back(attribute.name);
    } else {
      return term.attributes;
    }
    std::vector<std::pair<std::string, TermPtr>> ordered;
    for (const auto& name : order)
      for (const auto& pair : term.attributes)
        if (pair.first == name) ordered.push_back(pair);
    for (const auto& pair : term.attributes) {
      bool placed = false;
      for (const auto& o : ordered) placed = placed || o.first == pair.first;
      if (!placed) ordered.push_back(pair);
    }
    return ordered;
  }

  // Replaces every call of a declared op that has a body by its body, the parameters bound to
  // the call's operands and attributes (defaults filling the rest). Validation needs the
  // meaning (`op my_rmsnorm(x, w; eps: float) = ...`); the e-graph keeps such ops opaque.
  TermPtr expand_bodies(const TermPtr& term, int depth = 0) const {
    if (depth > 64) throw Error(ErrorKind::Value, "op bodies nest more than 64 deep (a recursive op?)");
    if (term->kind != TermKind::Apply && term->kind != TermKind::List) return term;
    auto copy = std::make_shared<Term>(*term);
    for (auto& o : copy->operands) o = expand_bodies(o, depth);
    for (auto& [n, a] : copy->attributes) a = expand_bodies(a, depth);
    if (copy->kind != TermKind::Apply) return copy;
    auto op = interpreter->evaluator().declared_op(copy->name);
    if (!op || !op->decl().body) return copy;
    const OpDecl& decl = op->decl();
    std::map<std::string, TermPtr> bound;
    std::size_t positional = copy->operands.size();
    if (positional > decl.operands.size() + decl.attributes.size())
      throw Error(ErrorKind::Type, "op " + decl.name + " takes " + std::to_string(decl.operands.size()) + " operands, got " +
                                       std::to_string(positional), decl.location);
    for (std::size_t i = 0; i < positional; ++i) {
      const std::string& name = i < decl.operands.size() ? decl.operands[i] : decl.attributes[i - decl.operands.size()].name;
      bound[name] = copy->operands[i];
    }
    for (const auto& [n, a] : copy->attributes) bound[n] = a;
    for (const auto& attribute : decl.attributes)
      if (!bound.count(attribute.name) && attribute.default_value)
        bound[attribute.name] = lower_term(*attribute.default_value, nullptr);
    for (const auto& name : decl.operands)
      if (!bound.count(name)) throw Error(ErrorKind::Type, "op " + decl.name + " is missing operand " + name, decl.location);
    std::function<TermPtr(const TermPtr&)> substitute = [&](const TermPtr& t) -> TermPtr {
      if (t->kind == TermKind::Symbol) {
        auto it = bound.find(t->name);
        return it == bound.end() ? t : it->second;
      }
      auto c = std::make_shared<Term>(*t);
      for (auto& o : c->operands) o = substitute(o);
      for (auto& [n, a] : c->attributes) a = substitute(a);
      return c;
    };
    return expand_bodies(substitute(lower_term(*decl.body, nullptr)), depth + 1);
  }

  eg::OpId intern_apply(const Term& term, std::vector<std::string>& attr_names) const {
    auto arity = static_cast<std::uint32_t>(term.operands.size() + term.attributes.size());
    return ops->intern_apply(term.kind == TermKind::List ? "list" : term.name, arity, attr_names);
  }
};

// The queries guards and cost arms may use: is_const and is_sym (the engine's), and the tensor
// queries shape, dim, rank, numel and dtype (answered by the shape analysis).
const eg::QueryRegistry& twin_queries() {
  static const eg::QueryRegistry registry = [] {
    eg::QueryRegistry r;
    ops::register_shape_queries(r);
    return r;
  }();
  return registry;
}

// ---- Term <-> engine -------------------------------------------------------------------

eg::Pattern to_pattern(const Engine& engine, const Term& term, const SourceLocation& where) {
  switch (term.kind) {
    case TermKind::Var: return eg::Pattern::Var(term.name);
    case TermKind::Wildcard: return eg::Pattern::Var("_");
    case TermKind::Symbol: return eg::Pattern::Node(engine.ops->intern_symbol(term.name));
    case TermKind::Constant: return eg::Pattern::Node(engine.ops->intern_constant(term.constant));
    case TermKind::String: return eg::Pattern::Node(engine.ops->intern_string(term.name));
    case TermKind::EClass: throw Error(ErrorKind::Type, "an e-class id cannot appear in a pattern", where);
    case TermKind::List:
    case TermKind::Apply: {
      auto attributes = engine.ordered_attributes(term);
      std::vector<std::string> names;
      std::vector<eg::Pattern> children;
      for (const auto& operand : term.operands) children.push_back(to_pattern(engine, *operand, where));
      for (const auto& [name, value] : attributes) {
        names.push_back(name);
        children.push_back(to_pattern(engine, *value, where));
      }
      std::uint32_t arity = static_cast<std::uint32_t>(children.size());
      eg::OpId op = engine.ops->intern_apply(term.kind == TermKind::List ? "list" : term.name, arity, names);
      return eg::Pattern::Node(op, std::move(children));
    }
  }
  throw Error(ErrorKind::Type, "not a pattern", where);
}

TermPtr to_term(const eg::OpTable& ops, const eg::RecExpr& expr, eg::EClassId index) {
  const eg::ENode& node = expr[index];
  const eg::OpInfo& info = ops.info(node.op);
  auto t = std::make_shared<Term>();
  switch (info.kind) {
    case eg::OpKind::Symbol: t->kind = TermKind::Symbol; t->name = info.name; return t;
    case eg::OpKind::Constant: t->kind = TermKind::Constant; t->constant = info.constant; return t;
    case eg::OpKind::String: t->kind = TermKind::String; t->name = info.name; return t;
    case eg::OpKind::Apply: break;
  }
  std::size_t positional = node.children.size() - info.attr_names.size();
  t->kind = info.name == "list" && info.attr_names.empty() ? TermKind::List : TermKind::Apply;
  t->name = t->kind == TermKind::List ? "" : info.name;
  for (std::size_t i = 0; i < node.children.size(); ++i) {
    TermPtr child = to_term(ops, expr, node.children[i]);
    if (i < positional) t->operands.push_back(child);
    else t->attributes.emplace_back(info.attr_names[i - positional], child);
  }
  return t;
}

TermPtr to_term(const eg::OpTable& ops, const eg::RecExpr& expr) {
  if (expr.empty()) return make_symbol("?");
  return to_term(ops, expr, expr.root());
}

// ---- guards and costs -> ScalarExpr ------------------------------------------------------

eg::ScalarExpr to_scalar(const Expr& e, const std::string& context) {
  using S = eg::ScalarExpr;
  auto unsupported = [&](const std::string& what) -> S {
    throw Error(ErrorKind::Syntax, what + " cannot appear in " + context +
                                       "; expected comparisons, and/or/not, arithmetic, pattern variables, constants and "
                                       "queries such as is_const(?x)",
                e.location);
  };
  switch (e.kind) {
    case ExprKind::PatternVar: return S::var(e.text);
    case ExprKind::Number: return S::constant(e.number);
    case ExprKind::String: return S::string(e.text);
    case ExprKind::Bool: return S::boolean_value(e.boolean);
    case ExprKind::Name: return S::string(e.text);  // dtype names and other symbolic constants
    case ExprKind::Unary: {
      S operand = to_scalar(*e.operands[0], context);
      if (operand.kind == S::Kind::Constant) return S::constant(-operand.number);
      return S::neg(std::move(operand));
    }
    case ExprKind::Binary: {
      static const std::map<std::string, S::ArithOp> ops = {{"+", S::ArithOp::Add}, {"-", S::ArithOp::Sub},
                                                            {"*", S::ArithOp::Mul}, {"/", S::ArithOp::Div},
                                                            {"%", S::ArithOp::Mod}, {"**", S::ArithOp::Pow}};
      return S::arith_op(ops.at(e.text), to_scalar(*e.operands[0], context), to_scalar(*e.operands[1], context));
    }
    case ExprKind::Compare: {
      static const std::map<std::string, S::CompareOp> ops = {{"==", S::CompareOp::Eq}, {"!=", S::CompareOp::Ne},
                                                              {"<", S::CompareOp::Lt},  {"<=", S::CompareOp::Le},
                                                              {">", S::CompareOp::Gt},  {">=", S::CompareOp::Ge}};
      std::optional<S> result;
      for (std::size_t i = 0; i < e.compare_ops.size(); ++i) {
        S link = S::compare_op(ops.at(e.compare_ops[i]), to_scalar(*e.operands[i], context),
                               to_scalar(*e.operands[i + 1], context));
        result = result ? S::and_(std::move(*result), std::move(link)) : std::move(link);
      }
      return *result;
    }
    case ExprKind::And: return S::and_(to_scalar(*e.operands[0], context), to_scalar(*e.operands[1], context));
    case ExprKind::Or: return S::or_(to_scalar(*e.operands[0], context), to_scalar(*e.operands[1], context));
    case ExprKind::Not: return S::not_(to_scalar(*e.operands[0], context));
    case ExprKind::Call: {
      const Expr& callee = *e.operands[0];
      if (callee.kind != ExprKind::Name) return unsupported("this call");
      const auto& registry = twin_queries();
      if (registry.index_of(callee.text) < 0)
        throw Error(ErrorKind::Name, "unknown query '" + callee.text + "' in " + context, callee.location);
      std::vector<S> args;
      for (std::size_t i = 1; i < e.operands.size(); ++i) {
        if (!e.arg_names[i - 1].empty()) return unsupported("a named argument");
        args.push_back(to_scalar(*e.operands[i], context));
      }
      return S::query(callee.text, std::move(args));
    }
    default: return unsupported("this expression");
  }
}

// The engine's rewrites for one rule: one, or two for `<=>`.
std::vector<eg::Rewrite> to_rewrites(const Engine& engine, const RuleValue& rule, bool expand_bodies = false) {
  const RuleDecl& decl = rule.decl();
  std::vector<eg::Rewrite> out;
  TermPtr lhs_term = expand_bodies ? engine.expand_bodies(rule.lhs()) : rule.lhs();
  TermPtr rhs_term = expand_bodies ? engine.expand_bodies(rule.rhs()) : rule.rhs();
  eg::Pattern lhs = to_pattern(engine, *lhs_term, decl.lhs->location);
  eg::Pattern rhs = to_pattern(engine, *rhs_term, decl.rhs->location);
  std::optional<eg::ScalarExpr> guard;
  if (decl.guard) guard = to_scalar(*decl.guard, "the guard of rule " + decl.name);
  out.push_back(eg::Rewrite{decl.name, lhs, rhs, guard, false});
  if (decl.bidirectional) out.push_back(eg::Rewrite{decl.name, rhs, lhs, guard, true});
  return out;
}

std::vector<eg::Rewrite> collect_rewrites(const Engine& engine, const Value& rules, const SourceLocation& where) {
  std::vector<eg::Rewrite> out;
  std::function<void(const Value&)> add = [&](const Value& v) {
    if (v.is_list()) {
      for (const auto& item : v.as_list()->items) add(item);
    } else if (auto rs = v.as<RulesetValue>()) {
      for (const auto& r : rs->rules()) add(Value(r));
    } else if (auto r = v.as<RuleValue>()) {
      try {
        for (auto& rw : to_rewrites(engine, *r)) out.push_back(std::move(rw));
      } catch (Error& e) {
        e.set_location_if_unknown(r->decl().location);
        throw;
      }
    } else {
      throw Error(ErrorKind::Type, "run expects rulesets or rules (or a list of them), not a " + v.type_name(), where);
    }
  };
  add(rules);
  return out;
}

eg::CostFunction to_cost_function(const Engine& engine, const CostValue& cost) {
  eg::CostFunction function;
  for (const auto& arm : cost.arms()) {
    std::string context = "cost " + cost.name();
    function.arms.push_back(eg::CostArm{to_pattern(engine, *arm.pattern, arm.cost->location),
                                        arm.guard ? std::optional(to_scalar(*arm.guard, context)) : std::nullopt,
                                        to_scalar(*arm.cost, context)});
  }
  return function;
}

Value number_value(double x) {
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9e15) return Value(Rational(static_cast<long long>(x)));
  return Value(x);
}

// ---- values ------------------------------------------------------------------------------

class EGraphValue;

class EClassValue : public Object {
 public:
  EClassValue(const EGraphValue* graph, eg::EClassId id, std::optional<std::size_t> origin)
      : graph_(graph), id_(id), origin_(origin) {}
  std::string type_name() const override { return "eclass"; }
  std::string to_string() const override { return "e" + std::to_string(id_); }
  std::optional<Value> member(const std::string& name) override {
    if (name == "id") return Value(static_cast<long long>(id_));
    if (name == "__term__") {
      auto t = std::make_shared<Term>();
      t->kind = TermKind::EClass;
      t->eclass = id_;
      t->egraph = graph_;
      return Value(std::make_shared<TermValue>(t));
    }
    return std::nullopt;
  }
  std::vector<std::string> member_names() const override { return {"id"}; }
  bool equals(const Object& other) const override {
    auto* o = dynamic_cast<const EClassValue*>(&other);
    return o && o->graph_ == graph_ && o->id_ == id_;
  }
  const EGraphValue* graph() const { return graph_; }
  eg::EClassId id() const { return id_; }
  const std::optional<std::size_t>& origin() const { return origin_; }

 private:
  const EGraphValue* graph_;
  eg::EClassId id_;
  std::optional<std::size_t> origin_;  // index of the `add` in the e-graph's history that returned it
};

class ReportValue : public Object {
 public:
  explicit ReportValue(eg::Report report) : report_(std::move(report)) {}
  std::string type_name() const override { return "report"; }
  std::string to_string() const override { return report_.to_string(); }
  std::vector<std::string> member_names() const override {
    return {"stop_reason", "iterations", "nodes", "classes", "seconds", "rules"};
  }
  std::optional<Value> member(const std::string& name) override {
    if (name == "stop_reason") return Value(std::string(eg::to_string(report_.stop_reason)));
    if (name == "iterations") return Value(report_.iterations);
    if (name == "nodes") return Value(report_.nodes);
    if (name == "classes") return Value(report_.classes);
    if (name == "seconds") return Value(report_.seconds);
    if (name == "rules") {
      auto list = make_list();
      for (const auto& r : report_.rules) {
        auto m = make_map();
        m->set(Value("name"), Value(r.name));
        m->set(Value("matches"), Value(r.matches));
        m->set(Value("applications"), Value(r.applications));
        m->set(Value("seconds"), Value(r.search_seconds + r.apply_seconds));
        list->items.emplace_back(m);
      }
      return Value(list);
    }
    return std::nullopt;
  }

 private:
  eg::Report report_;
};

class ExplanationStepValue : public Object {
 public:
  ExplanationStepValue(std::string rule, bool forward, TermPtr before, TermPtr after)
      : rule_(std::move(rule)), forward_(forward), before_(std::move(before)), after_(std::move(after)) {}
  std::string type_name() const override { return "step"; }
  std::string to_string() const override {
    return print_term(*before_) + "  =>  " + print_term(*after_) + "   [" + rule_ + (forward_ ? "" : ", backward") + "]";
  }
  std::vector<std::string> member_names() const override { return {"rule", "direction", "before", "after"}; }
  std::optional<Value> member(const std::string& name) override {
    if (name == "rule") return Value(rule_);
    if (name == "direction") return Value(forward_ ? "forward" : "backward");
    if (name == "before") return Value(std::make_shared<TermValue>(before_));
    if (name == "after") return Value(std::make_shared<TermValue>(after_));
    return std::nullopt;
  }

 private:
  std::string rule_;
  bool forward_;
  TermPtr before_, after_;
};

// What happened to an e-graph, so explain() can replay it into a recording e-graph.
struct HistoryEntry {
  enum class Kind { Add, Union, Run, Push } kind;
  TermPtr term;                         // Add (EClass leaves refer to ids of this e-graph)
  eg::EClassId a = 0, b = 0;            // Union
  std::vector<eg::Rewrite> rules;       // Run
  eg::RunLimits limits;
  eg::SchedulerKind scheduler = eg::SchedulerKind::Backoff;
  std::size_t match_limit = 1000, ban_length = 5;
};

eg::Report run_rules(eg::EGraph& graph, const std::vector<eg::Rewrite>& rules, const eg::RunLimits& limits,
                     eg::SchedulerKind kind, std::size_t match_limit, std::size_t ban_length) {
  // Progress on a terminal for runs longer than about a second.
  bool shown = false;
  eg::ProgressCallback progress = nullptr;
  if (isatty(STDERR_FILENO)) {
    progress = [&shown](const eg::Progress& p) {
      if (p.seconds < 1.0) return;
      std::fprintf(stderr, "\r\033[K  running: iteration %zu, %zu e-nodes, rule %.*s", p.iteration, p.nodes,
                   static_cast<int>(p.rule.size()), p.rule.data());
      std::fflush(stderr);
      shown = true;
    };
  }
  eg::Report report;
  if (kind == eg::SchedulerKind::Backoff && (match_limit != 1000 || ban_length != 5)) {
    std::vector<eg::CompiledRewrite> compiled;
    for (const auto& r : rules) compiled.push_back(eg::compile_rule(r, graph.ops(), twin_queries()));
    eg::BackoffScheduler scheduler(match_limit, ban_length);
    report = eg::run(graph, compiled, limits, scheduler, progress, twin_queries());
  } else {
    report = eg::run(graph, rules, limits, kind, progress, twin_queries());
  }
  if (shown) std::fprintf(stderr, "\r\033[K");
  return report;
}

class EGraphValue : public Object {
 public:
  EGraphValue(std::shared_ptr<Engine> engine, bool explain, std::optional<eg::ConstantFolding::Options> folding)
      : engine_(std::move(engine)), graph_(engine_->ops, false), folding_(std::move(folding)) {
    if (folding_) graph_.add_analysis(std::make_unique<eg::ConstantFolding>(*folding_));
    ops::add_shape_analysis(graph_);
    if (explain) graph_.enable_explanations();
  }

  std::string type_name() const override { return "egraph"; }
  std::string to_string() const override {
    auto& g = const_cast<eg::EGraph&>(graph_);
    return "<egraph " + std::to_string(g.num_classes()) + " classes, " + std::to_string(g.num_nodes()) + " e-nodes>";
  }
  std::vector<std::string> member_names() const override {
    return {"add", "union", "equal", "find", "lookup", "run", "extract", "cost", "explain", "push", "pop",
            "classes", "dot", "num_classes", "num_nodes"};
  }

  std::optional<Value> member(const std::string& name) override;

 private:
  std::shared_ptr<Engine> engine_;
  eg::EGraph graph_;
  std::vector<HistoryEntry> history_;
  std::vector<std::size_t> push_marks_;
  std::optional<eg::ConstantFolding::Options> folding_;

  std::shared_ptr<EGraphValue> self() { return std::static_pointer_cast<EGraphValue>(shared_from_this()); }

  eg::EClassId class_arg(const Value& v, const SourceLocation& where) const {
    auto c = v.as<EClassValue>();
    if (!c) throw Error(ErrorKind::Type, "expected an e-class id (from g.add), not a " + v.type_name(), where);
    if (c->graph() != this) throw Error(ErrorKind::Value, "that e-class id belongs to another e-graph", where);
    return c->id();
  }

  // Adds a term bottom-up; EClass leaves are mapped through `ids` (identity when null).
  eg::EClassId add_term(eg::EGraph& graph, const Term& term, const SourceLocation& where,
                        const std::map<eg::EClassId, eg::EClassId>* ids) const {
    switch (term.kind) {
      case TermKind::Symbol: return graph.add(engine_->ops->intern_symbol(term.name));
      case TermKind::Constant: return graph.add(engine_->ops->intern_constant(term.constant));
      case TermKind::String: return graph.add(engine_->ops->intern_string(term.name));
      case TermKind::Var:
        throw Error(ErrorKind::Value, "a term with pattern variables (?" + term.name + ") cannot be added to an e-graph", where);
      case TermKind::Wildcard: throw Error(ErrorKind::Value, "`_` cannot be added to an e-graph", where);
      case TermKind::EClass: {
        if (term.egraph != this) throw Error(ErrorKind::Value, "the spliced e-class id belongs to another e-graph", where);
        if (!ids) return term.eclass;
        auto it = ids->find(term.eclass);
        if (it == ids->end()) throw Error(ErrorKind::Value, "cannot replay a spliced e-class id", where);
        return it->second;
      }
      case TermKind::List:
      case TermKind::Apply: {
        auto attributes = engine_->ordered_attributes(term);
        std::vector<eg::EClassId> children;
        std::vector<std::string> names;
        for (const auto& operand : term.operands) children.push_back(add_term(graph, *operand, where, ids));
        for (const auto& [n, value] : attributes) {
          names.push_back(n);
          children.push_back(add_term(graph, *value, where, ids));
        }
        eg::OpId op = engine_->ops->intern_apply(term.kind == TermKind::List ? "list" : term.name,
                                                 static_cast<std::uint32_t>(children.size()), names);
        return graph.add(op, children);
      }
    }
    throw Error(ErrorKind::Value, "not a term", where);
  }

  TermPtr term_arg(const Value& v, const SourceLocation& where) const {
    if (auto t = v.as<TermValue>()) return t->term();
    if (v.is_rational()) return make_constant(v.as_rational());
    throw Error(ErrorKind::Type, "expected a term (write `term ...`), not a " + v.type_name(), where);
  }

  const CostValue* cost_arg(const CallArgs& a) const {
    const Value* v = a.find_named("cost");
    if (!v) return nullptr;
    auto c = v->as<CostValue>();
    if (!c) throw Error(ErrorKind::Type, "cost= expects a cost function (a `cost` block), not a " + v->type_name(), a.location);
    return c.get();
  }

  eg::ExtractMode mode_arg(const CallArgs& a) const {
    const Value* v = a.find_named("dag");
    return v && v->truthy() ? eg::ExtractMode::Dag : eg::ExtractMode::Tree;
  }

  Value explain(eg::EClassId a, eg::EClassId b, const EClassValue& va, const EClassValue& vb, const SourceLocation& where);
  Value run(CallArgs& a);
};

Value EGraphValue::explain(eg::EClassId a, eg::EClassId b, const EClassValue& va, const EClassValue& vb,
                           const SourceLocation& where) {
  if (!graph_.equivalent(a, b)) throw Error(ErrorKind::Value, "cannot explain: the two terms are not equal in this e-graph", where);
  std::vector<eg::ExplanationStep> steps;
  const eg::OpTable& ops = *engine_->ops;
  if (graph_.explanations_enabled()) {
    steps = graph_.explain(a, b);
  } else {
    // Replay the history into a recording e-graph (see egraph_bindings.h).
    if (!va.origin() || !vb.origin())
      throw Error(ErrorKind::Value, "explain needs e-class ids returned by g.add; or create the e-graph with egraph(explain=true)", where);
    eg::EGraph replay(engine_->ops, false);
    if (folding_) replay.add_analysis(std::make_unique<eg::ConstantFolding>(*folding_));
    ops::add_shape_analysis(replay);
    replay.enable_explanations();
    std::map<eg::EClassId, eg::EClassId> ids;
    std::vector<eg::EClassId> added(history_.size(), eg::kNoClass);
    for (std::size_t i = 0; i < history_.size(); ++i) {
      const HistoryEntry& h = history_[i];
      switch (h.kind) {
        case HistoryEntry::Kind::Add: added[i] = add_term(replay, *h.term, where, &ids); break;
        case HistoryEntry::Kind::Union: {
          auto x = ids.find(h.a), y = ids.find(h.b);
          if (x == ids.end() || y == ids.end())
            throw Error(ErrorKind::Value, "cannot explain: a union used ids not returned by g.add; create the e-graph with egraph(explain=true)", where);
          replay.union_classes(x->second, y->second, "union");
          break;
        }
        case HistoryEntry::Kind::Run: run_rules(replay, h.rules, h.limits, h.scheduler, h.match_limit, h.ban_length); break;
        case HistoryEntry::Kind::Push: break;
      }
      if (h.kind == HistoryEntry::Kind::Add) ids[h.a] = added[i];
    }
    eg::EClassId ra = added.at(*va.origin()), rb = added.at(*vb.origin());
    if (!replay.equivalent(ra, rb))
      throw Error(ErrorKind::Value,
                  "cannot explain: replaying this e-graph's history did not reproduce the equality (a run hit its time "
                  "limit?); create the e-graph with egraph(explain=true)",
                  where);
    steps = replay.explain(ra, rb);
  }
  auto list = make_list();
  for (const auto& s : steps)
    list->items.emplace_back(std::make_shared<ExplanationStepValue>(s.rule, s.forward, to_term(ops, s.before), to_term(ops, s.after)));
  return Value(list);
}

Value EGraphValue::run(CallArgs& a) {
  args::allow_named(a, {"iters", "nodes", "time", "scheduler", "match_limit", "ban_length"}, "run");
  args::expect_count(a, 1, 1, "run");
  HistoryEntry h{HistoryEntry::Kind::Run};
  h.rules = collect_rewrites(*engine_, a.positional[0], a.location);
  if (auto v = a.find_named("iters")) h.limits.iterations = static_cast<std::size_t>(std::max<std::int64_t>(0, args::integer(*v, "iters", a.location)));
  if (auto v = a.find_named("nodes")) h.limits.nodes = static_cast<std::size_t>(std::max<std::int64_t>(0, args::integer(*v, "nodes", a.location)));
  if (auto v = a.find_named("time")) h.limits.time_seconds = args::number(*v, "time", a.location);
  if (auto v = a.find_named("scheduler")) {
    const std::string& s = args::string(*v, "scheduler", a.location);
    if (s == "simple") h.scheduler = eg::SchedulerKind::Simple;
    else if (s == "backoff") h.scheduler = eg::SchedulerKind::Backoff;
    else throw Error(ErrorKind::Value, "unknown scheduler \"" + s + "\"; expected \"backoff\" or \"simple\"", a.location);
  }
  if (auto v = a.find_named("match_limit")) h.match_limit = static_cast<std::size_t>(args::integer(*v, "match_limit", a.location));
  if (auto v = a.find_named("ban_length")) h.ban_length = static_cast<std::size_t>(args::integer(*v, "ban_length", a.location));
  eg::Report report;
  try {
    report = run_rules(graph_, h.rules, h.limits, h.scheduler, h.match_limit, h.ban_length);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Value, std::string("cannot run these rules: ") + e.what(), a.location);
  }
  history_.push_back(std::move(h));
  // The two directions of a `<=>` rule report as the one rule the user wrote.
  std::vector<eg::RuleReport> merged;
  for (const auto& r : report.rules) {
    auto same = std::find_if(merged.begin(), merged.end(), [&](const eg::RuleReport& m) { return m.name == r.name; });
    if (same == merged.end()) {
      merged.push_back(r);
      continue;
    }
    same->matches += r.matches;
    same->applications += r.applications;
    same->search_seconds += r.search_seconds;
    same->apply_seconds += r.apply_seconds;
  }
  report.rules = std::move(merged);
  return Value(std::make_shared<ReportValue>(std::move(report)));
}

std::optional<Value> EGraphValue::member(const std::string& name) {
  auto self_ptr = self();
  auto method = [&](auto body) {
    return Value(std::make_shared<NativeFunction>("egraph." + name, [self_ptr, body](CallContext& c, CallArgs& a) {
      return body(*self_ptr, c, a);
    }));
  };
  if (name == "num_classes") return Value(graph_.num_classes());
  if (name == "num_nodes") return Value(graph_.num_nodes());
  if (name == "add")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 1, 1, "add");
      TermPtr term = g.term_arg(a.positional[0], a.location);
      eg::EClassId id = g.add_term(g.graph_, *term, a.location, nullptr);
      HistoryEntry h{HistoryEntry::Kind::Add};
      h.term = term;
      h.a = id;
      g.history_.push_back(h);
      return Value(std::make_shared<EClassValue>(&g, id, g.history_.size() - 1));
    });
  if (name == "lookup")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 1, 1, "lookup");
      TermPtr term = g.term_arg(a.positional[0], a.location);
      // A lookup must not add: try on a copy-free path by checking each node bottom-up.
      std::function<std::optional<eg::EClassId>(const Term&)> find = [&](const Term& t) -> std::optional<eg::EClassId> {
        std::vector<eg::EClassId> children;
        std::vector<std::string> names;
        eg::OpId op;
        switch (t.kind) {
          case TermKind::Symbol: op = g.engine_->ops->intern_symbol(t.name); break;
          case TermKind::Constant: op = g.engine_->ops->intern_constant(t.constant); break;
          case TermKind::String: op = g.engine_->ops->intern_string(t.name); break;
          case TermKind::EClass: return g.graph_.find(t.eclass);
          case TermKind::List:
          case TermKind::Apply: {
            for (const auto& o : t.operands) {
              auto c = find(*o);
              if (!c) return std::nullopt;
              children.push_back(*c);
            }
            for (const auto& [n, v] : g.engine_->ordered_attributes(t)) {
              auto c = find(*v);
              if (!c) return std::nullopt;
              children.push_back(*c);
              names.push_back(n);
            }
            op = g.engine_->ops->intern_apply(t.kind == TermKind::List ? "list" : t.name,
                                              static_cast<std::uint32_t>(children.size()), names);
            break;
          }
          default: return std::nullopt;
        }
        g.graph_.rebuild();
        auto found = g.graph_.lookup(op, children);
        if (found) return g.graph_.find(*found);
        return std::nullopt;
      };
      auto id = find(*term);
      if (!id) return Value();
      return Value(std::make_shared<EClassValue>(&g, *id, std::nullopt));
    });
  if (name == "union")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 2, 2, "union");
      eg::EClassId x = g.class_arg(a.positional[0], a.location), y = g.class_arg(a.positional[1], a.location);
      bool changed = g.graph_.union_classes(x, y, "union");
      g.graph_.rebuild();
      HistoryEntry h{HistoryEntry::Kind::Union};
      h.a = x;
      h.b = y;
      g.history_.push_back(h);
      return Value(changed);
    });
  if (name == "equal")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 2, 2, "equal");
      return Value(g.graph_.equivalent(g.class_arg(a.positional[0], a.location), g.class_arg(a.positional[1], a.location)));
    });
  if (name == "find")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 1, 1, "find");
      g.graph_.rebuild();
      return Value(std::make_shared<EClassValue>(&g, g.graph_.find(g.class_arg(a.positional[0], a.location)), std::nullopt));
    });
  if (name == "run") return method([](EGraphValue& g, CallContext&, CallArgs& a) { return g.run(a); });
  if (name == "extract" || name == "cost") {
    bool want_cost = name == "cost";
    return method([want_cost](EGraphValue& g, CallContext&, CallArgs& a) {
      args::allow_named(a, {"cost", "dag"}, want_cost ? "cost" : "extract");
      args::expect_count(a, 1, 1, want_cost ? "cost" : "extract");
      eg::EClassId id = g.class_arg(a.positional[0], a.location);
      const CostValue* c = g.cost_arg(a);
      eg::CostFunction function = c ? to_cost_function(*g.engine_, *c) : eg::CostFunction::ast_size();
      eg::Extraction best;
      try {
        best = eg::extract_best(g.graph_, id, function, g.mode_arg(a), twin_queries());
      } catch (const std::exception& e) {
        throw Error(ErrorKind::Value, std::string("cannot extract: ") + e.what(), a.location);
      }
      if (want_cost) return number_value(best.cost);
      return Value(std::make_shared<TermValue>(to_term(*g.engine_->ops, best.term)));
    });
  }
  if (name == "explain")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 2, 2, "explain");
      auto va = a.positional[0].as<EClassValue>();
      auto vb = a.positional[1].as<EClassValue>();
      eg::EClassId x = g.class_arg(a.positional[0], a.location), y = g.class_arg(a.positional[1], a.location);
      return g.explain(x, y, *va, *vb, a.location);
    });
  if (name == "push")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 0, 0, "push");
      g.graph_.push();
      g.push_marks_.push_back(g.history_.size());
      return Value();
    });
  if (name == "pop")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 0, 0, "pop");
      if (g.push_marks_.empty()) throw Error(ErrorKind::Value, "pop without a matching push", a.location);
      g.graph_.pop();
      g.history_.resize(g.push_marks_.back());
      g.push_marks_.pop_back();
      return Value();
    });
  if (name == "classes")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 0, 0, "classes");
      auto list = make_list();
      const eg::OpTable& ops = *g.engine_->ops;
      for (eg::EClassId id : g.graph_.class_ids()) {
        auto entry = make_map();
        entry->set(Value("id"), Value(std::make_shared<EClassValue>(&g, id, std::nullopt)));
        auto nodes = make_list();
        for (const auto& node : g.graph_.class_nodes(id)) {
          std::string text = ops.display(node.op);
          if (!node.children.empty()) {
            text += "(";
            for (std::size_t i = 0; i < node.children.size(); ++i) text += (i ? ", e" : "e") + std::to_string(node.children[i]);
            text += ")";
          }
          nodes->items.emplace_back(text);
        }
        entry->set(Value("nodes"), Value(nodes));
        list->items.emplace_back(entry);
      }
      return Value(list);
    });
  if (name == "dot")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 0, 0, "dot");
      return Value(g.graph_.to_dot());
    });
  return std::nullopt;
}

}  // namespace

void install_egraph_builtins(Interpreter& interpreter) {
  auto engine = std::make_shared<Engine>();
  engine->interpreter = &interpreter;
  // egraph(explain=false, fold=true, prune=false):
  //   explain  record explanations eagerly (otherwise explain() replays the history);
  //   fold     constant folding: true (add sub mul div neg pow), false, or a list of op names;
  //   prune    a class that folds to a constant keeps only its leaves (egg's math example).
  interpreter.register_function("egraph", [engine](CallContext&, CallArgs& a) {
    args::allow_named(a, {"explain", "fold", "prune"}, "egraph");
    args::expect_count(a, 0, 0, "egraph");
    const Value* explain = a.find_named("explain");
    std::optional<eg::ConstantFolding::Options> folding = eg::ConstantFolding::Options{};
    if (const Value* fold = a.find_named("fold")) {
      if (fold->is_list()) {
        std::map<std::string, eg::ConstantFolding::Fold> all = folding->ops, chosen;
        for (const auto& item : fold->as_list()->items) {
          const std::string& op = args::string(item, "an operator in fold=", a.location);
          auto it = all.find(op);
          if (it == all.end())
            throw Error(ErrorKind::Value, "cannot fold '" + op + "'; expected some of add, sub, mul, div, neg, pow", a.location);
          chosen.insert(*it);
        }
        folding->ops = std::move(chosen);
      } else if (!fold->truthy()) {
        folding.reset();
      }
    }
    if (const Value* prune = a.find_named("prune")) {
      if (!folding && prune->truthy()) throw Error(ErrorKind::Value, "prune=true needs constant folding", a.location);
      if (folding) folding->prune = prune->truthy();
    }
    return Value(std::make_shared<EGraphValue>(engine, explain && explain->truthy(), folding));
  });
  interpreter.register_function("disasm", [](CallContext& c, CallArgs& a) {
    args::expect_count(a, 0, 1, "disasm");
    std::optional<std::string> rule;
    if (!a.positional.empty()) {
      if (auto r = a.positional[0].as<RuleValue>()) rule = r->name();
      else rule = args::string(a.positional[0], "the rule name", a.location);
    }
    return Value(disassemble_rules(c.interpreter, rule));
  });
}

eg::Rewrite rule_to_rewrite(Interpreter& interpreter, const RuleValue& rule, std::shared_ptr<eg::OpTable> ops) {
  Engine engine;
  engine.ops = std::move(ops);
  engine.interpreter = &interpreter;
  try {
    return to_rewrites(engine, rule, true).front();
  } catch (Error& e) {
    e.set_location_if_unknown(rule.decl().location);
    throw;
  }
}

std::vector<eg::Rewrite> rule_to_rewrites(Interpreter& interpreter, const RuleValue& rule, std::shared_ptr<eg::OpTable> ops) {
  Engine engine;
  engine.ops = std::move(ops);
  engine.interpreter = &interpreter;
  try {
    return to_rewrites(engine, rule, true);
  } catch (Error& e) {
    e.set_location_if_unknown(rule.decl().location);
    throw;
  }
}

std::string disassemble_rules(Interpreter& interpreter, const std::optional<std::string>& rule_name) {
  Engine engine;
  engine.interpreter = &interpreter;
  std::string out;
  bool found = false;
  for (const auto& ruleset : interpreter.evaluator().rulesets()) {
    for (const auto& rule : ruleset->rules()) {
      if (rule_name && rule->name() != *rule_name) continue;
      found = true;
      out += "# " + ruleset->name() + "." + rule->name() + " (" + rule->decl().location.to_string() + ")\n";
      out += rule->to_string() + "\n";
      std::vector<eg::Rewrite> rewrites;
      try {
        rewrites = to_rewrites(engine, *rule);
      } catch (Error& e) {
        e.set_location_if_unknown(rule->decl().location);
        throw;
      }
      for (const auto& rw : rewrites) {
        eg::MatchProgram program = eg::compile(rw.lhs, *engine.ops);
        out += rw.reversed ? "  right-to-left:\n" : (rule->decl().bidirectional ? "  left-to-right:\n" : "");
        std::string text = eg::disassemble(program, *engine.ops);
        std::string indented;
        std::size_t start = 0;
        while (start < text.size()) {
          auto end = text.find('\n', start);
          if (end == std::string::npos) end = text.size();
          indented += "    " + text.substr(start, end - start) + "\n";
          start = end + 1;
        }
        out += indented;
        if (rw.guard) out += "    guard: " + rw.guard->to_string() + "\n";
      }
      out += "\n";
    }
  }
  if (rule_name && !found) throw Error(ErrorKind::Name, "no rule named '" + *rule_name + "'");
  return out;
}

}  // namespace twin
