// Validating a mapped node's recorded types against Twin's shape inference.
//
// A capture records each node's output types, and Twin trusts them in two places: the ATen
// mapping turns them into attributes (a view's target shape, a full's dtype), and the
// checker's lowering drops a reshape whose recorded output equals its input. A graph whose
// recorded types disagree with what its ops compute therefore changes the term that is proven.
// So every mapped node is checked when it is read, before any later node's mapping can read
// its outputs' types:
//   - each step of the lowering goes through the registry's `infer` (ops/op_spec.h), its
//     operands typed by the graph's recorded values, the node's earlier steps' inferred
//     outputs, and Python scalars;
//   - operands that do not fit the op (a ShapeError) are a refusal;
//   - the node's results must be as many as the recorded outputs, each with the recorded
//     dtype and shape exactly.
// An opaque node has no steps: its recorded types are only bounded (capture/tensor_limits.h).
//
// This room reads a GraphNode, never the file: another graph format's reader (torch.export's
// `.pt2`) validates its nodes with the same function.
#pragma once

#include "capture/graph.h"
#include "ops/tensor_type.h"

#include <functional>
#include <optional>
#include <string>

namespace twin::capture {

// Why `node`'s recorded outputs are not what its steps compute ("output 0 is recorded as
// f32[1, 8, 65], but embedding gives f32[1, 8, 64]"); nullopt when they agree or the node is
// opaque. `value_type` gives the recorded type of a value the node reads (nullptr: none).
std::optional<std::string> recorded_type_mismatch(
    const GraphNode& node, const std::function<const ops::TensorType*(const GraphRef&)>& value_type);

}  // namespace twin::capture
