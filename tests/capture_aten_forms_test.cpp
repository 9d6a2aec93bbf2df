// ATen forms Twin lowers into its own ops (capture/aten/): a module captured from PyTorch by the
// shipped capture tool (tests/fixtures/aten_forms.py) replays PyTorch's stored outputs, each
// einsum, baddbmm, var/std, 2-norm, movedim, .T/.mT and empty-operand cat among them.
#include "capture/graph.h"
#include "capture/graph_runner.h"

#include <doctest/doctest.h>

#include <filesystem>

using namespace twin;

TEST_CASE("einsum, baddbmm, var/std, 2-norms, movedim, .T/.mT, cat with an empty operand, max/min and argmax replay PyTorch's outputs") {
  const Graph g = Graph::load(std::filesystem::path(TWIN_SOURCE_DIR) / "tests" / "fixtures" / "aten_forms.graph");
  CHECK(g.opaque_ops().empty());
  const ReplayResult r = replay_graph(g);
  for (const auto& o : r.outputs) {
    INFO(o.name << ": rel " << o.rel_error);
    CHECK(o.rel_error <= r.tolerance);
  }
  CHECK(r.outputs.size() == 26);
  CHECK(r.ok);
}
