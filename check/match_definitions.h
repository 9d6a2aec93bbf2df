// The equations value matches suggest, written into the e-graph as terms.
//
// A port value that matched a reference value under a view (check/value_matching.h: whole,
// reshaped, permuted, a part, a concatenation, a negation) suggests the equation
//   port value = the reference term the view spells
// (`reshape(permute(r, ...), ...)`, `slice(r, ...)`, `cat([r1, r2], ...)`, `-r`). The term is
// added to the e-graph as a *definition*: a new e-node over reference classes, never a union,
// so it asserts nothing. It gives rules a place to meet: a rule whose left side is the
// reference's form of a piece (`slice(q * cos, ..., 0, 8)`) finds that form in the graph only
// if something spelled it, and the port never does. Synthesis (check/synthesis_stage.h) reads
// the same definitions as its candidates, and a check with rules written by synthesis
// (`--emit-rules`) adds them again, so those rules fire where they were made.
//
// A port *constant* (a RoPE table, a mask: no graph input reaches it) that matched a reference
// value under a view gets its definition too, but it is no candidate: the tensor-value
// analysis (check/tensor_values.h) evaluates the reference term, and unions it with the port's
// constant only when the two are the same bits (or one stored value within an ulp). A vLLM
// `[tokens, 1, d/2]` cos table then meets HF's `[1, 1, seq, d]` one through
// `reshape(slice(...))` of it, with nothing asserted.
#pragma once

#include "check/divergence.h"
#include "check/saturation.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin::check {

struct MatchDefinition {
  std::string value;  // the port value: "node" or "node[1]"
  egraph::EClassId port = 0, reference = 0;
  bool constant = false;  // the port value is a constant: a term for the analysis, no candidate
};

// The lowered values of a saturation's graphs by name (the reference's values and sources, the
// port's node outputs): read once, then passed to every definition added to that saturation.
struct LoweredValues {
  std::map<std::string, LoweredValue> reference, port;
};
LoweredValues lowered_values(const Saturation& s);

// The definition for one match (not "none"), added to the e-graph; nullopt
// when the match names no lowered value or its view does not type here. `values` must be
// lowered_values(s).
std::optional<MatchDefinition> add_match_definition(Saturation& s, const LoweredValues& values, const ValueMatch& match);

// Every match's definition (in the report's order, the port's execution order).
std::vector<MatchDefinition> add_match_definitions(Saturation& s, const DivergenceReport& numerics);

// "node", or "node[i]" for output i > 0.
std::string value_name(const std::string& node, int output);

}  // namespace twin::check
