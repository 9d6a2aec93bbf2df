// A captured PyTorch implementation: the `.graph` file of docs/graph-format.md, loaded and
// checked, with every node's ATen op mapped onto Twin's op vocabulary (docs/ops.md).
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
// The rooms behind this header: capture/safetensors.h (the file's container, tensor_from_bytes),
// capture/graph_reader.cpp (the graph JSON), capture/tensor_limits.h (the sizes a file may
// record), capture/graph_validation.h (recorded types against shape inference),
// capture/aten_call.h and capture/aten_mapping.h (the mapping of ATen calls onto Twin's ops,
// one file per op family under capture/aten/).
// Execution lives in capture/graph_runner.h.
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

class Graph {
 public:
  // Reads and checks a `.graph` file. Throws Error (Io, Value) naming `path`.
  static Graph load(const std::filesystem::path& path);
  // The same from the file's bytes; `file` names it in errors.
  static Graph parse(std::string_view bytes, const std::string& file);

  const std::string& file() const { return file_; }
  const std::string& torch_version() const { return torch_version_; }
  const std::string& capture_method() const { return capture_method_; }
  const std::string& capture_source() const { return capture_source_; }
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
  // The recorded type of a value (nullptr when no value has that name or output).
  const ops::TensorType* type_of(const GraphRef& ref) const;
  const GraphNode* find_node(std::string_view name) const;
  const GraphTensor* find_tensor(std::string_view name) const;  // input, parameter, buffer, constant

  const GraphModule& modules() const { return *root_; }
  std::vector<std::string> module_paths() const;  // every module path, depth first ("" excluded)
  std::string module_tree() const;  // the printable tree
  std::string summary() const;      // torch version, counts, opaque ops, module tree

 private:
  std::string file_;
  std::string torch_version_, capture_method_, capture_source_;
  ops::DType capture_dtype_ = ops::DType::F32;
  std::vector<GraphTensor> inputs_, parameters_, buffers_, constants_;
  std::vector<GraphNode> nodes_;
  std::vector<GraphRef> outputs_;
  std::vector<std::optional<ops::Tensor>> example_outputs_;
  std::map<std::string, std::size_t, std::less<>> node_index_;
  std::map<std::string, std::pair<int, std::size_t>, std::less<>> tensor_index_;  // (kind, index)
  std::shared_ptr<GraphModule> root_ = std::make_shared<GraphModule>();

  friend class GraphLoader;
};

}  // namespace twin
