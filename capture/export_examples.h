// The example inputs, and PyTorch's outputs for them, of a graph read from a torch.export
// `.pt2` (which stores no outputs). The first source that exists wins (docs/graph-format.md):
//   1. the sidecar NAME.io.safetensors beside NAME.pt2 (`twin capture` writes it): tensors
//      `input.K` (the K-th tensor input) and `output.K` (the K-th tensor output), and in its
//      metadata the capture's `dtype` and `spec`;
//   2. inputs the caller gives by name (GraphLoadOptions::inputs): no expected outputs;
//   3. the archive's sample inputs (torch.save'd, capture/torch_pickle.h): no expected outputs;
//   4. inputs drawn from the input types, reproducibly: token ids (an integer input that an
//      embedding reads) inside the embedding's rows, other integers in [0, 2), floats standard
//      normal, booleans fair coins. No expected outputs.
// Every stored value must have its input's recorded dtype and shape: a mismatch is an Error
// naming the file and the tensor, never a silent conversion.
#pragma once

#include "capture/graph.h"
#include "capture/pt2_archive.h"

#include <optional>
#include <string>
#include <vector>

namespace twin::capture {

struct ExampleValues {
  ExampleSource source = ExampleSource::None;
  std::vector<std::optional<ops::Tensor>> inputs;   // one per graph input
  std::vector<std::optional<ops::Tensor>> outputs;  // one per graph output, or none
  std::optional<ops::DType> capture_dtype;          // the sidecar's `dtype`
  std::string capture_source;                       // the sidecar's `spec` ("examples/llama/port.py:model")
};

// `graph`'s inputs, outputs and nodes are read; nothing is changed.
ExampleValues example_values(const Graph& graph, const Pt2Archive& archive, const GraphLoadOptions& options);

}  // namespace twin::capture
