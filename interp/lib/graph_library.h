// The script API of captured graphs (docs/graphs.md):
//
//   let g = load_graph("reference.graph")   # a graph value; print(g) shows a summary
//   g.nodes  g.modules  g.module_paths  g.parameters  g.inputs  g.outputs  g.opaque_ops
//   g.torch_version  g.capture_dtype  g.node("linear_0")  g.unknown_ops  g.format
//   let r = g.replay()                      # r.ok, r.max_rel_error, r.outputs, r.tolerance
//   let v = g.run(dtype="f32", keep=["linear_0"])   # map: name -> tensor value
//
// and the tensor values that runs return (t.shape, t.dtype, t.numel, t.to_list()).
//
// A library the host opens: a host that does not open it never reads a graph, and libtorch
// is loaded only when a tensor is first needed.
#pragma once

#include "capture/graph.h"
#include "interp/interpreter.h"
#include "ops/tensor.h"

namespace twin {

// Reads a graph file (`.graph` or `.pt2`) the way load_graph() does: through the
// interpreter's read permission, with a `.pt2`'s NAME.io.safetensors beside it. Throws Error.
Graph read_graph_file(Interpreter& interpreter, const std::filesystem::path& path, const SourceLocation& where,
                      GraphLoadOptions options = {});

// Registers load_graph() in the interpreter.
void open_graph_library(Interpreter& interpreter);

// A tensor as a script value (what g.run() returns).
Value make_tensor_value(ops::Tensor tensor);

}  // namespace twin
