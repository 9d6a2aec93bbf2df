// Elementwise ops: binary ops broadcast and promote as PyTorch does (python scalars do not
// promote within their category); unary floating ops turn integer inputs into f32.
#include "ops/op_registration.h"

namespace twin::ops::detail {

namespace {

using Kind = OperandDomain::Kind;

enum class Unary { Keep, Float, FloatOnly, NoBool, BoolToLong };

OpSpec binary(const std::string& name, const std::string& second, std::vector<OperandDomain> domains = {}) {
  OpSpec s;
  s.name = name;
  s.operands = {operand("input"), operand(second)};
  s.domains = std::move(domains);
  s.elementwise = true;
  s.infer = [name](const Types& in, const Attributes&) -> Types {
    const TensorType &a = in[0], &b = in[1];
    TensorType out;
    out.shape = broadcast_shapes(a.shape, b.shape);
    out.dtype = result_type(in);
    out.python_scalar = a.python_scalar && b.python_scalar;
    if (name == "sub" && (a.dtype == DType::Bool || b.dtype == DType::Bool))
      fail(name, "subtraction with a bool tensor is not supported");
    if (name == "div" && !is_floating(out.dtype)) out.dtype = DType::F32;
    return {out};
  };
  return s;
}

OpSpec unary(const std::string& name, Unary rule, Kind domain = Kind::Any, std::vector<AttrSpec> attrs = {}) {
  OpSpec s;
  s.name = name;
  s.operands = {operand("input")};
  s.attributes = std::move(attrs);
  if (domain != Kind::Any) s.domains = {OperandDomain{domain}};
  s.elementwise = true;
  s.infer = [name, rule](const Types& in, const Attributes& attrs) -> Types {
    TensorType out = in[0];
    switch (rule) {
      case Unary::Keep:
        break;
      case Unary::Float:
        if (!is_floating(out.dtype)) out.dtype = DType::F32;
        break;
      case Unary::FloatOnly:
        if (!is_floating(out.dtype))
          fail(name, "not implemented for " + std::string(dtype_name(out.dtype)) + " (needs a floating dtype)");
        break;
      case Unary::NoBool:
        if (out.dtype == DType::Bool) fail(name, "not supported on a bool tensor");
        break;
      case Unary::BoolToLong:  // square(bool) is pow(bool, 2): an integer
        if (out.dtype == DType::Bool) out.dtype = DType::I64;
        break;
    }
    if (name == "gelu") {
      std::string approximate = attr_string(attrs, "approximate");
      if (approximate != "none" && approximate != "tanh")
        fail(name, "approximate must be \"none\" or \"tanh\", not \"" + approximate + "\"");
    }
    return {out};
  };
  return s;
}

}  // namespace

// `confusable`: the ops a port writes by mistake in the op's place (bench/mutants).
OpSpec with(OpSpec spec, std::vector<std::string> confusable, bool commutative = false) {
  spec.confusable = std::move(confusable);
  spec.commutative = commutative;
  return spec;
}

void register_elementwise_ops(std::vector<OpSpec>& out) {
  out.push_back(with(binary("add", "other"), {"sub", "mul"}, true));
  out.push_back(with(binary("sub", "other"), {"add"}));
  out.push_back(with(binary("mul", "other"), {"div", "add"}, true));
  out.push_back(with(binary("div", "other", {OperandDomain{}, OperandDomain{Kind::NonZero}}), {"mul"}));
  out.push_back(with(binary("pow", "exponent", {OperandDomain{Kind::Positive}, OperandDomain{}}), {"mul"}));

  out.push_back(with(unary("neg", Unary::NoBool), {"relu"}));
  out.push_back(with(unary("sqrt", Unary::Float, Kind::Positive), {"rsqrt"}));
  out.push_back(with(unary("rsqrt", Unary::Float, Kind::Positive), {"sqrt"}));
  out.push_back(with(unary("exp", Unary::Float), {"log", "sigmoid"}));
  out.push_back(with(unary("log", Unary::Float, Kind::Positive), {"exp"}));
  out.push_back(with(unary("tanh", Unary::Float), {"sigmoid"}));
  out.push_back(with(unary("sigmoid", Unary::Float), {"tanh", "exp"}));
  out.push_back(with(unary("sin", Unary::Float), {"cos"}));
  out.push_back(with(unary("cos", Unary::Float), {"sin"}));
  out.push_back(with(unary("silu", Unary::FloatOnly), {"gelu", "sigmoid"}));
  out.push_back(with(unary("gelu", Unary::FloatOnly, Kind::Any,
                           {with_default("approximate", AttrKind::String, string_value("none"))}),
                     {"silu"}));
  out.push_back(with(unary("relu", Unary::NoBool), {"silu", "neg"}));
  out.push_back(unary("erf", Unary::Float));
  out.push_back(unary("abs", Unary::NoBool));
  out.push_back(unary("reciprocal", Unary::Float, Kind::NonZero));
  out.push_back(unary("square", Unary::BoolToLong));
}

}  // namespace twin::ops::detail
