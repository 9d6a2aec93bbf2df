// What the two graph-reader targets share (graph_fuzzer for `.graph` files, pt2_fuzzer for
// torch.export archives; Graph::parse tells them apart by content): parsing with the reader's
// error contract, and the invariants of whatever loads.
#pragma once

#include "capture/graph.h"
#include "capture/tensor_limits.h"
#include "fuzz/fuzz_support.h"
#include "util/error.h"

#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace twin::fuzz {

// Graph::parse on `input` as the file `file`: the Graph, or nullopt for a clear refusal. A
// refusal must name the file and must not come from the reader's catch-all ("cannot load the
// graph: ...", which turns a stray std::exception into an Error so a user still sees the file:
// some check is missing before the code that threw); any other exception is a bug.
inline std::optional<Graph> parse_graph(const char* target, const char* file, std::string_view input) {
  try {
    return Graph::parse(input, file);
  } catch (const Error& e) {
    if (e.message().rfind(file, 0) != 0) broken(target, "the error does not name the file", input, e.message());
    if (e.message().find(": cannot load the graph: ") != std::string::npos)
      broken(target, "an exception escaped the reader's checks", input, e.message());
    return std::nullopt;
  } catch (const std::exception& e) {
    broken(target, "Graph::parse threw something other than twin::Error", input, e.what());
  }
}

// What loads is within the size limits (capture/tensor_limits.h), and every node reads only
// values defined before it.
inline void check_graph_invariants(const char* target, const Graph& graph, std::string_view input) {
  auto bounded = [&](const ops::TensorType& type, const std::string& what) {
    if (auto why = capture::implausible_size(type.shape, capture::element_bytes(type.dtype)))
      broken(target, "the reader admitted an implausible type", input, what + ": " + *why);
  };
  std::set<std::string> defined;
  for (const auto* list : {&graph.inputs(), &graph.parameters(), &graph.buffers(), &graph.constants()})
    for (const auto& t : *list) {
      bounded(t.type, t.name);
      defined.insert(t.name);
    }
  for (const auto& node : graph.nodes()) {
    for (const auto& name : node.reads)
      if (!defined.count(name)) broken(target, "a node reads a value not defined before it", input, node.name + " reads " + name);
    for (const auto& type : node.outputs) bounded(type, node.name);
    defined.insert(node.name);
  }
}

}  // namespace twin::fuzz
