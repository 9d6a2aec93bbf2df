// ATen's products onto Twin's: linear (bias optional), matmul and its 2-d form mm, bmm.
#include "capture/aten/mapping_context.h"

namespace twin::capture {

namespace {

void map_linear(MappingContext& c) {
  std::vector<GraphOperand> operands{c.tensor(0, "input"), c.tensor(1, "weight")};
  if (is_tensor(c.arg(2, "bias"))) operands.push_back(c.tensor(2, "bias"));
  c.step("linear", operands);
}

void map_matmul(MappingContext& c) {
  c.step(c.op() == "bmm" ? "bmm" : "matmul", {c.tensor(0, "self"), c.tensor(1, "other")});
}

}  // namespace

void register_linear_algebra_mappings(std::vector<AtenMapping>& out) {
  add_mapping(out, {"linear"}, {"linear"}, map_linear);
  add_mapping(out, {"matmul", "mm"}, {"matmul"}, map_matmul);
  add_mapping(out, {"bmm"}, {"bmm"}, map_matmul);
}

}  // namespace twin::capture
