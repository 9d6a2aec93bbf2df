#include "check/synthesis_stage.h"

#include "check/graph_lowering.h"
#include "check/fingerprints.h"
#include "check/match_definitions.h"
#include "check/rule_admission.h"
#include "compiler/guard_queries.h"
#include "compiler/term_printer.h"
#include "synth/rule_synthesis.h"
#include "util/error.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace twin::check {

namespace eg = twin::egraph;
using ops::AttrValue;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

SynthesisSummary synthesize(std::unique_ptr<Saturation>& s, const SaturationInput& input, const DivergenceReport& numerics,
                            const std::vector<eg::CompiledRewrite>& programs, SynthesizedRewrites& added,
                            compiler::RuleCompiler& compiler, verify::CachedVerifier& verifier,
                            const SynthesisOptions& options) {
  SynthesisSummary summary;
  auto start = Clock::now();
  summary.stopped = "no candidate left";
  SaturationInput round = input;
  round.limits.iterations = options.round_iterations;
  round.progress = nullptr;
  auto all_programs = [&] {
    std::vector<eg::CompiledRewrite> all = programs;
    all.insert(all.end(), added.programs.begin(), added.programs.end());
    return all;
  };
  // A fresh e-graph with every rule so far, a few iterations deep.
  auto restart = [&] { s = saturate(round, all_programs(), options.round_iterations, false); };
  restart();

  // The classes a rule may stop at: shared with the reference, or constants.
  std::set<eg::EClassId> shared;
  std::set<eg::EClassId> source_classes;  // the graphs' sources (inputs, parameters, buffers)
  auto refresh_shared = [&] {
    shared.clear();
    source_classes.clear();
    for (const auto* sources : {&s->ref_sources, &s->port_sources})
      for (const auto& [name, v] : *sources) source_classes.insert(s->graph.find(v.id));
    for (const auto& n : s->ref_lowered.nodes) shared.insert(s->graph.find(n.value.id));
    shared.insert(source_classes.begin(), source_classes.end());
  };
  auto frontier = [&](eg::EClassId c) {
    c = s->graph.find(c);
    return shared.count(c) > 0 || s->values->value(s->graph, c) != nullptr;
  };
  refresh_shared();

  // Synthesizes a rule for one candidate pairing; false when the loop must stop (a limit).
  auto within_limits = [&] {
    if (since(start) > options.total_seconds) {
      summary.stopped = "time limit";
      return false;
    }
    if (summary.rules.size() >= options.max_rules) {
      summary.stopped = "rule limit";
      return false;
    }
    return true;
  };
  // `finding`: a refuted rule is a difference in function (value matches: the port value was
  // meant to be that reference value); fingerprints pair with terms nobody meant, so a
  // refutation there says nothing.
  auto try_candidate = [&](eg::EClassId port_cls, eg::EClassId reference_cls, const std::string& value,
                           const std::string& module, bool finding) {
    eg::EGraph& graph = s->graph;
    if (graph.find(port_cls) == graph.find(reference_cls)) return;
    ++summary.candidates;
    if (input.progress) input.progress("synthesis", "a rule for " + value + " in " + module);
    synth::Candidate candidate{port_cls, reference_cls, value, module};
    synth::Synthesizer synthesizer(graph, compiler, verifier);
    // A fixed value that is not a graph source (a table computed from buffers).
    auto constant = [&](eg::EClassId c) {
      c = s->graph.find(c);
      return s->values->value(s->graph, c) != nullptr && !source_classes.count(c);
    };
    synth::SynthesisResult r =
        synthesizer.synthesize(candidate, frontier, summary.rules.size() + summary.findings.size() + 1, constant);
    if (std::getenv("TWIN_SYNTH_DEBUG"))
      std::fprintf(stderr, "[synth] %s (%s): %s %s%s\n", candidate.node.c_str(), module.c_str(), synth::outcome_name(r.outcome),
                   r.source ? (r.source->name + ": " + print_term(*r.source->lhs) + " => " + print_term(*r.source->rhs) + " if " +
                               r.source->guard_text).c_str()
                            : "",
                   r.why.c_str());
    if (r.outcome == synth::Outcome::Refuted) {
      bool over_data = true;  // every variable a value computed from data, not a constant
      for (eg::EClassId v : r.variables) over_data = over_data && s->values->value(graph, graph.find(v)) == nullptr;
      if (over_data && finding)
        summary.findings.push_back(SynthesisFinding{candidate.node, module, print_term(*r.source->lhs),
                                                    print_term(*r.source->rhs), r.report.counterexample});
      return;
    }
    if (r.outcome != synth::Outcome::Validated) return;
    std::string name = "synthesized." + r.source->name;
    for (const eg::Rewrite& rw : r.compiled->meaning) {
      added.rewrites.push_back(rw);
      added.rewrites.back().name = name;
      added.programs.push_back(eg::compile_rule(added.rewrites.back(), graph.ops(), compiler::guard_queries()));
    }
    summary.rules.push_back(SynthesizedRule{name, r.source, r.report, candidate.node, module,
                                            changes_precision(r.report, r.compiled->meaning, graph.ops())});
    if (graph.num_nodes() > options.restart_nodes) {
      restart();
    } else {
      saturate_more(*s, round, all_programs());
    }
    refresh_shared();
  };

  // The lowered values by name, read once per e-graph (a restart makes a new one).
  LoweredValues values;
  const Saturation* values_of = nullptr;
  for (const auto& m : numerics.value_matches) {
    if (s->all_equal() || !within_limits()) break;
    // The definition is already in a graph saturated with `input.definitions`; adding it again
    // finds the same classes (hash-consing), and makes it after a restart without them.
    if (values_of != s.get()) values = lowered_values(*s), values_of = s.get();
    std::optional<MatchDefinition> definition = add_match_definition(*s, values, m);
    if (!definition) continue;
    s->graph.rebuild();
    if (definition->constant) continue;  // the analysis unions it if the values are the same
    const GraphNode* node = input.port->find_node(m.node);
    try_candidate(definition->port, definition->reference, definition->value, node ? node->module : std::string(), true);
  }

  // Values no reference node computed: pair them by fingerprint with e-graph terms (Ruler's
  // characteristic vectors, on the example inputs).
  if (!s->all_equal() && within_limits() && options.fingerprints && input.reference && input.port) {
    std::vector<FingerprintCandidate> candidates;
    try {
      candidates = fingerprint_candidates(*s, *input.reference, *input.port, numerics);
    } catch (const std::exception&) {
      candidates.clear();  // a graph that does not run here: value matching had the numbers
    }
    summary.fingerprint_candidates = candidates.size();
    for (const auto& c : candidates) {
      if (s->all_equal() || !within_limits()) break;
      try_candidate(c.port, c.term, c.node, c.module, false);
    }
  }
  if (s->all_equal()) summary.stopped = "proved";
  summary.seconds = since(start);
  return summary;
}

}  // namespace twin::check
