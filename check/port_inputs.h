// Port inputs the reference has no counterpart for. A vLLM model takes `positions` beside the
// token ids, gpt-fast's `input_pos`; the HuggingFace reference computes its position ids inside
// (`arange(seq)`). The graphs' inputs pair by position; a port input beyond the reference's
// count is fixed at its stored example value, but only when the reference computes that very
// value from no input at all (a constant such as arange): the check then proves the port, so
// called, equal to the reference, and says so. Any other extra input is an error: fixing it
// would prove something about one input value only.
//
// Inputs and outputs whose shapes differ from the reference's only by unit dims (vLLM's
// `[num_tokens]` token ids and `[num_tokens, vocab]` logits against `[1, seq]` and
// `[1, seq, vocab]`: the same elements in the same order) are read through a reshape: the
// port then takes the reference's input and its output is compared in the reference's shape,
// and the verdict says so. Any other difference of type stays an error.
//
// Outputs pair by position too. A port that returns more than the reference (its KV cache
// beside the logits) is compared on the reference's outputs only, and the verdict says which
// port outputs it left out.
#pragma once

#include "capture/graph.h"

#include <optional>
#include <string>
#include <vector>

namespace twin::check {

struct FixedInput {
  std::string name;              // the port's input
  std::string value;             // its example value, printed ("[0, 1, ..., 7]")
  std::string reference_node;    // the reference value it equals
  std::string reference_module;  // where the reference computes it ("" for the model)
  // "the port's input positions is fixed at its example value [0, 1, ..., 7], which the
  // reference computes from no input as arange_0 in <model>"
  std::string describe() const;
};

struct FixedPortInputs {
  // The port with its extra inputs as constants and its extra outputs left out; nullopt when
  // it has neither.
  std::optional<Graph> port;
  std::vector<FixedInput> fixed;
  std::vector<std::string> unpaired_outputs;  // the port outputs left out, as "name" or "name[k]"
  // "the port's input tokens i64[8] is read from the reference's i64[1, 8] (the same elements
  // without unit dims)", and the same for outputs compared in the reference's shape.
  std::vector<std::string> reshaped;
};

// Throws Error (Value) naming the port's file for an extra input with no stored value, or one
// whose value the reference does not compute from constants alone (the reference must then
// be able to run on its example inputs).
FixedPortInputs fix_extra_port_inputs(const Graph& reference, const Graph& port);
// The port to run against the reference: `port` read in the reference's shapes where they differ
// by unit dims, with its extra inputs fixed, or as it is.
Graph port_for(const Graph& reference, Graph port);

}  // namespace twin::check
