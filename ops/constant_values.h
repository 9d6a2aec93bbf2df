// What a guard may read of an e-class's constant tensor value. The e-graph's tensor-value
// analysis (check/tensor_values.h) knows which classes are constants (causal masks, RoPE
// tables); guards live below it (ops/, compiler/), so they read values through this
// interface, found on the e-graph under the analysis name "tensor_values".
#pragma once

#include "egraph/egraph.h"
#include "egraph/scalar_expr.h"

#include <vector>

namespace twin::ops {

class ConstantValues {
 public:
  static constexpr std::string_view kAnalysisName = "tensor_values";
  virtual ~ConstantValues() = default;
  // The class's elements in row-major order when it is a known constant tensor; else null.
  virtual const std::vector<double>* constant_elements(const egraph::EGraph& graph, egraph::EClassId cls) const = 0;
};

// The constant elements of `cls`, when the e-graph has a tensor-value analysis that knows them.
const std::vector<double>* constant_elements(const egraph::EGraph& graph, egraph::EClassId cls);

// Guard queries over a mask's constant value (false when the value is not known):
//   every_row_attends(?m)  a boolean mask with a true in every row (along the last dim): a
//                          `where(?m, scores, fill)` keeps a score in every row;
//   every_row_keeps(?m)    a boolean mask with a false in every row: a
//                          `masked_fill(scores, ?m, fill)` keeps a score in every row;
//   additive_mask(?a)      a floating mask whose every element is 0 or at most -1e30, with a
//                          0 in every row: scores + ?a keep a score in every row, and the
//                          others are pushed to where exp underflows;
//   all_zero(?b)           a floating tensor of zeros (a port's bias that its checkpoint
//                          leaves at zero where the reference has none);
//   distinct_indices(?i)   a vector of distinct, non-negative integers (positions written by
//                          index_copy read back by index_select: each holds its own write);
//   masks_unlisted(?m, ?i) a mask that masks, in every row, every column (last dim) whose
//                          position is not in the index vector ?i: true in a boolean mask
//                          (masked_fill's), at most -1e30 in an additive one. A softmax over
//                          the masked scores sees only the listed columns (a KV cache read
//                          whole, its unwritten slots masked).
// Random testing draws values that satisfy them (verify/random_inputs.h).
void register_constant_queries(egraph::QueryRegistry& queries);

// The bound below which an additive mask's element counts as masked.
inline constexpr double kMaskedBelow = -1e30;

}  // namespace twin::ops
