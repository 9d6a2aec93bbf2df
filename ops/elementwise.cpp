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
          fail(name, "does not accept " + std::string(dtype_name(out.dtype)) + " (it needs a floating dtype)");
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

// eq ne lt le gt ge: broadcast, compare in the promoted type, give bool.
OpSpec comparison(const std::string& name) {
  OpSpec s = binary(name, "other");
  s.infer = [](const Types& in, const Attributes&) -> Types {
    TensorType out;
    out.shape = broadcast_shapes(in[0].shape, in[1].shape);
    out.dtype = DType::Bool;
    out.python_scalar = in[0].python_scalar && in[1].python_scalar;
    return {out};
  };
  return s;
}

// logical_and logical_or: nonzero as true; bool out.
OpSpec logical(const std::string& name) {
  OpSpec s = comparison(name);
  s.domains = {OperandDomain{Kind::BoolMask}, OperandDomain{Kind::BoolMask}};
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

  // Comparisons and logic: bool results (masks).
  const std::pair<const char*, std::vector<std::string>> comparisons[] = {
      {"eq", {"ne"}}, {"ne", {"eq"}}, {"lt", {"le", "gt"}}, {"le", {"lt", "ge"}}, {"gt", {"ge", "lt"}}, {"ge", {"gt", "le"}}};
  for (const auto& [name, confused] : comparisons) out.push_back(with(comparison(name), confused, std::string(name) == "eq" || std::string(name) == "ne"));
  out.push_back(with(logical("logical_and"), {"logical_or"}, true));
  out.push_back(with(logical("logical_or"), {"logical_and"}, true));
  {
    OpSpec s = unary("logical_not", Unary::Keep, Kind::BoolMask);
    auto keep = s.infer;
    s.infer = [keep](const Types& in, const Attributes& a) -> Types {
      Types out = keep(in, a);
      out[0].dtype = DType::Bool;
      return out;
    };
    out.push_back(std::move(s));
  }
  // clamp(x, min, max): either bound may be none, not both. An integer tensor clamped by a
  // fractional bound becomes f32 (PyTorch's result_type over the tensor and the bounds).
  {
    OpSpec s = unary("clamp", Unary::NoBool, Kind::Any,
                     {optional_attr("min", AttrKind::Float), optional_attr("max", AttrKind::Float)});
    auto keep = s.infer;
    s.infer = [keep](const Types& in, const Attributes& a) -> Types {
      Types out = keep(in, a);
      if (!has_attr(a, "min") && !has_attr(a, "max")) fail("clamp", "at least one of 'min' or 'max' must not be none");
      for (const char* bound : {"min", "max"})
        if (has_attr(a, bound) && !a.at(bound).is_int() && !is_floating(out[0].dtype)) out[0].dtype = DType::F32;
      return out;
    };
    s.aliases = {"clip"};
    out.push_back(with(std::move(s), {"relu"}));
  }
  // floor_divide(a, b): floor(a / b), in the promoted type (integers stay integers).
  {
    OpSpec s = binary("floor_divide", "other", {OperandDomain{}, OperandDomain{Kind::NonZero}});
    auto keep = s.infer;
    s.infer = [keep](const Types& in, const Attributes& a) -> Types {
      Types out = keep(in, a);
      if (out[0].dtype == DType::Bool) fail("floor_divide", "not supported on bool tensors");
      return out;
    };
    out.push_back(with(std::move(s), {"div"}));
  }
}

}  // namespace twin::ops::detail
