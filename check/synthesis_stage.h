// The synthesis stage of a check (the Emerge seed): when the admitted rules do not connect the
// outputs but the numbers agree, rules are made on demand from the values, validated, and the
// e-graph saturated again with them, until the outputs meet or no candidate is left.
//
// Candidates come from the value matching (check/divergence.h): each port value that matched
// a reference value (whole under a view, a part, a concatenation) suggests an equation between
// its class and the reference term the view spells (`reshape(permute(r, ...), ...)`,
// `slice(r, ...)`, `cat([r1, r2], ...)`), which this stage adds to the e-graph (a definition,
// not a union). They are tried in the port's execution order, each only while its two classes
// are still apart, so a rule made for layer 0 that also closes layers 1..n is made once.
//
// The frontier a rule may stop at (synth/rule_synthesis.h) is every class shared with the
// reference: a reference value's or source's class, a port source's (its parameters are terms
// over the reference's), and a constant's.
//
// A refuted candidate is a *finding* when every variable of its rule stands for a value
// computed from the graph inputs: then the two terms compute different functions of the same
// data, whatever the example inputs showed. A refuted rule over constants says only that the
// generalization was too bold; it is dropped.
#pragma once

#include "check/divergence.h"
#include "check/saturation.h"
#include "compiler/rule_compiler.h"
#include "egraph/rewrite.h"
#include "verify/cached_verification.h"

#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace twin::check {

struct SynthesisOptions {
  bool enabled = true;
  double total_seconds = 300;   // all synthesis in one check
  double rule_seconds = 20;     // validating one rule
  std::size_t max_rules = 64;   // rules made in one check
  // Saturation between rules is kept small: a few iterations a round, and a fresh e-graph
  // (with every rule so far) once it holds more than `restart_nodes` e-nodes. Unconnected
  // graphs make the AC rules grow the e-graph without end; connected ones need few iterations.
  std::size_t round_iterations = 6;
  std::size_t restart_nodes = 60'000;
  // After the value matches: candidates for port values no reference node computed, by
  // fingerprinting e-graph terms on the example inputs (check/fingerprints.h).
  bool fingerprints = true;
};

// A rule synthesis made, validated and added.
struct SynthesizedRule {
  std::string name;  // "synthesized.s3_cat_as_linear"
  std::shared_ptr<const compiler::RuleSource> source;
  verify::RuleReport report;
  std::string node, module;  // the port value it was made for
  bool changes_precision = false;  // a proof using it holds in real arithmetic only (rule_admission.h)
};

// A candidate whose rule was refuted: a difference in function.
struct SynthesisFinding {
  std::string node, module;          // the port value
  std::string port_term, reference_term;  // the rule's two sides
  std::string counterexample;
};

struct SynthesisSummary {
  std::vector<SynthesizedRule> rules;
  std::vector<SynthesisFinding> findings;
  std::size_t candidates = 0;  // tried
  std::size_t fingerprint_candidates = 0;  // of those, found by fingerprints
  double seconds = 0;
  std::string stopped;  // "proved", "no candidate left", "time limit", "rule limit"
};

// The rules made during a check, with their compiled programs (stable: programs point into
// `rewrites`).
struct SynthesizedRewrites {
  std::deque<egraph::Rewrite> rewrites;
  std::vector<egraph::CompiledRewrite> programs;
};

// Runs the stage: both graphs lowered afresh, each validated rule added to `added` and the
// e-graph saturated again with `programs` plus those. `numerics` is the value matching of the
// example inputs. `saturation` is the last e-graph (proved when the summary says so).
SynthesisSummary synthesize(std::unique_ptr<Saturation>& saturation, const SaturationInput& input,
                            const DivergenceReport& numerics,
                            const std::vector<egraph::CompiledRewrite>& programs, SynthesizedRewrites& added,
                            compiler::RuleCompiler& compiler, verify::CachedVerifier& verifier,
                            const SynthesisOptions& options);

}  // namespace twin::check
