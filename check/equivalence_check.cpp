#include "check/equivalence_check.h"

#include "check/declared_relations.h"
#include "check/graph_lowering.h"
#include "check/tensor_values.h"
#include "egraph/constant_folding.h"
#include "util/error.h"
#include "interp/evaluator.h"
#include "interp/interpreter.h"
#include "ops/shape_analysis.h"

#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace twin::check {

namespace eg = twin::egraph;
namespace fs = std::filesystem;

const char* check_verdict_name(CheckVerdict verdict) {
  switch (verdict) {
    case CheckVerdict::Equivalent: return "equivalent";
    case CheckVerdict::EquivalentReal: return "equivalent_real";
    case CheckVerdict::NotEquivalent: return "not_equivalent";
    case CheckVerdict::Unproven: return "unproven";
  }
  return "unproven";
}

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

const eg::QueryRegistry& check_queries() {
  static const eg::QueryRegistry registry = [] {
    eg::QueryRegistry r;
    ops::register_shape_queries(r);
    return r;
  }();
  return registry;
}

// A term printed to a limited depth (deeper subterms print as `...`), so a proof step inside
// a 32-layer model stays one line.
std::string shallow_term(const eg::Explainer& ex, const eg::OpTable& ops, eg::EClassId id, int depth) {
  const eg::OpInfo& info = ops.info(ex.term_op(id));
  auto children = ex.term_children(id);
  std::string head = ops.display(ex.term_op(id));
  if (info.kind != eg::OpKind::Apply) {
    if (info.kind == eg::OpKind::Symbol) {
      auto colon = info.name.find(": ");
      return colon == std::string::npos ? info.name : info.name.substr(0, colon);
    }
    return head;
  }
  if (info.name == "list") {
    std::string out = "[";
    for (std::size_t i = 0; i < children.size(); ++i)
      out += (i ? ", " : "") + (depth > 0 ? shallow_term(ex, ops, children[i], depth - 1) : std::string("..."));
    return out + "]";
  }
  std::size_t named = info.attr_names.size();
  std::size_t operands = children.size() - std::min(named, children.size());
  std::string out = info.name + "(";
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (i) out += ", ";
    if (i >= operands) out += info.attr_names[i - operands] + "=" + shallow_term(ex, ops, children[i], 2);
    else out += depth > 0 ? shallow_term(ex, ops, children[i], depth - 1) : "...";
  }
  return out + ")";
}

std::vector<fs::path> stdlib_files() {
  std::vector<fs::path> files;
  fs::path dir = installed_stdlib_directory();
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return files;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".rules") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

CheckResult check_equivalence(const Graph& reference, const Graph& port, const CheckOptions& options) {
  CheckResult result;
  auto start = Clock::now();
  auto report = [&](const std::string& stage, const std::string& detail) {
    if (options.progress) options.progress(CheckProgress{stage, detail, since(start)});
  };

  // ---- 1. rules ---------------------------------------------------------------------------
  report("rules", "loading");
  InterpreterOptions interpreter_options;
  interpreter_options.allowed_read_dirs = options.allow_read;
  for (const auto& f : options.rule_files) interpreter_options.allowed_read_dirs.push_back(fs::absolute(f).parent_path());
  Interpreter interpreter(std::move(interpreter_options));
  std::vector<fs::path> files;
  if (options.use_stdlib) files = stdlib_files();
  files.insert(files.end(), options.rule_files.begin(), options.rule_files.end());
  for (const auto& f : files) interpreter.load_declarations(f);
  auto ops = std::make_shared<eg::OpTable>();
  AdmissionOptions admission = options.admission;
  if (!admission.on_verify) admission.on_verify = [&](const std::string& rule) { report("rules", "verifying " + rule); };
  std::vector<AdmittedRule> rules = admit_rules(interpreter, ops, admission);
  std::vector<eg::Rewrite> rewrites;
  std::map<std::string, const AdmittedRule*> rule_by_name;
  for (const auto& r : rules) {
    rule_by_name[r.name] = &r;
    if (!r.admitted) {
      result.rejected_rules.push_back(r);
      continue;
    }
    ++result.stats.rules_admitted;
    rewrites.insert(rewrites.end(), r.rewrites.begin(), r.rewrites.end());
  }
  result.stats.rules_rejected = result.rejected_rules.size();
  result.stats.rules_seconds = since(start);

  // ---- 2. sources and relations -------------------------------------------------------------
  auto lowering_start = Clock::now();
  if (reference.inputs().size() != port.inputs().size())
    throw Error(ErrorKind::Value, port.file() + ": the port takes " + std::to_string(port.inputs().size()) +
                                      " inputs, the reference " + std::to_string(reference.inputs().size()));
  if (reference.outputs().size() != port.outputs().size())
    throw Error(ErrorKind::Value, port.file() + ": the port returns " + std::to_string(port.outputs().size()) +
                                      " outputs, the reference " + std::to_string(reference.outputs().size()));
  for (std::size_t i = 0; i < reference.inputs().size(); ++i) {
    const GraphTensor& r = reference.inputs()[i];
    const GraphTensor& p = port.inputs()[i];
    if (!(r.type == p.type))
      throw Error(ErrorKind::Value, port.file() + ": input " + std::to_string(i) + " (" + p.name + ") is " +
                                        p.type.to_string() + ", the reference's (" + r.name + ") is " + r.type.to_string());
  }
  report("relations", "inferring parameter relations");
  // Declared relations (`relation` in the rule files) first, the inferred ones for the rest.
  result.relations = declared_and_inferred_relations(interpreter.declared_relations(), reference, port);
  for (const auto& r : result.relations)
    if (r.declared) result.declared.push_back(r.port);
  std::map<std::string, TermPtr> relation_terms;
  for (const auto& r : result.relations)
    if (r.related()) relation_terms[r.port] = r.term();

  // ---- 3. one e-graph, saturated --------------------------------------------------------------
  // An attempt lowers both graphs into a fresh e-graph and saturates it with some rules; the
  // first attempt uses every admitted rule, later ones (the proof's minimization) fewer.
  struct Attempt {
    eg::EGraph graph;
    TensorValueAnalysis* values = nullptr;
    std::map<std::string, LoweredValue> ref_sources, port_sources;
    LoweredGraph ref_lowered, port_lowered;
    std::vector<bool> outputs_proved;
    std::size_t iterations = 0;
    std::string stop_reason = "saturated";
    double lowering_seconds = 0, saturation_seconds = 0;
    explicit Attempt(std::shared_ptr<eg::OpTable> ops) : graph(std::move(ops), true) {}
    bool all_equal() {
      bool all = true;
      outputs_proved.assign(ref_lowered.outputs.size(), false);
      for (std::size_t i = 0; i < ref_lowered.outputs.size(); ++i) {
        outputs_proved[i] = graph.find(ref_lowered.outputs[i].id) == graph.find(port_lowered.outputs[i].id);
        all = all && outputs_proved[i];
      }
      return all;
    }
  };
  auto attempt = [&](const std::vector<eg::Rewrite>& with, bool show_progress, std::size_t max_iterations) {
    auto a = std::make_unique<Attempt>(ops);
    auto lowering_begin = Clock::now();
    eg::EGraph& graph = a->graph;
    ops::add_shape_analysis(graph);
    a->values = &add_tensor_value_analysis(graph);
    graph.enable_explanations();
    GraphLowering lowering(graph, *a->values);
    auto& ref_sources = a->ref_sources;
    auto& port_sources = a->port_sources;
    for (std::size_t i = 0; i < reference.inputs().size(); ++i) {
      LoweredValue v = lowering.leaf("input." + std::to_string(i), reference.inputs()[i].type);
      ref_sources[reference.inputs()[i].name] = v;
      port_sources[port.inputs()[i].name] = v;
    }
    std::map<std::string, LoweredValue> relation_sources;
    for (const auto& t : reference.parameters()) relation_sources[t.name] = ref_sources[t.name] = lowering.leaf(t.name, t.type);
    for (const auto& t : reference.buffers())
      relation_sources[t.name] = ref_sources[t.name] = lowering.leaf(t.name + "@reference", t.type, t.value);
    for (const auto& t : reference.constants()) ref_sources[t.name] = lowering.constant(t.name + "@reference", t.type, t.value);
    for (const auto* group : {&port.parameters(), &port.buffers()}) {
      for (const auto& t : *group) {
        auto it = relation_terms.find(t.name);
        if (it != relation_terms.end()) {
          LoweredValue v = lowering.add_term(*it->second, relation_sources);
          if (!v.type || !(v.type->shape == t.type.shape) || v.type->dtype != t.type.dtype)
            throw Error(ErrorKind::Value, port.file() + ": the relation for " + t.name + " gives " +
                                              (v.type ? v.type->to_string() : std::string("no type")) +
                                              ", the parameter is " + t.type.to_string());
          port_sources[t.name] = v;
        } else {
          // Unrelated: an unknown of its own (a buffer keeps its value, so it can still meet
          // a reference constant with the same bits).
          bool is_buffer = group == &port.buffers();
          port_sources[t.name] = lowering.leaf(t.name + "@port", t.type, is_buffer ? t.value : std::nullopt);
        }
      }
    }
    for (const auto& t : port.constants()) port_sources[t.name] = lowering.constant(t.name + "@port", t.type, t.value);
    if (show_progress) report("lowering", "reference");
    a->ref_lowered = lowering.lower(reference, ref_sources);
    if (show_progress) report("lowering", "port");
    a->port_lowered = lowering.lower(port, port_sources);
    for (std::size_t i = 0; i < a->ref_lowered.outputs.size(); ++i) {
      const auto& x = a->ref_lowered.outputs[i].type;
      const auto& y = a->port_lowered.outputs[i].type;
      if (x && y && !(x->shape == y->shape))
        throw Error(ErrorKind::Value, port.file() + ": output " + std::to_string(i) + " is " + y->to_string() +
                                          ", the reference's is " + x->to_string());
    }
    a->lowering_seconds = since(lowering_begin);

    auto saturation_begin = Clock::now();
    graph.rebuild();
    if (!a->all_equal()) {
      // One run, stopped as soon as every output pair has met (a proof found at iteration 4
      // does not pay for 36 more); one backoff scheduler throughout, so a rule banned for
      // matching too much comes back with a higher limit, as in egg.
      auto progress = [&](const eg::Progress& p) {
        if (show_progress)
          report("saturating", "iteration " + std::to_string(p.iteration + 1) + ", " + std::to_string(p.nodes) +
                                   " e-nodes, " + std::string(p.rule));
      };
      eg::RunLimits limits = options.limits;
      limits.iterations = max_iterations;
      Attempt* self = a.get();
      limits.stop_when = [self](const eg::EGraph&) { return self->all_equal(); };
      eg::Report run_report = eg::run(graph, with, limits, eg::SchedulerKind::Backoff, progress, check_queries());
      graph.rebuild();
      a->iterations = run_report.iterations;
      a->stop_reason = std::string(eg::to_string(run_report.stop_reason));
    }
    a->saturation_seconds = since(saturation_begin);
    return a;
  };

  std::unique_ptr<Attempt> best = attempt(rewrites, true, options.limits.iterations);
  result.stats.lowering_seconds = best->lowering_seconds;
  result.stats.saturation_seconds = best->saturation_seconds;
  result.stats.reference_nodes = best->ref_lowered.nodes.size();
  result.stats.port_nodes = best->port_lowered.nodes.size();

  // The rules on a proof's path, in first-use order (host unions such as constant folding and
  // equal constant values are not rules).
  auto proof_rules = [&](Attempt& a) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < a.ref_lowered.outputs.size(); ++i)
      for (const auto& e : a.graph.proof_edges(a.port_lowered.outputs[i].id, a.ref_lowered.outputs[i].id))
        if (rule_by_name.count(e.rule) && std::find(names.begin(), names.end(), e.rule) == names.end())
          names.push_back(e.rule);
    return names;
  };
  // Minimization: an explanation follows the proof forest as the unions happened, so it may
  // take detours (a SiLU unfolded into a sigmoid and folded back). Each rule of the proof is
  // left out in turn (with those already found unnecessary) and the check re-run; when the
  // outputs still meet, the rule goes, and the new proof's rules are examined. The proof
  // reported is the last one found: each rule it lists was needed given the others (within
  // the time budget; past it, the remaining rules are kept as they are).
  if (best->all_equal() && options.minimize_seconds > 0) {
    auto minimize_start = Clock::now();
    std::vector<std::string> needed = proof_rules(*best);
    std::set<std::string> dropped, tried;
    // A trial that has not met within a few iterations more than the proof took is a failure.
    std::size_t trial_iterations = best->iterations + 4;
    for (std::size_t i = 0; i < needed.size() && since(minimize_start) < options.minimize_seconds; ++i) {
      if (!tried.insert(needed[i]).second) continue;
      report("proof", "minimizing: without " + needed[i]);
      std::vector<eg::Rewrite> fewer;
      for (const auto& r : rewrites)
        if (r.name != needed[i] && !dropped.count(r.name)) fewer.push_back(r);
      std::unique_ptr<Attempt> trial = attempt(fewer, false, trial_iterations);
      if (trial->all_equal()) {
        dropped.insert(needed[i]);
        needed = proof_rules(*trial);
        best = std::move(trial);
        i = static_cast<std::size_t>(-1);  // the new proof's rules, from the start (tried ones are skipped)
        ++result.stats.minimization_drops;
      }
    }
    result.stats.minimization_seconds = since(minimize_start);
  }
  eg::EGraph& graph = best->graph;
  TensorValueAnalysis& values = *best->values;
  auto& ref_sources = best->ref_sources;
  auto& port_sources = best->port_sources;
  auto& ref_lowered = best->ref_lowered;
  auto& port_lowered = best->port_lowered;
  auto all_equal = [&] {
    bool all = best->all_equal();
    result.outputs_proved = best->outputs_proved;
    return all;
  };
  all_equal();
  result.stats.iterations = best->iterations;
  result.stats.stop_reason = best->stop_reason;
  result.stats.enodes = graph.num_nodes();
  result.stats.eclasses = graph.num_classes();
  result.stats.value_unions = values.value_unions();

  // Modules of exact terms, for attributing proof steps: port first, then reference.
  std::map<eg::EClassId, std::string> port_module, ref_module;
  for (const auto& n : port_lowered.nodes) port_module.emplace(n.value.id, n.module);
  for (const auto& n : ref_lowered.nodes) ref_module.emplace(n.value.id, n.module);

  const eg::Explainer& explainer = *graph.explainer();
  auto module_of = [&](eg::EClassId id) -> std::string {
    // The exact term, else the nearest lowered subterm (breadth first).
    std::vector<eg::EClassId> frontier{id};
    std::set<eg::EClassId> seen;
    for (int depth = 0; depth < 6 && !frontier.empty(); ++depth) {
      std::vector<eg::EClassId> next;
      for (eg::EClassId x : frontier) {
        if (auto it = port_module.find(x); it != port_module.end()) return it->second;
        if (auto it = ref_module.find(x); it != ref_module.end()) return it->second;
        for (eg::EClassId c : explainer.term_children(x))
          if (seen.insert(c).second) next.push_back(c);
      }
      frontier = std::move(next);
    }
    return "";
  };

  // ---- 4. the proof -----------------------------------------------------------------------
  if (all_equal()) {
    report("proof", "summarizing");
    std::map<std::string, std::size_t> rule_index;
    std::ostringstream proof;
    for (std::size_t i = 0; i < ref_lowered.outputs.size(); ++i) {
      std::vector<eg::ProofEdge> edges = graph.proof_edges(port_lowered.outputs[i].id, ref_lowered.outputs[i].id);
      if (options.full_proof) proof << "# output " << i << ": " << edges.size() << " steps, port -> reference\n";
      std::set<std::pair<std::string, std::string>> precision_seen;
      for (const auto& e : edges) {
        std::string module = module_of(e.from);
        if (module.empty()) module = module_of(e.to);
        auto it = rule_index.find(e.rule);
        if (it == rule_index.end()) {
          it = rule_index.emplace(e.rule, result.rules_used.size()).first;
          RuleUse use;
          use.rule = e.rule;
          auto r = rule_by_name.find(e.rule);
          use.changes_precision = r != rule_by_name.end() && r->second->changes_precision;
          result.rules_used.push_back(use);
        }
        RuleUse& use = result.rules_used[it->second];
        ++use.steps;
        if (std::find(use.modules.begin(), use.modules.end(), module) == use.modules.end()) use.modules.push_back(module);
        if (use.changes_precision && precision_seen.insert({module, e.rule}).second) {
          result.precision_differences.push_back(
              PrecisionDifference{module, e.rule, "changes precision", shallow_term(explainer, *ops, e.from, 3)});
        }
        if (options.full_proof) {
          proof << e.rule << (e.forward ? "" : " (right to left)") << "  [" << (module.empty() ? "<model>" : module)
                << "]\n    " << shallow_term(explainer, *ops, e.from, 4) << "\n => " << shallow_term(explainer, *ops, e.to, 4)
                << "\n";
        }
      }
    }
    result.proof_text = proof.str();
    // Precision differences in the port's execution order (by module), so the first listed is
    // where the difference first shows.
    std::map<std::string, std::size_t> module_order;
    for (const auto& n : port_lowered.nodes) module_order.emplace(n.module, module_order.size());
    for (const auto& n : ref_lowered.nodes) module_order.emplace(n.module, module_order.size());
    std::stable_sort(result.precision_differences.begin(), result.precision_differences.end(),
                     [&](const PrecisionDifference& a, const PrecisionDifference& b) {
                       auto rank = [&](const std::string& m) {
                         auto it = module_order.find(m);
                         return it == module_order.end() ? module_order.size() : it->second;
                       };
                       return rank(a.module) < rank(b.module);
                     });
    result.verdict = result.precision_differences.empty() ? CheckVerdict::Equivalent : CheckVerdict::EquivalentReal;
  } else {
    // ---- 5. numerics, then what is unmatched ----------------------------------------------
    auto numerics_start = Clock::now();
    bool runnable = options.numerics;
    for (const auto* g : {&reference, &port})
      for (const auto& t : g->parameters()) runnable = runnable && t.value.has_value();
    if (runnable) {
      report("numerics", "running both graphs on the example inputs");
      try {
        result.numerics = localize_divergence(reference, port);
      } catch (const Error&) {
        result.numerics.reset();  // cannot run (e.g. no stored inputs): the answer stays unproven
      }
    }
    result.stats.numerics_seconds = since(numerics_start);
    if (result.numerics && !result.numerics->outputs_agree) {
      result.verdict = CheckVerdict::NotEquivalent;
    } else {
      result.verdict = CheckVerdict::Unproven;
      // The smallest unmatched pieces: port nodes outside every reference class whose operands
      // are all in reference classes (or constants).
      std::set<eg::EClassId> ref_classes;
      for (const auto& [name, v] : ref_sources) ref_classes.insert(graph.find(v.id));
      // The port's sources are inputs and terms over the reference's parameters: given.
      for (const auto& [name, v] : port_sources) ref_classes.insert(graph.find(v.id));
      for (const auto& n : ref_lowered.nodes) ref_classes.insert(graph.find(n.value.id));
      auto matched = [&](eg::EClassId id) {
        eg::EClassId root = graph.find(id);
        if (ref_classes.count(root)) return true;
        if (values.value(graph, root)) return true;
        return ops->is_leaf(explainer.term_op(id));
      };
      // Consumers of each port value (by exact-term id), to tell a harmless unmatched value
      // (every consumer matched again: a fused projection before its split, a partial
      // product) from a gap that propagates.
      auto operands_of = [&](eg::EClassId id) {
        std::vector<eg::EClassId> out;
        for (eg::EClassId c : explainer.term_children(id)) {
          if (ops->info(explainer.term_op(c)).name == "list") {
            for (eg::EClassId item : explainer.term_children(c)) out.push_back(item);
          } else {
            out.push_back(c);
          }
        }
        return out;
      };
      std::map<eg::EClassId, std::vector<eg::EClassId>> consumers;
      for (const auto& n : port_lowered.nodes)
        for (eg::EClassId c : operands_of(n.value.id)) consumers[c].push_back(n.value.id);
      std::set<eg::EClassId> port_outputs;
      for (const auto& o : port_lowered.outputs) port_outputs.insert(o.id);
      std::map<std::pair<std::string, int>, const ValueMatch*> value_match;
      if (result.numerics)
        for (const auto& m : result.numerics->value_matches) value_match[{m.node, m.output}] = &m;
      // A gap starts at an unmatched value whose operands are matched and from which some path
      // to a graph output runs through unmatched values only (as the divergence rule says
      // for numbers: an unmatched value that is matched again downstream, such as a fused
      // projection before its split, or a partial product, is harmless).
      std::map<eg::EClassId, bool> reaches_output;
      for (std::size_t k = port_lowered.nodes.size(); k-- > 0;) {
        eg::EClassId id = port_lowered.nodes[k].value.id;
        bool r = port_outputs.count(id) && !matched(id);
        for (eg::EClassId c : consumers[id]) r = r || (!matched(c) && reaches_output[c]);
        reaches_output[id] = r;
      }
      std::set<eg::EClassId> reported;
      for (const auto& n : port_lowered.nodes) {
        if (matched(n.value.id) || !reaches_output[n.value.id]) continue;
        bool inputs_matched = true;
        for (eg::EClassId c : operands_of(n.value.id)) inputs_matched = inputs_matched && matched(c);
        if (!inputs_matched || !reported.insert(graph.find(n.value.id)).second) continue;
        UnmatchedPiece piece{n.node + (n.output ? "[" + std::to_string(n.output) + "]" : ""), n.module, n.op,
                             n.value.type ? n.value.type->to_string() : "", shallow_term(explainer, *ops, n.value.id, 3),
                             "", "", ""};
        if (auto it = value_match.find({n.node, n.output}); it != value_match.end() && it->second->status != "none") {
          piece.numeric_match = it->second->status;
          piece.reference = it->second->reference;
          piece.reference_module = it->second->reference_module;
        }
        result.unmatched.push_back(std::move(piece));
        if (result.unmatched.size() >= 20) break;
      }
    }
  }
  result.stats.seconds = since(start);
  result.stats.peak_rss_mib = peak_rss_mib();
  return result;
}

std::string CheckResult::to_text() const {
  std::ostringstream out;
  switch (verdict) {
    case CheckVerdict::Equivalent: out << "equivalent"; break;
    case CheckVerdict::EquivalentReal: out << "equivalent in real arithmetic"; break;
    case CheckVerdict::NotEquivalent: out << "not equivalent"; break;
    case CheckVerdict::Unproven: out << "unproven"; break;
  }
  out << "\n";
  if (verdict == CheckVerdict::Equivalent || verdict == CheckVerdict::EquivalentReal) {
    out << "proof: " << rules_used.size() << " rules\n";
    for (const auto& u : rules_used) {
      out << "  " << u.rule << " x" << u.steps << (u.changes_precision ? "  (changes precision)" : "") << "  in ";
      for (std::size_t i = 0; i < u.modules.size() && i < 4; ++i) out << (i ? ", " : "") << (u.modules[i].empty() ? "<model>" : u.modules[i]);
      if (u.modules.size() > 4) out << ", ... (" << u.modules.size() << " modules)";
      out << "\n";
    }
    if (!precision_differences.empty()) {
      out << "precision differences (the two agree in real arithmetic, not in floating point):\n";
      for (const auto& p : precision_differences) out << "  " << p.module << ": " << p.rule << "  " << p.term << "\n";
    }
  }
  if (verdict == CheckVerdict::NotEquivalent && numerics) {
    out << "first divergences (port nodes whose inputs match the reference but whose values do not):\n";
    for (const Divergence* d : numerics->first_per_module()) {
      char line[512];
      std::snprintf(line, sizeof line, "  %s  %s (%s)  max abs %.3g, rel %.3g, R-ratio %.3g",
                    d->module.empty() ? "<model>" : d->module.c_str(), d->node.c_str(), d->op.c_str(), d->max_abs_error,
                    d->rel_error, d->r_ratio);
      out << line;
      if (d->masked_mismatches > 0)
        out << ", " << d->masked_mismatches << " positions masked (infinite or a fill value) on one side only";
      out << "\n";
    }
  }
  if (verdict == CheckVerdict::Unproven) {
    out << (numerics ? "the outputs agree numerically, but the rules do not connect them\n"
                     : "the rules do not connect the outputs (the graphs were not run)\n");
    out << "smallest unmatched port pieces:\n";
    for (const auto& u : unmatched) {
      out << "  " << (u.module.empty() ? "<model>" : u.module) << "  " << u.node << " (" << u.op << ") " << u.type;
      if (!u.reference.empty())
        out << "  matches reference " << u.reference << " (" << (u.reference_module.empty() ? "<model>" : u.reference_module)
            << (u.numeric_match == "matched" ? "" : ", " + u.numeric_match) << ")";
      out << "\n      " << u.term << "\n";
    }
  }
  if (!rejected_rules.empty()) {
    out << rejected_rules.size() << " rules not used (not verified):";
    for (std::size_t i = 0; i < rejected_rules.size() && i < 8; ++i)
      out << " " << rejected_rules[i].name << " (" << verify::verdict_name(rejected_rules[i].report.verdict) << ")";
    out << "\n";
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "%zu e-nodes, %zu iterations, %.2fs (rules %.2fs, saturation %.2fs, proof minimization %.2fs), peak %.0f MiB\n",
                stats.enodes, stats.iterations, stats.seconds, stats.rules_seconds, stats.saturation_seconds,
                stats.minimization_seconds, stats.peak_rss_mib);
  out << line;
  return out.str();
}

std::string CheckResult::to_json() const {
  using nlohmann::json;
  json out;
  out["verdict"] = check_verdict_name(verdict);
  out["outputs_proved"] = outputs_proved;
  json used = json::array();
  std::vector<std::string> names;
  for (const auto& u : rules_used) {
    names.push_back(u.rule);
    used.push_back({{"rule", u.rule}, {"steps", u.steps}, {"modules", u.modules}, {"changes_precision", u.changes_precision}});
  }
  out["rules_used"] = names;
  out["proof"] = used;
  json precision = json::array();
  for (const auto& p : precision_differences)
    precision.push_back({{"module", p.module}, {"rule", p.rule}, {"numerics", p.numerics}, {"term", p.term}});
  out["precision_differences"] = precision;
  json divergences = json::array();
  if (verdict == CheckVerdict::NotEquivalent && numerics) {
    for (const auto& d : numerics->divergences) {
      auto num = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
      divergences.push_back({{"module", d.module}, {"node", d.node}, {"op", d.op}, {"aten_op", d.aten_op},
                             {"type", d.type}, {"first_in_module", d.first_in_module},
                             {"closest_reference", d.closest_reference}, {"max_abs_error", num(d.max_abs_error)},
                             {"masked_mismatches", d.masked_mismatches},
                             {"rel_error", num(d.rel_error)}, {"r_ratio", num(d.r_ratio)}});
    }
  }
  out["divergences"] = divergences;
  json unmatched_json = json::array();
  for (const auto& u : unmatched)
    unmatched_json.push_back({{"module", u.module}, {"node", u.node}, {"op", u.op}, {"type", u.type}, {"term", u.term},
                              {"matches_reference", u.reference}, {"reference_module", u.reference_module},
                              {"match", u.numeric_match}});
  out["unmatched"] = unmatched_json;
  if (numerics) {
    json outputs = json::array();
    for (const auto& o : numerics->outputs)
      outputs.push_back({{"port", o.port}, {"reference", o.reference}, {"agree", o.agree}});
    out["numerics"] = {{"outputs_agree", numerics->outputs_agree}, {"outputs", outputs}};
  }
  json relations_json = json::array();
  for (const auto& r : relations)
    relations_json.push_back({{"port", r.port}, {"kind", relation_kind_name(r.kind)}, {"relation", describe(r)}});
  out["relations"] = relations_json;
  out["declared_relations"] = declared;
  json rejected = json::array();
  for (const auto& r : rejected_rules)
    rejected.push_back({{"rule", r.name}, {"verdict", verify::verdict_name(r.report.verdict)}, {"detail", r.report.detail}});
  out["rules_rejected"] = rejected;
  out["stats"] = {{"seconds", stats.seconds},
                  {"rules_seconds", stats.rules_seconds},
                  {"lowering_seconds", stats.lowering_seconds},
                  {"saturation_seconds", stats.saturation_seconds},
                  {"numerics_seconds", stats.numerics_seconds},
                  {"enodes", stats.enodes},
                  {"eclasses", stats.eclasses},
                  {"iterations", stats.iterations},
                  {"constant_value_unions", stats.value_unions},
                  {"rules_admitted", stats.rules_admitted},
                  {"reference_nodes", stats.reference_nodes},
                  {"port_nodes", stats.port_nodes},
                  {"peak_rss_mib", stats.peak_rss_mib},
                  {"stop_reason", stats.stop_reason},
                  {"minimization_seconds", stats.minimization_seconds},
                  {"minimization_drops", stats.minimization_drops}};
  return out.dump(2);
}

}  // namespace twin::check
