// Complex tensors as real pairs, for the graph readers that meet them (capture/export_reader.cpp
// for torch.export programs; the `.graph` capture does the same in Python,
// capture/twin_capture/complex_pairs.py). Twin has no complex dtype: a complex tensor of shape
// S is held as its `view_as_real`, a real tensor of shape S + [2] (real part, imaginary part),
// and each ATen call on complex values is rewritten into real ATen calls on those pairs,
// exactly:
//
//   view_as_complex(x), view_as_real(z),   the same pairs (no node)
//   clone, contiguous, alias, detach
//   view / reshape / _unsafe_view(z, S)    reshape(pairs, S + [2])
//   slice / select / unsqueeze(z, d, ...)  the same on the pairs, a negative d counted as d - 1
//   mul(z, w)                              stack([a c - b d, a d + b c], -1), a, b, c, d the parts
//   polar(r, t)                            stack([r cos t, r sin t], -1)
//
// Any other call on a complex value is not rewritten: the reader keeps it opaque with the
// reason, so Twin never computes a complex op wrongly.
#pragma once

#include "capture/aten_call.h"
#include "capture/graph.h"
#include "ops/tensor_type.h"

#include <functional>
#include <optional>
#include <string>

namespace twin::capture {

struct PairsContext {
  // Adds one real ATen call as a node whose single output has type `out`; returns that value.
  std::function<GraphRef(AtenCall call, const ops::TensorType& out)> emit;
  // Whether a value is a complex tensor held as pairs (a real one has the same kind of type).
  std::function<bool(const GraphRef&)> is_pairs;
  std::function<ops::TensorType(const GraphRef&)> type_of;
};

// The value `call` gives, as real pairs when it is complex (`result`: the type the reader
// recorded for it, pairs already), built from real calls through `context.emit`; nullopt with
// `why` set when the call is not one rewritten.
std::optional<GraphRef> rewrite_complex_call(const AtenCall& call, const ops::TensorType& result,
                                             const PairsContext& context, std::string& why);

}  // namespace twin::capture
