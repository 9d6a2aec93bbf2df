#include "check/saturation.h"

#include "check/match_definitions.h"
#include "compiler/guard_queries.h"
#include "ops/shape_analysis.h"
#include "util/error.h"

#include <algorithm>
#include <chrono>

namespace twin::check {

namespace eg = twin::egraph;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The sources both graphs read: shared inputs, the reference's parameters, the port's
// parameters as their relations' terms.
void lower_sources(const SaturationInput& in, GraphLowering& lowering, Saturation& s) {
  const Graph& reference = *in.reference;
  const Graph& port = *in.port;
  for (std::size_t i = 0; i < reference.inputs().size(); ++i) {
    LoweredValue v = lowering.leaf("input." + std::to_string(i), reference.inputs()[i].type);
    s.ref_sources[reference.inputs()[i].name] = v;
    s.port_sources[port.inputs()[i].name] = v;
    // Below the bound wherever both graphs are defined: the domain the verdict is about.
    if (i < in.input_index_bounds.size() && in.input_index_bounds[i])
      s.index_domain->bound_class(s.graph, v.id, *in.input_index_bounds[i]);
  }
  std::map<std::string, LoweredValue> relation_sources;
  for (const auto& t : reference.parameters()) relation_sources[t.name] = s.ref_sources[t.name] = lowering.leaf(t.name, t.type);
  for (const auto& t : reference.buffers())
    relation_sources[t.name] = s.ref_sources[t.name] = lowering.leaf(t.name + "@reference", t.type, t.value);
  for (const auto& t : reference.constants()) s.ref_sources[t.name] = lowering.constant(t.name + "@reference", t.type, t.value);
  for (const auto* group : {&port.parameters(), &port.buffers()}) {
    for (const auto& t : *group) {
      auto it = in.relation_terms.find(t.name);
      if (it != in.relation_terms.end()) {
        LoweredValue v = lowering.add_term(*it->second, relation_sources);
        if (!v.type || !(v.type->shape == t.type.shape) || v.type->dtype != t.type.dtype)
          throw Error(ErrorKind::Value, port.file() + ": the relation for " + t.name + " gives " +
                                            (v.type ? v.type->to_string() : std::string("no type")) +
                                            ", the parameter is " + t.type.to_string());
        s.port_sources[t.name] = v;
      } else {
        // Unrelated: an unknown of its own. A buffer keeps its value, so it can still meet a
        // reference constant with the same bits; so does a floating parameter of zeros (a
        // bias the port's checkpoint leaves at zero), for the guard query all_zero.
        bool is_buffer = group == &port.buffers();
        bool zeros = t.value && ops::is_floating(t.type.dtype) && t.value->numel() > 0;
        if (zeros) {
          const std::vector<double> values = t.value->to_doubles();
          zeros = std::all_of(values.begin(), values.end(), [](double v) { return v == 0; });
        }
        s.port_sources[t.name] = lowering.leaf(t.name + "@port", t.type, is_buffer || zeros ? t.value : std::nullopt);
      }
    }
  }
  for (const auto& t : port.constants()) s.port_sources[t.name] = lowering.constant(t.name + "@port", t.type, t.value);
}

}  // namespace

bool Saturation::all_equal() {
  bool all = true;
  outputs_proved.assign(ref_lowered.outputs.size(), false);
  for (std::size_t i = 0; i < ref_lowered.outputs.size(); ++i) {
    outputs_proved[i] = graph.find(ref_lowered.outputs[i].id) == graph.find(port_lowered.outputs[i].id);
    all = all && outputs_proved[i];
  }
  return all;
}

std::vector<std::string> Saturation::proof_rules(const std::set<std::string>& rule_names) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < ref_lowered.outputs.size(); ++i)
    for (const auto& e : graph.proof_edges(port_lowered.outputs[i].id, ref_lowered.outputs[i].id))
      if (rule_names.count(e.rule) && std::find(names.begin(), names.end(), e.rule) == names.end()) names.push_back(e.rule);
  return names;
}

namespace {

// Watches a run's e-graph after each iteration: `stalled` once it has not changed (same e-nodes,
// same classes) for `limit` iterations in a row. The runner stops as saturated only when no
// rule is banned; a banned rule keeps a run going, often only to bloat the e-graph later.
struct IdleWatch {
  explicit IdleWatch(std::size_t limit) : limit(limit) {}
  bool stalled(const eg::EGraph& g) {
    if (limit == 0) return false;
    if (g.live_node_count() == nodes && g.class_count() == classes) ++idle;
    else idle = 0, nodes = g.live_node_count(), classes = g.class_count();
    stopped = idle >= limit;
    return stopped;
  }
  std::string reason() const { return "idle (no rule changed the e-graph for " + std::to_string(limit) + " iterations)"; }
  std::size_t limit, idle = 0, nodes = 0, classes = 0;
  bool stopped = false;
};

// Adds a run's per-rule counts to the saturation's.
void record_rule_reports(Saturation& s, const std::vector<eg::CompiledRewrite>& rules, const eg::Report& report) {
  for (std::size_t r = 0; r < report.rules.size() && r < rules.size(); ++r) {
    const eg::RuleReport& run = report.rules[r];
    auto it = std::find_if(s.rule_reports.begin(), s.rule_reports.end(),
                           [&](const eg::RuleReport& seen) { return seen.name == run.name; });
    if (it == s.rule_reports.end()) {
      s.rule_reports.push_back(run);
    } else {
      it->matches += run.matches;
      it->applications += run.applications;
      it->guard_failures += run.guard_failures;
      for (eg::EClassId c : run.refused_at)
        if (it->refused_at.size() < 4 * eg::RuleReport::kRefusedRootsKept) it->refused_at.push_back(c);
    }
    if (rules[r].rule && rules[r].rule->guard) s.guards[run.name] = rules[r].rule->guard->to_string();
    if (rules[r].rule) s.pattern_sizes[run.name] = rules[r].rule->lhs.node_count();
  }
}

}  // namespace

std::unique_ptr<Saturation> saturate(const SaturationInput& in, const std::vector<eg::CompiledRewrite>& rules,
                                     std::size_t max_iterations, bool show_progress) {
  auto report = [&](const std::string& stage, const std::string& detail) {
    if (show_progress && in.progress) in.progress(stage, detail);
  };
  auto s = std::make_unique<Saturation>(in.ops);
  auto lowering_begin = Clock::now();
  eg::EGraph& graph = s->graph;
  ops::add_shape_analysis(graph);
  s->values = &add_tensor_value_analysis(graph);
  s->index_domain = &add_index_domain_analysis(graph);
  graph.enable_explanations();
  GraphLowering lowering(graph, *s->values);
  lower_sources(in, lowering, *s);
  report("lowering", "reference");
  s->ref_lowered = lowering.lower(*in.reference, s->ref_sources);
  report("lowering", "port");
  s->port_lowered = lowering.lower(*in.port, s->port_sources);
  for (std::size_t i = 0; i < s->ref_lowered.outputs.size(); ++i) {
    const auto& x = s->ref_lowered.outputs[i].type;
    const auto& y = s->port_lowered.outputs[i].type;
    if (x && y && !(x->shape == y->shape))
      throw Error(ErrorKind::Value, in.port->file() + ": output " + std::to_string(i) + " is " + y->to_string() +
                                        ", the reference's is " + x->to_string());
  }
  if (in.definitions) add_match_definitions(*s, *in.definitions);
  s->lowering_seconds = since(lowering_begin);

  auto saturation_begin = Clock::now();
  graph.rebuild();
  if (!s->all_equal()) {
    // One run, stopped as soon as every output pair has met (a proof found at iteration 4
    // does not pay for 36 more); one backoff scheduler throughout, so a rule banned for
    // matching too much comes back with a higher limit, as in egg.
    auto progress = [&](const eg::Progress& p) {
      report("saturating", "iteration " + std::to_string(p.iteration + 1) + ", " + std::to_string(p.nodes) + " e-nodes, " +
                               std::string(p.rule));
    };
    eg::RunLimits limits = in.limits;
    limits.iterations = max_iterations;
    IdleWatch idle(in.idle_iterations);
    Saturation* self = s.get();
    limits.stop_when = [self, &idle](const eg::EGraph& g) { return self->all_equal() || idle.stalled(g); };
    auto scheduler = eg::make_scheduler(eg::SchedulerKind::Backoff);
    eg::Report run_report = eg::run(graph, rules, limits, *scheduler, progress, compiler::guard_queries());
    graph.rebuild();
    s->iterations = run_report.iterations;
    s->stop_reason = idle.stopped ? idle.reason() : std::string(eg::to_string(run_report.stop_reason));
    record_rule_reports(*s, rules, run_report);
  }
  s->saturation_seconds = since(saturation_begin);
  return s;
}

void saturate_more(Saturation& s, const SaturationInput& in, const std::vector<eg::CompiledRewrite>& rules) {
  auto begin = Clock::now();
  eg::RunLimits limits = in.limits;
  IdleWatch idle(in.idle_iterations);
  Saturation* self = &s;
  limits.stop_when = [self, &idle](const eg::EGraph& g) { return self->all_equal() || idle.stalled(g); };
  auto scheduler = eg::make_scheduler(eg::SchedulerKind::Backoff);
  eg::Report report = eg::run(s.graph, rules, limits, *scheduler, nullptr, compiler::guard_queries());
  s.graph.rebuild();
  s.iterations += report.iterations;
  s.stop_reason = idle.stopped ? idle.reason() : std::string(eg::to_string(report.stop_reason));
  record_rule_reports(s, rules, report);
  s.saturation_seconds += since(begin);
}

Minimization minimize_proof(const SaturationInput& in, std::unique_ptr<Saturation> proof,
                            const std::vector<eg::CompiledRewrite>& rules, const std::set<std::string>& rule_names,
                            double seconds) {
  Minimization out;
  auto start = Clock::now();
  std::vector<std::string> needed = proof->proof_rules(rule_names);
  std::set<std::string> dropped, tried;
  // A trial that has not met within a few iterations more than the proof took is a failure.
  std::size_t trial_iterations = proof->iterations + 4;
  for (std::size_t i = 0; i < needed.size() && since(start) < seconds; ++i) {
    if (!tried.insert(needed[i]).second) continue;
    if (in.progress) in.progress("proof", "minimizing: without " + needed[i]);
    std::vector<eg::CompiledRewrite> fewer;
    for (const auto& r : rules)
      if (r.rule->name != needed[i] && !dropped.count(r.rule->name)) fewer.push_back(r);
    std::unique_ptr<Saturation> trial = saturate(in, fewer, trial_iterations, false);
    if (trial->all_equal()) {
      dropped.insert(needed[i]);
      needed = trial->proof_rules(rule_names);
      proof = std::move(trial);
      i = static_cast<std::size_t>(-1);  // the new proof's rules, from the start (tried ones are skipped)
      ++out.drops;
    }
  }
  out.seconds = since(start);
  out.proof = std::move(proof);
  return out;
}

}  // namespace twin::check
