// ATen's elementwise math onto Twin's: the unary functions, gelu, the binary arithmetic with
// its aliases (multiply, divide, true_divide, subtract) and add/sub's `alpha`, comparisons
// (`x <= y` is le, with the `greater`/`less` aliases), logic on masks (`a & b` on bools is
// logical_and), clamp, and floor division (div with rounding_mode="floor" included).
#include "capture/aten/mapping_context.h"

#include <map>

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
    if (auto r = c.arg(2, "rounding_mode")) {
      if (r->is_string() && r->string() == "floor") name = "floor_divide";
      else throw Unmappable{"div with rounding_mode " + r->to_string()};
    }
  c.step(name, {c.operand(0, "self"), c.operand(1, "other")});
}

// eq, ne, lt, le, gt, ge and their long names; either side may be a number.
void map_comparison(MappingContext& c) {
  static const std::map<std::string, std::string, std::less<>> long_names = {
      {"not_equal", "ne"}, {"greater", "gt"}, {"greater_equal", "ge"}, {"less", "lt"}, {"less_equal", "le"}};
  auto it = long_names.find(c.op());
  c.step(it == long_names.end() ? c.op() : it->second, {c.operand(0, "self"), c.operand(1, "other")});
}

// `a & b`, `a | b`, `~a` on bool masks are logical ops; on integers they are bitwise, which
// Twin does not have.
void map_logical(MappingContext& c) {
  const std::string& op = c.op();
  bool bitwise = op.find("bitwise") != std::string::npos || op.rfind("__", 0) == 0;
  std::vector<GraphOperand> operands{c.operand(0, "self")};
  if (op.find("not") == std::string::npos) operands.push_back(c.operand(1, "other"));
  if (bitwise)
    for (const auto& o : operands)
      if (o.kind != GraphOperand::Kind::Value || c.type_of(o).dtype != ops::DType::Bool)
        throw Unmappable{"bitwise logic on integers"};
  std::string name = op.find("and") != std::string::npos ? "logical_and" : op.find("or") != std::string::npos ? "logical_or" : "logical_not";
  c.step(name, operands);
}

// clamp(x, min, max), clamp_min, clamp_max, clip: number bounds.
void map_clamp(MappingContext& c) {
  const std::string& op = c.op();
  ops::Attributes at;
  auto bound = [&](std::size_t i, const char* name) {
    const AtenValue* v = c.arg(i, name);
    if (!v) return;
    if (v->is_tensor()) throw Unmappable{"clamp with a tensor bound"};
    if (!is_number(v)) throw Unmappable{std::string("clamp's ") + name + " is not a number"};
    at[name] = number_attr(*v);
  };
  if (op == "clamp_min") bound(1, "min");
  else if (op == "clamp_max") {
    const AtenValue* v = c.arg(1, "max");
    if (!is_number(v)) throw Unmappable{"clamp_max's bound is not a number"};
    at["max"] = number_attr(*v);
  } else {
    bound(1, "min");
    bound(2, "max");
  }
  c.step("clamp", {c.tensor()}, at);
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
  for (const char* name : {"neg", "sqrt", "rsqrt", "exp", "log", "tanh", "sigmoid", "sin", "cos", "silu", "relu", "erf",
                           "abs", "reciprocal", "square"})
    add_mapping(out, {name}, {name}, map_unary);
  add_mapping(out, {"gelu"}, {"gelu"}, map_gelu);
  add_mapping(out, {"mul", "multiply"}, {"mul"}, map_product);
  add_mapping(out, {"div", "divide", "true_divide"}, {"div", "floor_divide"}, map_product);
  add_mapping(out, {"floor_divide"}, {"floor_divide"}, map_product);
  for (const char* name : {"eq", "ne", "lt", "le", "gt", "ge"}) add_mapping(out, {name}, {name}, map_comparison);
  add_mapping(out, {"not_equal"}, {"ne"}, map_comparison);
  add_mapping(out, {"greater"}, {"gt"}, map_comparison);
  add_mapping(out, {"greater_equal"}, {"ge"}, map_comparison);
  add_mapping(out, {"less"}, {"lt"}, map_comparison);
  add_mapping(out, {"less_equal"}, {"le"}, map_comparison);
  add_mapping(out, {"logical_and", "bitwise_and", "__and__"}, {"logical_and"}, map_logical);
  add_mapping(out, {"logical_or", "bitwise_or", "__or__"}, {"logical_or"}, map_logical);
  add_mapping(out, {"logical_not", "bitwise_not"}, {"logical_not"}, map_logical);
  add_mapping(out, {"clamp", "clamp_min", "clamp_max", "clip"}, {"clamp"}, map_clamp);
  add_mapping(out, {"pow"}, {"pow"}, map_product);
  add_mapping(out, {"add"}, {"add", "mul"}, map_sum);
  add_mapping(out, {"sub", "subtract", "rsub"}, {"sub", "mul"}, map_sum);
}

}  // namespace twin::capture
