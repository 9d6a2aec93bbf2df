// What `twin check` answers (docs/checking.md): the verdict and its evidence, as the text a
// terminal shows (to_text) and the --json object (to_json). check/check_report.cpp renders
// them; check/equivalence_check.h produces them.
#pragma once

#include "check/divergence.h"
#include "check/parameter_relations.h"
#include "check/port_inputs.h"
#include "check/rule_admission.h"
#include "check/synthesis_stage.h"

#include <optional>
#include <string>
#include <vector>

namespace twin::check {

enum class CheckVerdict { Equivalent, EquivalentReal, NotEquivalent, Unproven };
// "equivalent", "equivalent_real", "not_equivalent", "unproven"
const char* check_verdict_name(CheckVerdict verdict);

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
  std::string source;  // where the port's code made the node ("port.py:57"), if recorded
  // Rules that never applied but whose pattern matched here (at the piece, at the reference
  // value it matches, or at a term up to two ops above either) and whose guard refused:
  // the most specific (largest pattern) first, at most three.
  std::vector<std::string> nearly_matched;
};

// Raised when the rules proved the graphs equal but their outputs, run on the example inputs,
// differ beyond what precision explains: some rule of the proof is wrong (a forged verdict, a
// bug in a rule's validation). The verdict is then "not equivalent", never "equivalent".
struct SoundnessAlarm {
  std::vector<std::string> rules;  // the rules of the proof, any of which may be the wrong one
  std::string message;
};

struct CheckStats {
  double seconds = 0, rules_seconds = 0, lowering_seconds = 0, saturation_seconds = 0, numerics_seconds = 0;
  std::size_t enodes = 0, eclasses = 0, iterations = 0, value_unions = 0;
  std::size_t rules_admitted = 0, rules_rejected = 0;
  std::size_t reference_nodes = 0, port_nodes = 0;
  double peak_rss_mib = 0;
  std::string stop_reason;
  double minimization_seconds = 0;
  double synthesis_seconds = 0;
  std::size_t synthesis_candidates = 0;
  std::size_t synthesis_fingerprint_candidates = 0;  // of those, from fingerprints (check/fingerprints.h)
  std::string synthesis_stopped;
  std::size_t minimization_drops = 0;  // rules found unnecessary (each drop re-runs the check)
};

// Why the graphs were not run (so no numerical verdict): a graph holds ops Twin cannot run,
// each named with its count and module paths, or has no stored values.
struct NotRun {
  std::string graph;                  // "reference" or "port"
  std::string file;
  std::string reason;                 // "captured without weights", "ops Twin cannot run", ...
  std::vector<OpaqueOpSummary> ops;   // the ops Twin cannot run, when that is the reason
};

// What one rule did during the saturation whose answer is reported (twin check
// --explain-gaps; g.run's per-rule report in scripts).
struct RuleActivity {
  std::string rule;
  std::size_t matches = 0, applications = 0;
  // Matches of the rule's pattern that its guard refused, and the guard as written: a rule with
  // these and no match nearly matched; its guard is why it never applied.
  std::size_t guard_failures = 0;
  std::string guard;
};

// How to render a result (twin check's options).
struct ReportOptions {
  bool exact_constants = false;  // constants as exact rationals, not readable decimals
  bool explain_gaps = false;     // per-rule counts and the rules that nearly matched
};

// A graph input both graphs read as indices (token ids): wherever both are defined, every
// element is in [0, bound) (check/index_domain_analysis.h). Listed when the proof relied on it
// (a rule whose guard reads indexes_rows_of: a padded vocabulary's rows are never looked up),
// since the verdict then holds on that domain only, where the reference is defined.
struct IndexDomainAssumption {
  std::string input;  // the reference's input
  std::int64_t bound = 0;
  // "every element of input input_ids is in [0, 100), where both graphs are defined (they read it as indices)"
  std::string describe() const;
};

struct CheckResult {
  CheckVerdict verdict = CheckVerdict::Unproven;
  std::vector<bool> outputs_proved;  // per output position
  std::vector<RuleUse> rules_used;
  std::vector<PrecisionDifference> precision_differences;
  std::optional<DivergenceReport> numerics;
  std::vector<NotRun> not_run;  // why the graphs were not run, when they were not
  // Port inputs the reference has none for, fixed at their example values (check/port_inputs.h):
  // the verdict holds for the port called with those values.
  std::vector<FixedInput> fixed_inputs;
  std::vector<IndexDomainAssumption> index_domains;
  // Port outputs beyond the reference's (a KV cache beside the logits): not compared.
  std::vector<std::string> unpaired_outputs;
  // Port inputs and outputs read in the reference's shape (they differ by unit dims only):
  // check/port_inputs.h's descriptions.
  std::vector<std::string> reshaped;
  std::vector<UnmatchedPiece> unmatched;
  std::vector<ParameterRelation> relations;
  std::vector<std::string> declared;          // port parameters and buffers related by declaration
  std::vector<AdmittedRule> rejected_rules;   // not admitted (refuted or unknown)
  std::optional<SoundnessAlarm> alarm;
  // Synthesis (check/synthesis_stage.h): the rules it made and validated, and the candidates
  // whose rules were refuted (each a difference in function).
  std::vector<SynthesizedRule> synthesized;
  std::vector<SynthesisFinding> findings;
  // Rules of the proof validated by random testing rather than proved (the proof's strength).
  std::size_t random_tested_rules = 0;
  std::string proof_text;
  std::vector<RuleActivity> rule_activity;  // every admitted rule, in the order given
  CheckStats stats;

  // Why the verdict is not "equivalent", in one sentence naming the ops, nodes, modules and
  // source lines involved: the graphs could not run (which ops), where the port diverges, which
  // port pieces the rules do not connect. "" for an equivalent pair.
  std::string reason() const;
  // The human summary `twin check` prints. Constants show as readable decimals ("1e-05")
  // unless options.exact_constants (their exact rationals, as the rules hold them).
  std::string to_text(const ReportOptions& options = {}) const;
  // The --json object (constants exact; "rule_activity" with options.explain_gaps).
  std::string to_json(const ReportOptions& options = {}) const;
};

}  // namespace twin::check
