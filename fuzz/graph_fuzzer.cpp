// libFuzzer target for the graph reader (capture/graph.h) and the checker's lowering of what
// it admits (check/graph_lowering.h): the path a `.graph` file from anyone takes into a proof.
//
// For arbitrary bytes:
//   1. Graph::parse either returns a Graph or throws twin::Error naming the file. An Error from
//      its catch-all ("cannot load the graph: ...", which turns a stray std::exception into an
//      Error so a user still sees the file) is a bug here: some check is missing before the
//      code that threw (an nlohmann type_error, a std::logic_error from the ATen mapping);
//   2. a Graph that loads prints (summary, module tree), and lowers into an e-graph with the
//      shape analysis, or the lowering throws twin::Error: what the reader admitted, the
//      checker must handle;
//   3. the reader's invariants hold on what loads: every recorded type is within the size
//      limits (capture/tensor_limits.h), and every node reads only values defined before it.
// A crash, a sanitizer report, a hang or another exception is a bug.
//
// Seeds: the example graphs and small graphs cut from them (fuzz/make_graph_seeds.py).
// Build and run: fuzz/run.sh graph [SECONDS]   (see docs/building.md, "Fuzzing")
#include "capture/graph.h"
#include "check/graph_lowering.h"
#include "check/tensor_values.h"
#include "egraph/egraph.h"
#include "fuzz/graph_reading.h"
#include "ops/shape_analysis.h"
#include "util/error.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace {

constexpr const char* kTarget = "graph_fuzzer";
constexpr const char* kFile = "fuzz.graph";

// Lowers `graph` as `twin check` does one side: its inputs, parameters and buffers as leaves,
// constants through GraphLowering::constant.
void lower(const twin::Graph& graph) {
  namespace eg = twin::egraph;
  eg::EGraph egraph(std::make_shared<eg::OpTable>(), true);
  twin::ops::add_shape_analysis(egraph);
  auto& values = twin::check::add_tensor_value_analysis(egraph);
  egraph.enable_explanations();
  twin::check::GraphLowering lowering(egraph, values);
  std::map<std::string, twin::check::LoweredValue> sources;
  for (const auto* list : {&graph.inputs(), &graph.parameters(), &graph.buffers()})
    for (const auto& t : *list) sources[t.name] = lowering.leaf(t.name, t.type, t.value);
  for (const auto& t : graph.constants()) sources[t.name] = lowering.constant(t.name, t.type, t.value);
  lowering.lower(graph, sources);
  egraph.rebuild();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<twin::Graph> graph = twin::fuzz::parse_graph(kTarget, kFile, input);
  if (!graph) return 0;
  twin::fuzz::check_graph_invariants(kTarget, *graph, input);
  (void)graph->summary();
  try {
    lower(*graph);
  } catch (const twin::Error&) {
    // The lowering refuses what it cannot express (an op without a canonical form): a clear error.
  } catch (const std::exception& e) {
    twin::fuzz::broken(kTarget, "the lowering threw something other than twin::Error", input, e.what());
  }
  return 0;
}
