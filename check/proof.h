// A proof, summarized for a reader: which rules it applied, how often and in which modules,
// and where it changed precision (a rule that holds in real arithmetic only). The proof itself
// is the e-graph's explanation between each port output and the reference output at its
// position (egraph/explain.h); this room walks its edges and attributes each step to the
// module of the nearest lowered term, port first.
#pragma once

#include "check/check_result.h"
#include "check/rule_admission.h"
#include "check/saturation.h"

#include <map>
#include <string>

namespace twin::check {

// A term printed to a limited depth (deeper subterms print as `...`), so a proof step inside
// a 32-layer model stays one line.
std::string shallow_term(const egraph::Explainer& explainer, const egraph::OpTable& ops, egraph::EClassId id, int depth);

// Fills result.rules_used, result.precision_differences (in the port's execution order) and,
// when `full_proof`, result.proof_text. `saturation` must have proved every output.
void summarize_proof(Saturation& saturation, const std::map<std::string, const AdmittedRule*>& rules, bool full_proof,
                     CheckResult& result);

}  // namespace twin::check
