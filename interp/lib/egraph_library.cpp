#include "interp/lib/egraph_library.h"

#include "compiler/canonical_form.h"
#include "compiler/guard_queries.h"
#include "compiler/rule_compiler.h"
#include "egraph/constant_folding.h"
#include "egraph/egraph.h"
#include "egraph/extract.h"
#include "egraph/runner.h"
#include "egraph/scheduler.h"
#include "interp/disassembly.h"
#include "interp/evaluator.h"
#include "interp/term.h"
#include "ops/shape_analysis.h"
#include "util/error.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace twin {

namespace eg = twin::egraph;

namespace {

// State shared by every e-graph of one interpreter: one operator table, so terms intern the
// same way everywhere, and the rule compiler for the declarations in force.
struct Engine {
  std::shared_ptr<eg::OpTable> ops = std::make_shared<eg::OpTable>();
  Interpreter* interpreter = nullptr;

  // The compiler of the current declarations: rebuilt (and its compiled rules dropped) when a
  // declaration is added, since an `op` declaration changes how calls of that op are written.
  compiler::RuleCompiler& compiler() {
    auto declarations = interpreter->evaluator().declarations();
    if (!compiler_ || compiler_->declarations() != declarations)
      compiler_ = std::make_unique<compiler::RuleCompiler>(declarations, ops);
    return *compiler_;
  }

 private:
  std::unique_ptr<compiler::RuleCompiler> compiler_;
};

Value number_value(double x) {
  if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9e15) return Value(Rational(static_cast<long long>(x)));
  return Value(x);
}

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

// How a run searches: the limits and the scheduler's parameters.
struct RunSettings {
  eg::RunLimits limits;
  eg::SchedulerKind scheduler = eg::SchedulerKind::Backoff;
  std::size_t match_limit = 1000, ban_length = 5;
};

// What happened to an e-graph, so explain() can replay it into a recording e-graph.
struct HistoryEntry {
  enum class Kind { Add, Union, Run, Push } kind;
  TermPtr term;                 // Add: canonical (EClass leaves refer to ids of this e-graph)
  eg::EClassId a = 0, b = 0;    // Union
  std::vector<std::shared_ptr<const compiler::CompiledRule>> rules;  // Run
  RunSettings settings;
};

eg::Report run_rules(Interpreter& host, eg::EGraph& graph,
                     const std::vector<std::shared_ptr<const compiler::CompiledRule>>& rules, const RunSettings& s) {
  std::vector<eg::CompiledRewrite> programs;
  for (const auto& rule : rules) programs.insert(programs.end(), rule->programs.begin(), rule->programs.end());
  std::unique_ptr<eg::Scheduler> scheduler;
  if (s.scheduler == eg::SchedulerKind::Backoff) scheduler = std::make_unique<eg::BackoffScheduler>(s.match_limit, s.ban_length);
  else scheduler = eg::make_scheduler(s.scheduler);
  // Progress for runs longer than about a second, to whatever the host shows it on.
  bool shown = false;
  eg::ProgressCallback progress = [&](const eg::Progress& p) {
    if (p.seconds < 1.0) return;
    host.diagnose({Diagnostic::Kind::Progress, "g.run",
                   "running: iteration " + std::to_string(p.iteration) + ", " + std::to_string(p.nodes) + " e-nodes, rule " +
                       std::string(p.rule)});
    shown = true;
  };
  eg::Report report = eg::run(graph, programs, s.limits, *scheduler, progress, compiler::guard_queries());
  if (shown) host.diagnose({Diagnostic::Kind::ProgressDone, "g.run", ""});
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

  // Adds a canonical term bottom-up; EClass leaves are mapped through `ids` (identity when null).
  eg::EClassId add_term(eg::EGraph& graph, const Term& term, const SourceLocation& where,
                        const std::map<eg::EClassId, eg::EClassId>* ids) const {
    try {
      return compiler::add_term(graph, term, [&](const Term& leaf) -> eg::EClassId {
        if (leaf.egraph != this) throw Error(ErrorKind::Value, "the spliced e-class id belongs to another e-graph", where);
        if (!ids) return leaf.eclass;
        auto it = ids->find(leaf.eclass);
        if (it == ids->end()) throw Error(ErrorKind::Value, "cannot replay a spliced e-class id", where);
        return it->second;
      });
    } catch (Error& e) {
      e.set_location_if_unknown(where);
      throw;
    }
  }

  TermPtr term_arg(const Value& v, const SourceLocation& where) const {
    if (auto t = v.as<TermValue>()) return t->term();
    if (v.is_rational()) return make_constant(v.as_rational());
    throw Error(ErrorKind::Type, "expected a term (write `term ...`), not a " + v.type_name(), where);
  }

  // The rules of a run's argument: rulesets, rules, or lists of them, compiled.
  std::vector<std::shared_ptr<const compiler::CompiledRule>> rules_arg(const Value& rules, const SourceLocation& where) {
    std::vector<std::shared_ptr<const compiler::CompiledRule>> out;
    compiler::RuleCompiler& compiler = engine_->compiler();
    std::vector<const List*> open;  // the lists being read: a list met inside itself adds nothing
    std::function<void(const Value&)> add = [&](const Value& v) {
      if (v.is_list()) {
        const List* list = v.as_list().get();
        if (std::find(open.begin(), open.end(), list) != open.end()) return;
        if (open.size() >= static_cast<std::size_t>(kMaxValueDepth))
          throw Error(ErrorKind::Value, "run: the rules are nested in lists more than " + std::to_string(kMaxValueDepth) +
                                            " levels deep",
                      where);
        open.push_back(list);
        for (const auto& item : list->items) add(item);
        open.pop_back();
      } else if (auto rs = v.as<RulesetValue>()) {
        for (const auto& r : rs->rules()) add(Value(r));
      } else if (auto r = v.as<RuleValue>()) {
        out.push_back(compiler.compile(r->source()));
      } else {
        throw Error(ErrorKind::Type, "run expects rulesets or rules (or a list of them), not a " + v.type_name(), where);
      }
    };
    add(rules);
    return out;
  }

  eg::CostFunction cost_arg(const CallArgs& a) {
    const Value* v = a.find_named("cost");
    if (!v) return eg::CostFunction::ast_size();
    auto c = v->as<CostValue>();
    if (!c) throw Error(ErrorKind::Type, "cost= expects a cost function (a `cost` block), not a " + v->type_name(), a.location);
    compiler::RuleCompiler& compiler = engine_->compiler();
    eg::CostFunction function;
    for (const auto& arm : c->source()->arms)
      function.arms.push_back(eg::CostArm{compiler::to_pattern(*compiler.canonical(arm.pattern), *engine_->ops), arm.guard,
                                          arm.cost});
    return function;
  }

  eg::ExtractMode mode_arg(const CallArgs& a) const {
    const Value* v = a.find_named("dag");
    return v && v->truthy() ? eg::ExtractMode::Dag : eg::ExtractMode::Tree;
  }

  TermPtr readable(const eg::RecExpr& expr) {
    return engine_->compiler().form().readable(compiler::from_rec_expr(*engine_->ops, expr));
  }

  Value add(CallArgs& a);
  Value lookup(CallArgs& a);
  Value explain(eg::EClassId a, eg::EClassId b, const EClassValue& va, const EClassValue& vb, const SourceLocation& where);
  Value run(CallArgs& a);
  Value classes();
};

Value EGraphValue::add(CallArgs& a) {
  args::expect_count(a, 1, 1, "add");
  TermPtr term = engine_->compiler().canonical(term_arg(a.positional[0], a.location));
  eg::EClassId id = add_term(graph_, *term, a.location, nullptr);
  HistoryEntry h{HistoryEntry::Kind::Add};
  h.term = term;
  h.a = id;
  history_.push_back(h);
  return Value(std::make_shared<EClassValue>(this, id, history_.size() - 1));
}

Value EGraphValue::lookup(CallArgs& a) {
  args::expect_count(a, 1, 1, "lookup");
  TermPtr term = engine_->compiler().canonical(term_arg(a.positional[0], a.location));
  eg::OpTable& ops = *engine_->ops;
  // A lookup must not add: each node is looked up bottom-up in the hash-cons.
  std::function<std::optional<eg::EClassId>(const Term&)> find = [&](const Term& t) -> std::optional<eg::EClassId> {
    std::vector<eg::EClassId> children;
    std::vector<std::string> names;
    eg::OpId op;
    switch (t.kind) {
      case TermKind::Symbol: op = ops.intern_symbol(t.name); break;
      case TermKind::Constant: op = ops.intern_constant(t.constant); break;
      case TermKind::String: op = ops.intern_string(t.name); break;
      case TermKind::EClass: return graph_.find(t.eclass);
      case TermKind::List:
      case TermKind::Apply: {
        for (const auto& o : t.operands) {
          auto c = find(*o);
          if (!c) return std::nullopt;
          children.push_back(*c);
        }
        for (const auto& [n, v] : t.attributes) {
          auto c = find(*v);
          if (!c) return std::nullopt;
          children.push_back(*c);
          names.push_back(n);
        }
        op = ops.intern_apply(t.kind == TermKind::List ? "list" : t.name, static_cast<std::uint32_t>(children.size()), names);
        break;
      }
      default: return std::nullopt;
    }
    graph_.rebuild();
    auto found = graph_.lookup(op, children);
    if (found) return graph_.find(*found);
    return std::nullopt;
  };
  auto id = find(*term);
  if (!id) return Value();
  return Value(std::make_shared<EClassValue>(this, *id, std::nullopt));
}

Value EGraphValue::explain(eg::EClassId a, eg::EClassId b, const EClassValue& va, const EClassValue& vb,
                           const SourceLocation& where) {
  if (!graph_.equivalent(a, b)) throw Error(ErrorKind::Value, "cannot explain: the two terms are not equal in this e-graph", where);
  std::vector<eg::ExplanationStep> steps;
  if (graph_.explanations_enabled()) {
    steps = graph_.explain(a, b);
  } else {
    // Replay the history into a recording e-graph (see egraph_library.h).
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
        case HistoryEntry::Kind::Run: run_rules(*engine_->interpreter, replay, h.rules, h.settings); break;
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
    list->items.emplace_back(std::make_shared<ExplanationStepValue>(s.rule, s.forward, readable(s.before), readable(s.after)));
  return Value(list);
}

Value EGraphValue::run(CallArgs& a) {
  args::allow_named(a, {"iters", "nodes", "time", "scheduler", "match_limit", "ban_length"}, "run");
  args::expect_count(a, 1, 1, "run");
  HistoryEntry h{HistoryEntry::Kind::Run};
  h.rules = rules_arg(a.positional[0], a.location);
  RunSettings& s = h.settings;
  if (auto v = a.find_named("iters")) s.limits.iterations = static_cast<std::size_t>(std::max<std::int64_t>(0, args::integer(*v, "iters", a.location)));
  if (auto v = a.find_named("nodes")) s.limits.nodes = static_cast<std::size_t>(std::max<std::int64_t>(0, args::integer(*v, "nodes", a.location)));
  if (auto v = a.find_named("time")) s.limits.time_seconds = args::number(*v, "time", a.location);
  if (auto v = a.find_named("scheduler")) {
    const std::string& name = args::string(*v, "scheduler", a.location);
    if (name == "simple") s.scheduler = eg::SchedulerKind::Simple;
    else if (name == "backoff") s.scheduler = eg::SchedulerKind::Backoff;
    else throw Error(ErrorKind::Value, "unknown scheduler \"" + name + "\"; expected \"backoff\" or \"simple\"", a.location);
  }
  if (auto v = a.find_named("match_limit")) s.match_limit = static_cast<std::size_t>(args::integer(*v, "match_limit", a.location));
  if (auto v = a.find_named("ban_length")) s.ban_length = static_cast<std::size_t>(args::integer(*v, "ban_length", a.location));
  // The host's deadline bounds the run as its own time limit does; a run it cut short is an error.
  ScriptBudget& budget = engine_->interpreter->budget();
  budget.check_deadline(a.location);
  RunSettings bounded = s;
  bounded.limits.time_seconds = std::min(bounded.limits.time_seconds, budget.seconds_left());
  bounded.limits.stop_when = [&budget](const eg::EGraph&) { return budget.memory_exceeded(); };
  eg::Report report;
  try {
    report = run_rules(*engine_->interpreter, graph_, h.rules, bounded);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Value, std::string("cannot run these rules: ") + e.what(), a.location);
  }
  history_.push_back(std::move(h));
  budget.check_deadline(a.location);
  budget.check_memory(0, a.location);
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

Value EGraphValue::classes() {
  auto list = make_list();
  const eg::OpTable& ops = *engine_->ops;
  for (eg::EClassId id : graph_.class_ids()) {
    auto entry = make_map();
    entry->set(Value("id"), Value(std::make_shared<EClassValue>(this, id, std::nullopt)));
    auto nodes = make_list();
    for (const auto& node : graph_.class_nodes(id)) {
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
  if (name == "add") return method([](EGraphValue& g, CallContext&, CallArgs& a) { return g.add(a); });
  if (name == "lookup") return method([](EGraphValue& g, CallContext&, CallArgs& a) { return g.lookup(a); });
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
      eg::CostFunction function = g.cost_arg(a);
      eg::Extraction best;
      try {
        best = eg::extract_best(g.graph_, id, function, g.mode_arg(a), compiler::guard_queries());
      } catch (const std::exception& e) {
        throw Error(ErrorKind::Value, std::string("cannot extract: ") + e.what(), a.location);
      }
      if (want_cost) return number_value(best.cost);
      return Value(std::make_shared<TermValue>(g.readable(best.term)));
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
      return g.classes();
    });
  if (name == "dot")
    return method([](EGraphValue& g, CallContext&, CallArgs& a) {
      args::expect_count(a, 0, 0, "dot");
      return Value(g.graph_.to_dot());
    });
  return std::nullopt;
}

// egraph(explain=false, fold=true, prune=false):
//   explain  record explanations eagerly (otherwise explain() replays the history);
//   fold     constant folding: true (add sub mul div neg pow), false, or a list of op names;
//   prune    a class that folds to a constant keeps only its leaves (egg's math example).
Value make_egraph(const std::shared_ptr<Engine>& engine, CallArgs& a) {
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
}

}  // namespace

void open_egraph_library(Interpreter& interpreter) {
  auto engine = std::make_shared<Engine>();
  engine->interpreter = &interpreter;
  interpreter.register_function("egraph", [engine](CallContext&, CallArgs& a) { return make_egraph(engine, a); });
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

}  // namespace twin
