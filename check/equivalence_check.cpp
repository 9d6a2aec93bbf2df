#include "check/equivalence_check.h"

#include "check/declared_relations.h"
#include "check/graph_lowering.h"
#include "check/tensor_values.h"
#include "egraph/constant_folding.h"
#include "interp/error.h"
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

  // ---- 2. the e-graph, sources and relations ----------------------------------------------
  auto lowering_start = Clock::now();
  if (reference.inputs().size() != port.inputs().size())
    throw Error(ErrorKind::Value, port.file() + ": the port takes " + std::to_string(port.inputs().size()) +
                                      " inputs, the reference " + std::to_string(reference.inputs().size()));
  if (reference.outputs().size() != port.outputs().size())
    throw Error(ErrorKind::Value, port.file() + ": the port returns " + std::to_string(port.outputs().size()) +
                                      " outputs, the reference " + std::to_string(reference.outputs().size()));
  eg::EGraph graph(ops, true);
  ops::add_shape_analysis(graph);
  TensorValueAnalysis& values = add_tensor_value_analysis(graph);
  graph.enable_explanations();
  GraphLowering lowering(graph, values);

  std::map<std::string, LoweredValue> ref_sources, port_sources;
  for (std::size_t i = 0; i < reference.inputs().size(); ++i) {
    const GraphTensor& r = reference.inputs()[i];
    const GraphTensor& p = port.inputs()[i];
    if (!(r.type == p.type))
      throw Error(ErrorKind::Value, port.file() + ": input " + std::to_string(i) + " (" + p.name + ") is " +
                                        p.type.to_string() + ", the reference's (" + r.name + ") is " + r.type.to_string());
    LoweredValue v = lowering.leaf("input." + std::to_string(i), r.type);
    ref_sources[r.name] = v;
    port_sources[p.name] = v;
  }
  std::map<std::string, LoweredValue> ref_parameters;
  for (const auto& t : reference.parameters()) ref_parameters[t.name] = ref_sources[t.name] = lowering.leaf(t.name, t.type);
  for (const auto* group : {&reference.buffers(), &reference.constants()})
    for (const auto& t : *group) ref_sources[t.name] = lowering.leaf(t.name + "@reference", t.type, t.value);

  report("relations", "inferring parameter relations");
  // Declared relations (`relation` in the rule files) first, the inferred ones for the rest.
  for (const auto& r : expand_declared_relations(interpreter.declared_relations(), reference, port))
    result.declared.push_back(r.port);
  result.relations = declared_and_inferred_relations(interpreter.declared_relations(), reference, port);
  std::map<std::string, TermPtr> relation_terms;
  for (const auto& r : result.relations)
    if (r.related()) relation_terms[r.port] = r.term();
  // Reference parameters and buffers (a port buffer may be a copy of the reference's).
  std::map<std::string, LoweredValue> relation_sources = ref_parameters;
  for (const auto* group : {&reference.buffers()})
    for (const auto& t : *group) relation_sources[t.name] = ref_sources[t.name];
  for (const auto* group : {&port.parameters(), &port.buffers()}) {
    for (const auto& t : *group) {
      auto it = relation_terms.find(t.name);
      if (it != relation_terms.end()) {
        LoweredValue v = lowering.add_term(*it->second, relation_sources);
        if (!v.type || !(v.type->shape == t.type.shape) || v.type->dtype != t.type.dtype)
          throw Error(ErrorKind::Value, port.file() + ": the relation for " + t.name + " gives " +
                                            (v.type ? v.type->to_string() : std::string("no type")) + ", the parameter is " +
                                            t.type.to_string());
        port_sources[t.name] = v;
      } else {
        // Unrelated: an unknown of its own (a buffer keeps its value, so it can still meet a
        // reference constant with the same bits).
        bool is_buffer = group == &port.buffers();
        port_sources[t.name] = lowering.leaf(t.name + "@port", t.type, is_buffer ? t.value : std::nullopt);
      }
    }
  }
  for (const auto& t : port.constants()) port_sources[t.name] = lowering.leaf(t.name + "@port", t.type, t.value);

  report("lowering", "reference");
  LoweredGraph ref_lowered = lowering.lower(reference, ref_sources);
  report("lowering", "port");
  LoweredGraph port_lowered = lowering.lower(port, port_sources);
  result.stats.reference_nodes = ref_lowered.nodes.size();
  result.stats.port_nodes = port_lowered.nodes.size();
  for (std::size_t i = 0; i < ref_lowered.outputs.size(); ++i) {
    const auto& a = ref_lowered.outputs[i].type;
    const auto& b = port_lowered.outputs[i].type;
    if (a && b && !(a->shape == b->shape))
      throw Error(ErrorKind::Value, port.file() + ": output " + std::to_string(i) + " is " + b->to_string() +
                                        ", the reference's is " + a->to_string());
  }
  result.stats.lowering_seconds = since(lowering_start);

  // Modules of exact terms, for attributing proof steps: port first, then reference.
  std::map<eg::EClassId, std::string> port_module, ref_module;
  for (const auto& n : port_lowered.nodes) port_module.emplace(n.value.id, n.module);
  for (const auto& n : ref_lowered.nodes) ref_module.emplace(n.value.id, n.module);

  // ---- 3. saturation ----------------------------------------------------------------------
  auto saturation_start = Clock::now();
  auto all_equal = [&] {
    bool all = true;
    result.outputs_proved.assign(ref_lowered.outputs.size(), false);
    for (std::size_t i = 0; i < ref_lowered.outputs.size(); ++i) {
      result.outputs_proved[i] = graph.find(ref_lowered.outputs[i].id) == graph.find(port_lowered.outputs[i].id);
      all = all && result.outputs_proved[i];
    }
    return all;
  };
  graph.rebuild();
  eg::Report run_report;
  std::size_t iterations = 0;
  double elapsed = 0;
  // Saturate in rounds of a few iterations and stop as soon as every output pair has met: a
  // proof found at iteration 12 does not pay for 28 more. (Each round starts the backoff
  // scheduler afresh, which only makes it less conservative.)
  while (!all_equal() && iterations < options.limits.iterations) {
    std::size_t completed = iterations;
    auto progress = [&](const eg::Progress& p) {
      report("saturating", "iteration " + std::to_string(completed + p.iteration + 1) + ", " + std::to_string(p.nodes) +
                               " e-nodes, " + std::string(p.rule));
    };
    eg::RunLimits round = options.limits;
    round.iterations = std::min<std::size_t>(4, options.limits.iterations - iterations);
    round.time_seconds = std::max(0.0, options.limits.time_seconds - elapsed);
    run_report = eg::run(graph, rewrites, round, eg::SchedulerKind::Backoff, progress, check_queries());
    graph.rebuild();
    iterations += run_report.iterations;
    elapsed += run_report.seconds;
    if (run_report.stop_reason != eg::StopReason::IterationLimit) break;  // saturated, or out of nodes or time
    if (run_report.iterations == 0) break;
  }
  result.stats.iterations = iterations;
  result.stats.stop_reason = std::string(eg::to_string(run_report.stop_reason));
  result.stats.saturation_seconds = since(saturation_start);
  result.stats.enodes = graph.num_nodes();
  result.stats.eclasses = graph.num_classes();
  result.stats.value_unions = values.value_unions();

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
      std::snprintf(line, sizeof line, "  %s  %s (%s)  max abs %.3g, rel %.3g, R-ratio %.3g\n",
                    d->module.empty() ? "<model>" : d->module.c_str(), d->node.c_str(), d->op.c_str(), d->max_abs_error,
                    d->rel_error, d->r_ratio);
      out << line;
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
  std::snprintf(line, sizeof line, "%zu e-nodes, %zu iterations, %.2fs (rules %.2fs, saturation %.2fs), peak %.0f MiB\n",
                stats.enodes, stats.iterations, stats.seconds, stats.rules_seconds, stats.saturation_seconds,
                stats.peak_rss_mib);
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
                  {"stop_reason", stats.stop_reason}};
  return out.dump(2);
}

}  // namespace twin::check
