// A captured PyTorch implementation, loaded and checked, with every node's ATen op mapped onto
// Twin's op vocabulary (docs/ops.md). Two formats (docs/graph-format.md): Twin's `.graph`
// (`twin capture` on torch 1.13) and torch.export's `.pt2` archive (torch >= 2.6), told apart
// by their first bytes.
//
//   twin::Graph g = twin::Graph::load("examples/llama/reference.graph");
//   for (const auto& node : g.nodes()) ... node.aten_op, node.module, node.steps ...
//   g.opaque_ops();   // ATen ops Twin does not know: kept under their own names, never dropped
//
// A file is validated, not trusted. Every problem with it (truncated, bad JSON, an unknown
// reference, a future version, a size that cannot fit in memory, a recorded type that is not
// what the node's ops give, bytes after the data) is a twin::Error (ErrorKind::Io for a file
// that cannot be read or is cut short, ErrorKind::Value for bad content) whose message names
// the file, the node and what is wrong. No input makes the loader crash or hang.
// docs/graph-format.md ("What a reader checks") lists every check.
//
// The rooms behind this header: capture/safetensors.h (the `.graph` container,
// tensor_from_bytes), capture/graph_reader.cpp (the `.graph` JSON), capture/zip_archive.h and
// capture/pt2_archive.h (the `.pt2` container and its layout), capture/export_reader.cpp
// (torch.export's program JSON), capture/aten_call.h and capture/aten_mapping.h (the mapping
// of ATen calls onto Twin's ops, one file per op family under capture/aten/). Execution lives
// in capture/graph_runner.h. Validation: capture/tensor_limits.h (the sizes a file may record) and
// capture/graph_validation.h (recorded types against shape inference).
#pragma once

#include "ops/attributes.h"
#include "ops/tensor.h"
#include "ops/tensor_type.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twin {

// A reference to a value: an input, parameter, buffer, constant or node output.
struct GraphRef {
  std::string name;
  int output = 0;  // the output of a multi-output node
  std::string to_string() const { return output ? name + "[" + std::to_string(output) + "]" : name; }
};

// An input, parameter, buffer or constant.
struct GraphTensor {
  std::string name;
  ops::TensorType type;
  std::string tensor_key;              // the safetensors entry ("" when captured without weights)
  std::optional<ops::Tensor> value;    // nullopt when captured without weights
};

// One call of a Twin op, a step of a node's lowering.
struct GraphOperand {
  enum class Kind { Value, Step, Scalar } kind = Kind::Value;
  GraphRef ref;               // Value: a graph value
  int step = 0, output = 0;   // Step: an output of an earlier step of the same node
  double scalar = 0;          // Scalar: a Python number (ops::Tensor::python_scalar)
  bool integral = false;
};

struct GraphStep {
  std::string op;  // Twin's op name (docs/ops.md)
  std::vector<GraphOperand> operands;
  ops::Attributes attributes;
  // When >= 0, the attribute `dtype` is the dtype of this operand at run time and the operand
  // is not passed to the op (aten::type_as, aten::to(other)).
  int dtype_like = -1;
};

struct GraphNode {
  std::string name;
  std::string aten_op;      // as traced: "aten::linear"
  std::string module;       // "layers.0.mlp.gate_proj"; "" for the captured model itself
  std::string module_type;  // "Linear"
  std::vector<ops::TensorType> outputs;  // as recorded
  std::string args_json;    // args and kwargs as traced (JSON text), for printing
  // Where the model's code made the call, "modeling_llama.py:255" (torch.export's stack_trace,
  // its innermost frame); "" when the capture recorded none.
  std::string source;
  std::vector<std::string> reads;        // the values it reads, in order of first use
  // The mapping: steps evaluated in order; the node's outputs are `results` (step, output),
  // or every output of the last step when `results` is empty. An opaque node has no steps.
  bool opaque = false;
  std::string opaque_reason;
  std::vector<GraphStep> steps;
  std::vector<std::pair<int, int>> results;

  // "linear", "reshape", "cat"..., a lowering's ops joined by "+", or "opaque".
  std::string twin_op() const;
};

struct GraphModule {
  std::string name;   // the last component ("q_proj"; "" for the root)
  std::string path;   // "layers.0.self_attn.q_proj"
  std::string type;   // the nn.Module class name when a node recorded it
  std::size_t node_count = 0;                  // nodes produced directly by this module
  std::vector<std::string> parameters;         // parameter and buffer names directly under it
  std::vector<std::unique_ptr<GraphModule>> children;  // in order of first appearance
  const GraphModule* find(std::string_view path) const;
};

// Where a graph's example inputs and PyTorch's outputs for them come from. A `.graph` stores
// them; for a `.pt2`, the first of these that exists (docs/graph-format.md):
enum class ExampleSource {
  Stored,        // in the file itself (`.graph`)
  Sidecar,       // NAME.io.safetensors beside NAME.pt2: `input.K` and `output.K`
  Given,         // GraphLoadOptions::inputs (no expected outputs)
  SampleInputs,  // the archive's data/sample_inputs (torch.save'd; no expected outputs)
  Drawn,         // drawn from the input types, token ids inside the embedding's range
  None,          // none (a `.graph` captured without example values)
};
const char* example_source_name(ExampleSource source);  // "stored", "sidecar", ...

struct GraphLoadOptions {
  // The bytes of the inputs/outputs sidecar (NAME.io.safetensors) and its name. Graph::load
  // reads the file beside a `.pt2` itself; a host that reads files its own way passes them.
  std::optional<std::string> io_sidecar;
  std::string io_sidecar_file;
  // Example inputs by input name, used by a `.pt2` that has no sidecar.
  std::map<std::string, ops::Tensor> inputs;
};

// The ops a graph keeps opaque (Twin cannot run them), one entry per op.
struct OpaqueOpSummary {
  std::string op;        // as captured: "aten::frobnicate", "higher_order::cond"
  std::string reason;    // why its first node is opaque
  std::size_t count = 0; // how many nodes
  std::vector<std::string> modules;  // their module paths, each once, in order ("" is the model)
  // "aten::frobnicate (2 nodes, in model.layers.0.mlp.act_fn, model.layers.1.mlp.act_fn): Twin
  // has no mapping for this op"
  std::string describe() const;
};

class Graph {
 public:
  // Reads and checks a `.graph` file or a torch.export `.pt2` archive (by its first bytes).
  // For a `.pt2`, NAME.io.safetensors beside it is read when `options` gives no sidecar.
  // Throws Error (Io, Value) naming `path`.
  static Graph load(const std::filesystem::path& path, GraphLoadOptions options = {});
  // The same from the file's bytes; `file` names it in errors.
  static Graph parse(std::string_view bytes, const std::string& file, const GraphLoadOptions& options = {});
  // Where Graph::load looks for a `.pt2`'s sidecar: NAME.io.safetensors beside NAME.pt2.
  static std::filesystem::path io_sidecar_path(const std::filesystem::path& path);

  const std::string& file() const { return file_; }
  const std::string& torch_version() const { return torch_version_; }
  const std::string& capture_method() const { return capture_method_; }
  const std::string& capture_source() const { return capture_source_; }
  // "twin-graph" (a `.graph`) or "pt2" (a torch.export archive).
  const std::string& format() const { return format_; }
  ExampleSource example_source() const { return example_source_; }
  // The precision of the capture ("dtype" of the capture record; else bf16 when a parameter is
  // bf16, else f32).
  ops::DType capture_dtype() const { return capture_dtype_; }

  const std::vector<GraphTensor>& inputs() const { return inputs_; }
  const std::vector<GraphTensor>& parameters() const { return parameters_; }
  const std::vector<GraphTensor>& buffers() const { return buffers_; }
  const std::vector<GraphTensor>& constants() const { return constants_; }
  const std::vector<GraphNode>& nodes() const { return nodes_; }
  const std::vector<GraphRef>& outputs() const { return outputs_; }
  // PyTorch's outputs for the example inputs, one per graph output (nullopt when not stored).
  const std::vector<std::optional<ops::Tensor>>& example_outputs() const { return example_outputs_; }

  // The ATen ops with no mapping, each once, in order of first appearance.
  std::vector<std::string> opaque_ops() const;
  // The same with each op's count, module paths and reason.
  std::vector<OpaqueOpSummary> opaque_summary() const;
  // torch.export's functionalized buffer mutations: each mutated buffer with the value it holds
  // after the forward pass (not a graph output). Empty for a `.graph`.
  const std::vector<std::pair<std::string, GraphRef>>& buffer_mutations() const { return buffer_mutations_; }
  // Assertion nodes left out when reading (torch.export's `_assert_tensor_metadata`, ...).
  std::size_t dropped_assertions() const { return dropped_assertions_; }
  // The recorded type of a value (nullptr when no value has that name or output).
  const ops::TensorType* type_of(const GraphRef& ref) const;
  const GraphNode* find_node(std::string_view name) const;
  const GraphTensor* find_tensor(std::string_view name) const;  // input, parameter, buffer, constant

  // A copy in which the inputs from `keep` on are constants holding their stored example
  // values: a port input the reference computes inside (vLLM's `positions`, gpt-fast's
  // `input_pos`), fixed at the value it was captured with (check/port_inputs.h). Throws Error
  // (Value) naming the file when one of them has no stored value.
  Graph with_inputs_fixed(std::size_t keep) const;
  // A copy that returns only its first `keep` outputs (a port that also returns its KV cache,
  // compared with a reference that returns the logits alone).
  Graph with_outputs(std::size_t keep) const;
  // A copy whose input i takes `input_shapes[i]` and whose output k gives `output_shapes[k]`
  // where these differ from its own only by unit dims (the same elements in the same order:
  // vLLM's `[num_tokens]` against `[1, seq]`): a node `NAME.as_captured` reshapes such an
  // input to the shape the graph was captured with, and a node `NAME.as_compared` reshapes
  // such an output (stored example values are reshaped alike). An entry that is nullopt, or
  // for which shapes_differ_by_unit_dims does not hold, leaves that input or output as it is.
  Graph with_unit_dims_of(const std::vector<std::optional<std::vector<std::int64_t>>>& input_shapes,
                          const std::vector<std::optional<std::vector<std::int64_t>>>& output_shapes) const;

  const GraphModule& modules() const { return *root_; }
  std::vector<std::string> module_paths() const;  // every module path, depth first ("" excluded)
  std::string module_tree() const;  // the printable tree
  std::string summary() const;      // torch version, counts, opaque ops, module tree

 private:
  // Fills the module tree from the nodes' module paths and the parameter and buffer names.
  void build_module_tree();

  std::string file_;
  std::string format_ = "twin-graph";
  ExampleSource example_source_ = ExampleSource::Stored;
  std::string torch_version_, capture_method_, capture_source_;
  ops::DType capture_dtype_ = ops::DType::F32;
  std::vector<GraphTensor> inputs_, parameters_, buffers_, constants_;
  std::vector<GraphNode> nodes_;
  std::vector<GraphRef> outputs_;
  std::vector<std::optional<ops::Tensor>> example_outputs_;
  std::vector<std::pair<std::string, GraphRef>> buffer_mutations_;
  std::size_t dropped_assertions_ = 0;
  std::map<std::string, std::size_t, std::less<>> node_index_;
  std::map<std::string, std::pair<int, std::size_t>, std::less<>> tensor_index_;  // (kind, index)
  std::shared_ptr<GraphModule> root_ = std::make_shared<GraphModule>();

  friend class GraphLoader;
  friend class ExportLoader;
};

// Whether two shapes differ, but only by unit dims: the same elements in the same order
// (`[8]` and `[1, 8]`), which one reshape relates.
bool shapes_differ_by_unit_dims(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b);

}  // namespace twin
