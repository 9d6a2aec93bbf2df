// libFuzzer target for torch.export's `.pt2` archives (capture/zip_archive.h,
// capture/pt2_archive.h, capture/export_reader.cpp): the path an archive from anyone takes
// into Twin. Graph::parse recognises a zip by its content, so every input here reaches the
// archive reader first.
//
// For arbitrary bytes, Graph::parse either returns a Graph or refuses with twin::Error naming
// the file (fuzz/graph_reading.h); what loads holds the reader's invariants and prints. A
// crash, a sanitizer report or a hang is a bug.
//
// Seeds: the `.pt2` files of ../shared/fixtures (fuzz/run.sh pt2). Inputs up to 1 MiB.
#include "fuzz/graph_reading.h"

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
  std::optional<twin::Graph> graph = twin::fuzz::parse_graph(kTarget, kFile, input);
  if (!graph) return 0;
  twin::fuzz::check_graph_invariants(kTarget, *graph, input);
  (void)graph->summary();
  return 0;
}
