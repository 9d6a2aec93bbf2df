// Rule synthesis: two e-classes that the values say are equal, and that no rule has made one,
// become a rule, written in Twin's own language and validated before it is used (the Emerge
// seed: on-demand rules from execution values).
//
// For a candidate (the class of a port value, the class of the reference term its value
// reads as):
//   1. the left side is the smallest term of the port's class over the *frontier*, the classes
//      already shared with the reference (check/synthesis_stage.h decides which);
//   2. the right side is the smallest term of the reference's class over the left side's
//      leaves (or the other way round, reference form on the left, when only that closes);
//   3. frontier classes become pattern variables, pinned by the guard to the types they have
//      here (`shape(?x1) == "[1, 8, 64]" and dtype(?x1) == f32`), so the rule holds exactly
//      where it was found and fires wherever that shape recurs (every layer of a model);
//      attributes and numbers stay as written;
//   4. the rule is compiled by the rule compiler and validated by the verifier with the
//      strongest method that applies (Z3 where the instance is small enough and every op is
//      encodable, else constraint-aware random testing at the pinned shapes); its verdict is
//      cached like any other rule's.
// A validated rule may enter the e-graph. A refuted one is a finding: the two values agreed
// on the example inputs, but the two terms compute different functions.
#pragma once

#include "compiler/declarations.h"
#include "compiler/rule_compiler.h"
#include "egraph/egraph.h"
#include "verify/cached_verification.h"

#include <functional>
#include <memory>
#include <set>
#include <string>

namespace twin::synth {

struct Candidate {
  egraph::EClassId port = 0;       // the port value's class
  egraph::EClassId reference = 0;  // the class of the reference term its value reads as
  std::string node;                // the port node, for naming and reports
  std::string module;              // its module path
};

struct SynthesisLimits {
  std::size_t max_depth = 10;      // applications explored below each side's root
  std::size_t max_rule_size = 64;  // e-nodes per side
};

enum class Outcome {
  Validated,  // proved or tested: it may be used
  Refuted,    // a difference in function
  Unknown,    // the verifier could not decide: not used
  NoRule,     // no small rule connects the two classes (no common frontier)
};
const char* outcome_name(Outcome outcome);

struct SynthesisResult {
  Outcome outcome = Outcome::NoRule;
  std::shared_ptr<const compiler::RuleSource> source;   // the rule, as text would declare it
  std::shared_ptr<const compiler::CompiledRule> compiled;
  std::vector<egraph::EClassId> variables;  // the classes the pattern variables stand for, in order
  verify::RuleReport report;
  bool cached = false;
  std::string why;  // NoRule: what is missing
};

class Synthesizer {
 public:
  // `compiler` interns in the e-graph's op table; `verifier` holds the verdict caches.
  Synthesizer(egraph::EGraph& graph, compiler::RuleCompiler& compiler, verify::CachedVerifier& verifier,
              SynthesisLimits limits = {});

  // A rule for the candidate, validated; `frontier` says which classes may be variables.
  // `number` numbers the rule's name (`s3_...`), unique within a check.
  // `constant` says which classes hold a fixed value (not a graph source): a refuted rule
  // over one of them is tried again with that class spelled by its structure.
  SynthesisResult synthesize(const Candidate& candidate, const std::function<bool(egraph::EClassId)>& frontier,
                             std::size_t number, const std::function<bool(egraph::EClassId)>& constant = {});

 private:
  SynthesisResult attempt_rule(const Candidate& candidate, const std::function<bool(egraph::EClassId)>& frontier,
                               const std::function<bool(egraph::EClassId)>& constant, bool atomic_leaves,
                               std::size_t number);

  egraph::EGraph& graph_;
  compiler::RuleCompiler& compiler_;
  verify::CachedVerifier& verifier_;
  SynthesisLimits limits_;
};

}  // namespace twin::synth
