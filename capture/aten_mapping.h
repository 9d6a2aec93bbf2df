// The ATen mapping: how a captured ATen call (capture/aten_call.h) becomes calls of Twin's ops
// (ops/op_spec.h), the `steps` of a GraphNode.
//
// A table keyed by the ATen op's name (`linear`, `add`, `_to_copy`, `split_with_sizes`): one
// entry per name, filled by one file per op family under capture/aten/ (elementwise,
// reductions, linear algebra, layout, other) through explicit registration calls. Each entry
// declares the Twin ops its steps may use; tests/capture_aten_registry_test.cpp checks that
// each of those is in the op registry and that no two entries claim one ATen name.
//
// Invariants of a lowering:
//   - it uses only the ops its entry declares (a mapping that emits another op is a bug in
//     Twin: lower_aten_call throws std::logic_error);
//   - it produces every output the capture recorded (one per result, or every output of the
//     last step for the entries marked outputs_from_last_step), else the node is opaque;
//   - an ATen name without an entry, or a call its mapping does not handle (a rounding mode,
//     a boolean index, dropout that is on), is opaque, with the reason: never dropped, never an
//     error. The checker keeps opaque nodes under their own names.
#pragma once

#include "capture/aten_call.h"
#include "capture/graph.h"
#include "ops/tensor_type.h"

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace twin::capture {

class MappingContext;  // capture/aten/mapping_context.h: what a mapping reads and writes

struct AtenMapping {
  std::string aten_name;           // "linear": as AtenCall::name
  std::vector<std::string> emits;  // the Twin ops its steps may use (registered names)
  // chunk, split: the last step returns a tuple of as many tensors as the capture recorded
  // (which shape inference decides), so the output count is not checked.
  bool outputs_from_last_step = false;
  // A view: the results share their first operand's storage (view, slice, transpose...), so a
  // later in-place write into one writes into the other (capture/export_reader.cpp).
  bool view = false;
  void (*map)(MappingContext&) = nullptr;
};

// Every entry, in registration order (by family).
const std::vector<AtenMapping>& aten_mappings();
// The entry for `aten_name` (AtenCall::name); nullptr when Twin has no mapping for it.
const AtenMapping* find_aten_mapping(std::string_view aten_name);

// What the capture recorded about the values a call touches.
struct RecordedTypes {
  const std::vector<ops::TensorType>& outputs;  // the call's outputs, in order
  // The type of a value the call reads; nullptr when the graph has no such value.
  std::function<const ops::TensorType*(const GraphRef&)> value;
};

// A call's lowering: GraphNode's `opaque`, `opaque_reason`, `steps` and `results`.
struct Lowering {
  bool opaque = false;
  std::string opaque_reason;
  std::vector<GraphStep> steps;
  std::vector<std::pair<int, int>> results;
};

// Maps `call` onto Twin's ops. Opaque (with the reason) when no entry handles it.
Lowering lower_aten_call(const AtenCall& call, const RecordedTypes& types);

// The same for a graph reader: `node`'s opaque, opaque_reason, steps and results from
// lower_aten_call, with the node's recorded outputs and `graph`'s recorded value types.
void lower_into(GraphNode& node, const AtenCall& call, const Graph& graph);

}  // namespace twin::capture
