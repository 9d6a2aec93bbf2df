// The bound each integer input of a graph has as an index: the token ids an embedding reads
// are below its vocabulary size, or the graph is not defined (PyTorch raises "index out of
// range"). Used to draw example inputs a graph can run on (export_examples.h), and by
// `twin check` as the domain on which its verdict holds (check/index_domain.h).
//
//   auto bounds = twin::capture::input_index_bounds(graph);   // {"input_ids": 32000}
#pragma once

#include "capture/graph.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin::capture {

// For each input used as an index (an operand with an Index domain, ops/op_spec.h: embedding's
// token ids, index_select's index), by input name, the smallest bound among its uses, reading
// through ops that only rearrange it (a view of the token ids). Every element of the input must
// be in [0, bound) for the graph to be defined. Opaque nodes and untyped operands are skipped.
std::map<std::string, std::int64_t> input_index_bounds(const Graph& graph);

// The index domain of a check: for each of the reference's inputs, by position (as a check
// pairs them with the port's), the smaller of the two graphs' bounds for it (both graphs are
// defined only below it), or nullopt when neither reads it as indices.
std::vector<std::optional<std::int64_t>> paired_input_index_bounds(const Graph& reference, const Graph& port);

}  // namespace twin::capture
