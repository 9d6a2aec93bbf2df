// Execution of a loaded graph through ops::evaluate (libtorch), node by node in the file's
// (topological) order, and replay of the stored example against PyTorch's stored outputs.
//
//   RunResult r = run_graph(g, {}, {RunMode::F32});          // every node's value, at f32
//   ReplayResult rep = replay_graph(g);                       // rep.ok, rep.max_rel_error
//
// Modes:
//   Captured  the graph as traced: inputs, parameters and every cast in their recorded dtypes.
//   F32       every floating dtype becomes f32: floating inputs, parameters, buffers and
//             constants are converted, and every dtype attribute naming a floating dtype (casts,
//             softmax/mean dtype=, full/arange) names f32. The fp32 reference of the 3-tensor
//             method.
//   BF16      the same with bf16.
//   F64       the same with f64: the precision baseline of an f32 capture (‖r32 − r64‖).
// Integer and bool values are never converted. Python numbers stay Python numbers.
#pragma once

#include "capture/graph.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin {

enum class RunMode { Captured, F32, BF16, F64 };
const char* run_mode_name(RunMode mode);                    // "captured", "f32", "bf16", "f64"
std::optional<RunMode> parse_run_mode(std::string_view name);  // also "as_captured", "fp32"

struct RunOptions {
  RunMode mode = RunMode::Captured;
  // Names of the values to return (inputs, parameters, nodes). nullopt: every node's value (and
  // every input's). When set, every other value is freed as soon as no later node reads it,
  // so a large graph's run holds only the live values and the kept ones.
  std::optional<std::vector<std::string>> keep;
  // Node name -> the values it takes instead of being evaluated (one tensor per output, each
  // with the recorded shape; used as given, in any dtype). The stages' component tests feed a
  // module the reference's values this way (docs/stages.md).
  std::map<std::string, std::vector<ops::Tensor>> overrides;
};

struct RunResult {
  // Value name -> its tensors (one for most nodes, several for split/chunk/unbind), in
  // execution order: inputs first, then nodes.
  std::vector<std::pair<std::string, std::vector<ops::Tensor>>> values;
  std::vector<ops::Tensor> outputs;  // the graph's outputs, always
  const std::vector<ops::Tensor>* find(std::string_view name) const;
};

// Runs `graph`. `inputs` maps input names to tensors; a missing input takes the stored example
// input. Throws Error (Value) naming the file and node: an opaque node, a missing value (a
// graph captured without weights), an op that fails, or, as captured, a result whose dtype or
// shape differs from the recorded one (a mapping bug or a corrupted graph). In F32 and BF16
// modes only the shape is checked.
RunResult run_graph(const Graph& graph, const std::map<std::string, ops::Tensor>& inputs, const RunOptions& options);

struct ReplayOutput {
  std::string name;          // the output's reference ("linear_29")
  double max_abs_error = 0;  // max |twin - torch|
  double max_abs_reference = 0;  // max |torch|
  double rel_error = 0;      // max_abs_error / max_abs_reference (max_abs_error when that is 0)
  bool ok = false;
};

struct ReplayResult {
  bool ok = false;            // every output's rel_error <= tolerance
  double max_rel_error = 0;   // the maximum over outputs
  double tolerance = 0;       // 1e-6 for an f32 (or f64) capture, 1e-2 for bf16 and f16
  std::vector<ReplayOutput> outputs;
};

// Runs the stored example inputs as captured and compares every graph output with the output
// PyTorch stored. The relative error of an output is max|a - b| / max|b| over its elements
// (a: Twin's, b: PyTorch's; NaN where only one side is NaN counts as an infinite error). Throws
// Error (Value) when the graph stores no example outputs or inputs.
ReplayResult replay_graph(const Graph& graph);
double replay_tolerance(ops::DType capture_dtype);

}  // namespace twin
