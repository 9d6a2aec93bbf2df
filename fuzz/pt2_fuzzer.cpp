// libFuzzer target for torch.export's `.pt2` archives (capture/zip_archive.h,
// capture/pt2_archive.h, capture/export_reader.cpp): the path an archive from anyone takes
// into Twin. Graph::parse recognises a zip by its content, so every input here reaches the
// archive reader first.
//
// For arbitrary bytes, Graph::parse either returns a Graph or throws twin::Error naming the
// file; an Error from its catch-all ("cannot load the graph: ..."), another exception, a crash,
// a sanitizer report or a hang is a bug. What loads prints, and its every recorded type is
// within the size limits (capture/tensor_limits.h).
//
// Seeds: the `.pt2` files of ../shared/fixtures (fuzz/run.sh pt2). Inputs up to 1 MiB.
#include "capture/graph.h"
#include "capture/tensor_limits.h"
#include "fuzz/fuzz_support.h"
#include "util/error.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

constexpr const char* kTarget = "pt2_fuzzer";
constexpr const char* kFile = "fuzz.pt2";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<twin::Graph> graph;
  try {
    graph = twin::Graph::parse(input, kFile);
  } catch (const twin::Error& e) {
    if (e.message().rfind(kFile, 0) != 0) twin::fuzz::broken(kTarget, "the error does not name the file", input, e.message());
    if (e.message().find(": cannot load the graph: ") != std::string::npos)
      twin::fuzz::broken(kTarget, "an exception escaped the reader's checks", input, e.message());
    return 0;
  } catch (const std::exception& e) {
    twin::fuzz::broken(kTarget, "Graph::parse threw something other than twin::Error", input, e.what());
  }
  for (const auto* list : {&graph->inputs(), &graph->parameters(), &graph->buffers(), &graph->constants()})
    for (const auto& t : *list)
      if (auto why = twin::capture::implausible_size(t.type.shape, twin::capture::element_bytes(t.type.dtype)))
        twin::fuzz::broken(kTarget, "the reader admitted an implausible type", input, t.name + ": " + *why);
  (void)graph->summary();
  return 0;
}
