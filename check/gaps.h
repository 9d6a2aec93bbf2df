// Where a proof stops: when the rules do not connect an output, the smallest port pieces that
// no rule connected to the reference although their operands are connected, and from which a
// path of unconnected values reaches a graph output (a harmless unmatched value, such as a
// fused projection before its split or a partial product, is connected again downstream and
// is not a gap). When the graphs were run, each piece shows the reference value it matches
// numerically: the correspondence a missing rule would state.
#pragma once

#include "check/check_result.h"
#include "check/saturation.h"

#include <cstddef>
#include <vector>

namespace twin::check {

// At most `limit` pieces, in the port's topological order. `numerics` may be null.
std::vector<UnmatchedPiece> find_gaps(Saturation& saturation, const DivergenceReport* numerics, std::size_t limit = 20);

}  // namespace twin::check
