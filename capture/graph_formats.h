// Internal to capture/: the readers of the two graph formats, which Graph::load and
// Graph::parse (capture/graph.cpp) dispatch to by the file's first bytes.
#pragma once

#include "capture/graph.h"

#include <string>
#include <string_view>

namespace twin {

// A `.graph` file (docs/graph-format.md): capture/graph_reader.cpp.
Graph read_twin_graph(std::string_view bytes, const std::string& file);
// A torch.export `.pt2` archive: capture/export_reader.cpp.
Graph read_pt2(std::string_view bytes, const std::string& file, const GraphLoadOptions& options);

}  // namespace twin
