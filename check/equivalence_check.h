// `twin check`: is a port the same function as its reference? (docs/checking.md)
//
//   CheckResult r = check_equivalence(Graph::load("reference.graph"), Graph::load("port.graph"), options);
//   r.verdict  // Equivalent, EquivalentReal, NotEquivalent, Unproven
//
// The method:
//   1. Rules: the stdlib plus the caller's files; only rules `twin verify` accepts (proved or
//      tested) are used (check/rule_admission.h).
//   2. Parameter relations: each port parameter becomes a term over the reference's
//      parameters: declared (`relation` declarations in the rule files,
//      check/declared_relations.h), else inferred from stored values and confirmed bit for
//      bit; an unrelated one stays an unknown of its own.
//   3. Both graphs are lowered into one e-graph (check/graph_lowering.h) over shared inputs
//      (matched by position), constants are evaluated (check/tensor_values.h), and the rules
//      saturate it within the limits.
//   4. Every port output in the e-class of the reference output at its position: the proof
//      is the explanation; its rule steps are summarized per module. When a step used a rule
//      that changes precision (holds in real arithmetic only), the verdict is "equivalent in
//      real arithmetic", with each such place.
//   5. Otherwise both graphs run on the example inputs (check/divergence.h): outputs that
//      disagree make "not equivalent", with the first divergent port nodes; outputs that agree
//      (or graphs without weights) make "unproven", with the smallest port pieces the rules
//      did not connect to the reference.
// Soundness: "equivalent" is only ever the result of step 4, a chain of verified rule
// applications and equalities of evaluated constants. "not equivalent" needs a concrete
// numeric disagreement.
#pragma once

#include "capture/graph.h"
#include "check/divergence.h"
#include "check/parameter_relations.h"
#include "check/rule_admission.h"
#include "egraph/runner.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace twin::check {

enum class CheckVerdict { Equivalent, EquivalentReal, NotEquivalent, Unproven };
// "equivalent", "equivalent_real", "not_equivalent", "unproven"
const char* check_verdict_name(CheckVerdict verdict);

struct CheckProgress {
  std::string stage;       // "rules", "relations", "lowering", "saturating", "numerics", "proof"
  std::string detail;      // e.g. the rule being verified, "iteration 3, 12034 e-nodes"
  double seconds = 0;      // since the check started
};

struct CheckOptions {
  std::vector<std::filesystem::path> rule_files;  // in addition to the stdlib
  bool use_stdlib = true;
  // Directories the rule files' `use` may read, besides each rule file's own directory.
  std::vector<std::filesystem::path> allow_read;
  AdmissionOptions admission;
  egraph::RunLimits limits = [] {
    egraph::RunLimits l;
    l.iterations = 40;
    l.nodes = 400'000;
    l.time_seconds = 60;
    return l;
  }();
  // After a proof, drop each rule it used in turn and re-check, so the reported proof lists
  // only rules it needs; at most this long (0: keep the first proof as it is).
  double minimize_seconds = 10;
  bool numerics = true;     // run the graphs when the proof fails
  bool full_proof = false;  // fill CheckResult::proof_text
  std::function<void(const CheckProgress&)> progress;
};

struct RuleUse {
  std::string rule;                  // "attention.repeat_kv_as_repeat_interleave"
  std::size_t steps = 0;             // proof steps that applied it
  std::vector<std::string> modules; // where (port module paths, else reference), in first-use order
  bool changes_precision = false;
};

struct PrecisionDifference {
  std::string module;     // where the precision-changing step applies
  std::string rule;
  std::string numerics;   // "changes precision"
  std::string term;       // the rewritten term, shallow
};

// A port value the rules did not connect to the reference although its operands are
// connected, and from which a path of unconnected values reaches a graph output (so it is
// where a gap starts, not a harmless intermediate such as a fused projection before its split).
struct UnmatchedPiece {
  std::string node, module, op, type;  // the port node
  std::string term;                    // its term, shallow
  // Numerically (the example inputs), the reference value it matches: "matched", "part" or
  // "concat" (empty when none, or when the graphs were not run).
  std::string numeric_match, reference, reference_module;
};

struct CheckStats {
  double seconds = 0, rules_seconds = 0, lowering_seconds = 0, saturation_seconds = 0, numerics_seconds = 0;
  std::size_t enodes = 0, eclasses = 0, iterations = 0, value_unions = 0;
  std::size_t rules_admitted = 0, rules_rejected = 0;
  std::size_t reference_nodes = 0, port_nodes = 0;
  double peak_rss_mib = 0;
  std::string stop_reason;
  double minimization_seconds = 0;
  std::size_t minimization_drops = 0;  // rules found unnecessary (each drop re-runs the check)
};

struct CheckResult {
  CheckVerdict verdict = CheckVerdict::Unproven;
  std::vector<bool> outputs_proved;  // per output position
  std::vector<RuleUse> rules_used;
  std::vector<PrecisionDifference> precision_differences;
  std::optional<DivergenceReport> numerics;
  std::vector<UnmatchedPiece> unmatched;
  std::vector<ParameterRelation> relations;
  std::vector<std::string> declared;          // port parameters and buffers related by declaration
  std::vector<AdmittedRule> rejected_rules;   // not admitted (refuted or unknown)
  std::string proof_text;
  CheckStats stats;

  std::string to_text() const;  // the human summary `twin check` prints
  std::string to_json() const;  // the --json object
};

// Throws twin::Error for bad input: rule files that do not load, graphs whose inputs or
// outputs do not correspond (count or type), a node that cannot be lowered.
CheckResult check_equivalence(const Graph& reference, const Graph& port, const CheckOptions& options = {});

}  // namespace twin::check
