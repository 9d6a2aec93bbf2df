// Random e-graphs for the engine's oracle tests (matcher, extraction, explanations).
#pragma once

#include "egraph/egraph.h"

#include <random>
#include <vector>

namespace twin::egraph::testing {

// Adds `count` random terms over leaves `leaves`, a unary `f` and a binary `h`; the first
// leaves.size() terms are leaves. Returns the ids in the order added.
inline std::vector<EClassId> add_random_terms(EGraph& g, std::mt19937& rng, const std::vector<OpId>& leaves, OpId f,
                                              OpId h, int count) {
  std::vector<EClassId> ids;
  for (int i = 0; i < count; ++i) {
    int kind = ids.size() < leaves.size() ? 0 : rng() % 3;
    if (kind == 0) ids.push_back(g.add(leaves[rng() % leaves.size()]));
    else if (kind == 1) {
      EClassId c[1] = {ids[rng() % ids.size()]};
      ids.push_back(g.add(f, c));
    } else {
      EClassId c[2] = {ids[rng() % ids.size()], ids[rng() % ids.size()]};
      ids.push_back(g.add(h, c));
    }
  }
  return ids;
}

}  // namespace twin::egraph::testing
