// `twin check`: is a port the same function as its reference? (docs/checking.md)
//
//   auto rules = twin::load_rule_files({...});    // the front end (interp/rule_files.h)
//   CheckResult r = check_equivalence(Graph::load("reference.graph"), Graph::load("port.graph"), rules, options);
//   r.verdict  // Equivalent, EquivalentReal, NotEquivalent, Unproven
//
// The checker is a library: it works on captured graphs, a frozen table of declarations and
// the rules the compiler makes of them, with no interpreter. Its stages, one room each:
//   1. rules        (rule_admission.h) only rules `twin verify` accepts (proved or tested);
//   2. relations    (parameter_relations.h, declared_relations.h) each port parameter as a
//                   term over the reference's: declared (`relation`), else inferred from the
//                   stored values and confirmed bit for bit; an unrelated one stays an unknown;
//   3. saturation   (saturation.h) both graphs lowered into one e-graph (graph_lowering.h)
//                   over shared inputs, constants evaluated (tensor_values.h), the rules run
//                   until every port output meets the reference output at its position;
//   4. proof        (proof.h) the explanation, minimized, summarized per module; a step that
//                   changes precision makes the verdict "equivalent in real arithmetic";
//   5. numerics     (divergence.h) otherwise both graphs run on the example inputs: outputs
//                   that disagree make "not equivalent", with the first divergent port nodes;
//   6. synthesis    (synthesis_stage.h) outputs that agree: rules made from the values,
//                   validated, and saturation again; a proof (4), or a refuted candidate
//                   ("not equivalent" at its module), or
//   7. gaps         (gaps.h) "unproven", with the smallest port pieces the rules did not connect.
// Soundness: "equivalent" is only ever the result of stage 4, a chain of verified rule
// applications and equalities of evaluated constants. "not equivalent" needs a concrete
// numeric disagreement.
#pragma once

#include "capture/graph.h"
#include "check/check_result.h"
#include "compiler/declarations.h"
#include "egraph/runner.h"
#include "verify/cached_verification.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace twin::check {

struct CheckProgress {
  std::string stage;       // "rules", "relations", "lowering", "saturating", "numerics", "proof"
  std::string detail;      // e.g. the rule being verified, "iteration 3, 12034 e-nodes"
  double seconds = 0;      // since the check started
};

struct CheckOptions {
  // How rules are verified before use (the verdict caches; the build's stdlib verdicts).
  verify::VerificationOptions verification = default_admission();
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
  // Stop saturating once no rule has changed the e-graph for this many iterations (0: run to
  // the limits); a check that cannot succeed then stops early (stats.stop_reason "idle ...").
  std::size_t idle_iterations = 3;
  bool numerics = true;     // run the graphs when the proof fails
  SynthesisOptions synthesis;  // rules made on demand when the proof fails and the numbers agree
  bool full_proof = false;  // fill CheckResult::proof_text
  std::function<void(const CheckProgress&)> progress;
  // A wall-clock deadline (a host's limit): rule verification, saturation and minimization are
  // cut to what is left of it, and the numerics are skipped once it has passed. The result
  // stays sound (rules not verified in time are not admitted; a proof cut short is
  // "unproven"), but a caller that sets a deadline checks whether it passed before believing
  // an "unproven".
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// `declarations` holds the rules and `relation` declarations to use (may be null: none).
// Throws twin::Error for bad input: graphs whose inputs or outputs do not correspond (count or
// type), a node that cannot be lowered, a declared relation that does not hold.
CheckResult check_equivalence(const Graph& reference, const Graph& port,
                              std::shared_ptr<const compiler::Declarations> declarations, const CheckOptions& options = {});

}  // namespace twin::check
