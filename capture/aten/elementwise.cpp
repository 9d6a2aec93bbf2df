// ATen's elementwise math onto Twin's: the unary functions, gelu, and the binary arithmetic
// with its aliases (multiply, divide, true_divide, subtract) and add/sub's `alpha`.
#include "capture/aten/mapping_context.h"

namespace twin::capture {

namespace {

// neg(x), exp(x), silu(x), ...: the op of the same name.
void map_unary(MappingContext& c) { c.step(c.op(), {c.tensor()}); }

void map_gelu(MappingContext& c) {
  ops::Attributes at;
  if (auto a = c.arg(1, "approximate"); a && a->is_string()) at["approximate"] = ops::AttrValue{a->string()};
  c.step("gelu", {c.tensor()}, at);
}

// mul, div, pow and their aliases; either side may be a Python number.
void map_product(MappingContext& c) {
  const std::string& op = c.op();
  std::string name = op == "true_divide" || op == "divide" ? "div" : op == "multiply" ? "mul" : op;
  if (name == "div")
    if (auto r = c.arg(2, "rounding_mode")) throw Unmappable{"div with rounding_mode " + r->to_string()};
  c.step(name, {c.operand(0, "self"), c.operand(1, "other")});
}

// self + alpha * other (rsub: other - alpha * self). PyTorch fuses the product into the
// kernel; Twin multiplies first, and only when alpha is not 1.
void map_sum(MappingContext& c) {
  const std::string& op = c.op();
  GraphOperand lhs = c.operand(0, "self"), rhs = c.operand(1, "other");
  if (op == "rsub") std::swap(lhs, rhs);
  const AtenValue* alpha = c.arg(2, "alpha");
  if (alpha && !(is_number(alpha) && alpha->number() == 1.0)) {
    GraphOperand& scaled = op == "rsub" ? lhs : rhs;
    int s = c.step("mul", {scaled, c.operand_of(alpha, "alpha")});
    scaled = step_result(s);
  }
  c.step(op == "add" ? "add" : "sub", {lhs, rhs});
}

}  // namespace

void register_elementwise_mappings(std::vector<AtenMapping>& out) {
  for (const char* name : {"neg", "sqrt", "rsqrt", "exp", "log", "tanh", "sigmoid", "sin", "cos", "silu", "relu"})
    add_mapping(out, {name}, {name}, map_unary);
  add_mapping(out, {"gelu"}, {"gelu"}, map_gelu);
  add_mapping(out, {"mul", "multiply"}, {"mul"}, map_product);
  add_mapping(out, {"div", "divide", "true_divide"}, {"div"}, map_product);
  add_mapping(out, {"pow"}, {"pow"}, map_product);
  add_mapping(out, {"add"}, {"add", "mul"}, map_sum);
  add_mapping(out, {"sub", "subtract", "rsub"}, {"sub", "mul"}, map_sum);
}

}  // namespace twin::capture
