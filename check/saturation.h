// The heart of a check: both graphs lowered into one e-graph, saturated with the admitted rules
// until every port output has met the reference output at its position (or a limit stops it).
//
// Sources are shared, so that the two graphs meet where they compute the same thing: the
// graph inputs are one typed symbol per position (`input.0: i64[1, 8]`), the reference's
// parameters are symbols, and each port parameter is the term of its relation to the
// reference's (check/parameter_relations.h), or an unknown of its own when unrelated. Buffers
// and graph constants keep their values, which the TensorValueAnalysis (check/tensor_values.h)
// folds and unions by value.
//
// A proof is a chain of rule applications; proof_rules() names the rules on it. Minimization
// (minimize_proof) leaves each rule of a proof out in turn and saturates again, so the reported
// proof lists only rules it needs.
#pragma once

#include "capture/graph.h"
#include "check/graph_lowering.h"
#include "check/index_domain_analysis.h"
#include "check/tensor_values.h"
#include "compiler/term.h"
#include "egraph/egraph.h"
#include "egraph/rewrite.h"
#include "egraph/runner.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace twin::check {

struct DivergenceReport;

// What every saturation of one check shares.
struct SaturationInput {
  const Graph* reference = nullptr;
  const Graph* port = nullptr;
  // Port parameter or buffer name -> its relation's term over reference names.
  std::map<std::string, TermPtr> relation_terms;
  // The index domain, by reference input position (capture::paired_input_index_bounds): each
  // input's leaf class carries its bound (check/index_domain_analysis.h). Computed once per check.
  std::vector<std::optional<std::int64_t>> input_index_bounds;
  std::shared_ptr<egraph::OpTable> ops;
  egraph::RunLimits limits;
  // Stop once no rule has changed the e-graph for this many iterations in a row (0: never),
  // although the backoff scheduler has rules banned that might change it later: a check that
  // cannot succeed stops early ("idle") instead of running to the limits.
  std::size_t idle_iterations = 0;
  // When set, the equations its value matches suggest are added to the e-graph as terms
  // before saturating (check/match_definitions.h).
  const DivergenceReport* definitions = nullptr;
  // Called with (stage, detail) while lowering and saturating, when progress is shown.
  std::function<void(const std::string&, const std::string&)> progress;
};

class Saturation {
 public:
  explicit Saturation(std::shared_ptr<egraph::OpTable> ops) : graph(std::move(ops), true) {}

  egraph::EGraph graph;
  TensorValueAnalysis* values = nullptr;
  IndexDomainAnalysis* index_domain = nullptr;  // the inputs' index bounds
  std::map<std::string, LoweredValue> ref_sources, port_sources;
  LoweredGraph ref_lowered, port_lowered;
  std::vector<bool> outputs_proved;
  std::size_t iterations = 0;
  std::string stop_reason = "saturated";
  // What each rule did over every run on this e-graph (summed by rule name, in the order the
  // rules were given), and each guarded rule's guard as written: --explain-gaps reads them.
  std::vector<egraph::RuleReport> rule_reports;
  std::map<std::string, std::string> guards;
  std::map<std::string, std::size_t> pattern_sizes;  // per rule: its left side's node_count()
  double lowering_seconds = 0, saturation_seconds = 0;

  // Whether every port output is in the class of the reference output at its position (and
  // records which are in outputs_proved).
  bool all_equal();
  // The rules on the proof's path (those in `rule_names`), in first-use order; host unions
  // such as constant folding and equal constant values are not rules.
  std::vector<std::string> proof_rules(const std::set<std::string>& rule_names);
};

// Lowers both graphs into a fresh e-graph and saturates it with `rules` (compiled once by the
// caller; their names are the rules' qualified names) for at most `max_iterations`. Throws
// twin::Error for graphs whose inputs or outputs do not correspond, or a node that cannot be
// lowered.
std::unique_ptr<Saturation> saturate(const SaturationInput& input, const std::vector<egraph::CompiledRewrite>& rules,
                                     std::size_t max_iterations, bool show_progress);

// Runs `rules` on a saturation's e-graph again (rules were added to them), until every output
// has met the reference's or the limits stop it.
void saturate_more(Saturation& saturation, const SaturationInput& input, const std::vector<egraph::CompiledRewrite>& rules);

struct Minimization {
  std::unique_ptr<Saturation> proof;  // the last proof found
  double seconds = 0;
  std::size_t drops = 0;  // rules found unnecessary
};

// Leaves each rule of `proof` out in turn (with those already found unnecessary) and saturates
// again; when the outputs still meet, the rule goes and the new proof's rules are examined.
// Each rule the returned proof lists was needed given the others (within `seconds`; past it,
// the remaining rules are kept as they are).
Minimization minimize_proof(const SaturationInput& input, std::unique_ptr<Saturation> proof,
                            const std::vector<egraph::CompiledRewrite>& rules, const std::set<std::string>& rule_names,
                            double seconds);

}  // namespace twin::check
