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

void register_elementwise_ops(std::vector<OpSpec>& out) {
  out.push_back(binary("add", "other"));
  out.push_back(binary("sub", "other"));
  out.push_back(binary("mul", "other"));
  out.push_back(binary("div", "other", {OperandDomain{}, OperandDomain{Kind::NonZero}}));
  out.push_back(binary("pow", "exponent", {OperandDomain{Kind::Positive}, OperandDomain{}}));

  out.push_back(unary("neg", Unary::NoBool));
  out.push_back(unary("sqrt", Unary::Float, Kind::Positive));
  out.push_back(unary("rsqrt", Unary::Float, Kind::Positive));
  out.push_back(unary("exp", Unary::Float));
  out.push_back(unary("log", Unary::Float, Kind::Positive));
  out.push_back(unary("tanh", Unary::Float));
  out.push_back(unary("sigmoid", Unary::Float));
  out.push_back(unary("sin", Unary::Float));
  out.push_back(unary("cos", Unary::Float));
  out.push_back(unary("silu", Unary::FloatOnly));
  out.push_back(unary("gelu", Unary::FloatOnly, Kind::Any,
                      {with_default("approximate", AttrKind::String, string_value("none"))}));
  out.push_back(unary("relu", Unary::NoBool));
  out.push_back(unary("erf", Unary::Float));
  out.push_back(unary("abs", Unary::NoBool));
  out.push_back(unary("reciprocal", Unary::Float, Kind::NonZero));
  out.push_back(unary("square", Unary::BoolToLong));
}

}  // namespace twin::ops::detail
