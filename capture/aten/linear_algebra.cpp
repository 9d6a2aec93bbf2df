// ATen's products onto Twin's: linear (bias optional), matmul and its 2-d form mm, bmm, addmm
// (GPT-2's Conv1D: linear with the weight transposed, which is exactly how PyTorch's linear
// calls addmm), outer products, and grouped products (transformers' grouped_mm_fallback,
// torch._grouped_mm).
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

// addmm(bias, m1, m2, beta=1, alpha=1) = beta * bias + alpha * m1 @ m2. With both factors 1 and
// a vector bias it is linear(m1, m2^T, bias), which PyTorch computes as this very addmm.
void map_addmm(MappingContext& c) {
  GraphOperand bias = c.tensor(0, "self"), m1 = c.tensor(1, "mat1"), m2 = c.tensor(2, "mat2");
  for (const char* factor : {"beta", "alpha"})
    if (auto f = c.arg(factor[0] == 'b' ? 3 : 4, factor); f && !(is_number(f) && f->number() == 1))
      throw Unmappable{std::string("addmm with ") + factor + " " + f->to_string()};
  if (c.type_of(m1).rank() == 2 && c.type_of(m2).rank() == 2 && c.type_of(bias).shape == std::vector<std::int64_t>{c.type_of(m2).shape[1]}) {
    int w = c.step("transpose", {m2}, {{"dim0", int_attr(0)}, {"dim1", int_attr(1)}});
    c.step("linear", {m1, step_result(w), bias});
    return;
  }
  int product = c.step("matmul", {m1, m2});
  c.step("add", {bias, step_result(product)});
}

// outer(a, b) = a[:, None] * b[None, :].
void map_outer(MappingContext& c) {
  int a = c.step("unsqueeze", {c.tensor(0, "self")}, {{"dim", int_attr(-1)}});
  int b = c.step("unsqueeze", {c.tensor(1, "vec2")}, {{"dim", int_attr(0)}});
  c.step("mul", {step_result(a), step_result(b)});
}

// grouped_mm_fallback(input, weight, offs), _grouped_mm(mat_a, mat_b, offs): the 2-D x 3-D form.
void map_grouped_mm(MappingContext& c) {
  GraphOperand x = c.tensor(0, "mat_a"), w = c.tensor(1, "mat_b");
  const AtenValue* offs = c.arg(2, "offs");
  if (!is_tensor(offs)) throw Unmappable{"grouped_mm without offsets"};
  if (c.arg(3, "bias")) throw Unmappable{"grouped_mm with a bias"};
  if (c.type_of(x).rank() != 2 || c.type_of(w).rank() != 3) throw Unmappable{"grouped_mm other than 2-D by 3-D"};
  c.step("grouped_mm", {x, w, c.tensor_of(offs, "offs")});
}

}  // namespace

void register_linear_algebra_mappings(std::vector<AtenMapping>& out) {
  add_mapping(out, {"linear"}, {"linear"}, map_linear);
  add_mapping(out, {"matmul", "mm"}, {"matmul"}, map_matmul);
  add_mapping(out, {"bmm"}, {"bmm"}, map_matmul);
  add_mapping(out, {"addmm"}, {"transpose", "linear", "matmul", "add"}, map_addmm);
  add_mapping(out, {"outer", "ger"}, {"unsqueeze", "mul"}, map_outer);
  add_mapping(out, {"_grouped_mm", "transformers::grouped_mm_fallback"}, {"grouped_mm"}, map_grouped_mm);
}

}  // namespace twin::capture
