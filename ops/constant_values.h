// What a guard may read of an e-class's constant tensor value. The e-graph's tensor-value
// analysis (check/tensor_values.h) knows which classes are constants (causal masks, RoPE
// tables); guards live below it (ops/, compiler/), so they read values through this
// interface, found on the e-graph under the analysis name "tensor_values".
#pragma once

#include "egraph/egraph.h"

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

}  // namespace twin::ops
