// What a guard may know of the values an integer e-class takes without knowing them: a bound
// on every element. The token ids a model reads are graph inputs, unknown, but both graphs
// of a check are defined only where every id is below the vocabulary an embedding reads
// (PyTorch raises "index out of range" elsewhere), so on the inputs a verdict is about, every
// id is in [0, vocabulary). `twin check` records those bounds on the input classes
// (check/index_domain_analysis.h); guards read them through this interface, found on the
// e-graph under the analysis name "index_domain".
#pragma once

#include "egraph/egraph.h"
#include "egraph/scalar_expr.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace twin::ops {

class IndexDomain {
 public:
  static constexpr std::string_view kAnalysisName = "index_domain";
  virtual ~IndexDomain() = default;
  // A bound b such that every element of the class's value is in [0, b) wherever the graphs
  // are defined; nullopt when none is known.
  virtual std::optional<std::int64_t> index_bound(const egraph::EGraph& graph, egraph::EClassId cls) const = 0;
};

// The guard query
//   indexes_rows_of(?i, ?w)  every element of the integer tensor ?i is a row of ?w: in
//                            [0, dim(?w, 0)). Known from ?i's constant value, or from the
//                            index domain above (token ids below a vocabulary). An embedding
//                            whose table has rows beyond those (a vocabulary padded to a
//                            multiple of 64) never reads them.
// Random testing draws ?i in [0, dim(?w, 0)) (verify/random_inputs.h).
void register_index_queries(egraph::QueryRegistry& queries);

}  // namespace twin::ops
