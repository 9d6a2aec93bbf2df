// The op registry: every concept file's specs in one table, plus the helpers shared by the
// shape rules (broadcasting, type promotion, dim wrapping). Attribute access is in
// attribute_access.cpp, which the tensor backend module shares; this table is not.
#include "ops/op_registration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace twin::ops {

namespace detail {

void fail(const std::string& op, const std::string& why) { throw ShapeError(op + ": " + why); }

std::string shape_string(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::int64_t wrap_dim(const std::string& op, std::int64_t dim, std::int64_t rank) {
  std::int64_t r = rank <= 0 ? 1 : rank;
  if (dim < -r || dim >= r)
    fail(op, "dim " + std::to_string(dim) + " out of range for rank " + std::to_string(rank) + " (expected [" +
                 std::to_string(-r) + ", " + std::to_string(r - 1) + "])");
  return dim < 0 ? dim + r : dim;
}

TensorType tensor(DType dtype, Shape shape) {
  TensorType t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  return t;
}

namespace {

// `dim` counted from the end of a rank-`rank` tensor: -1 is the last dim.
std::int64_t from_end(const std::string& op, std::int64_t dim, std::int64_t rank) {
  return wrap_dim(op, dim, rank) - std::max<std::int64_t>(rank, 1);
}

std::int64_t rank_for(const Types& operands, const TensorType& result, bool of_result) {
  if (of_result) return result.rank();
  return operands.empty() ? result.rank() : operands[0].rank();
}

}  // namespace

CanonicalizeFn dims_from_end(std::vector<std::string> names, bool of_result) {
  return [names = std::move(names), of_result](const Types& operands, const TensorType& result, Attributes& a) {
    std::int64_t rank = rank_for(operands, result, of_result);
    for (const auto& name : names)
      if (has_attr(a, name)) a[name] = AttrValue::of_int(from_end(name, attr_int(a, name), rank));
  };
}

CanonicalizeFn sorted_dims_from_end(std::string name) {
  return [name = std::move(name)](const Types& operands, const TensorType& result, Attributes& a) {
    if (!has_attr(a, name)) return;
    Shape dims = attr_ints(a, name);
    for (auto& d : dims) d = from_end(name, d, rank_for(operands, result, false));
    std::sort(dims.begin(), dims.end());
    a[name] = AttrValue{dims};
  };
}

CanonicalizeFn ordered_dims_from_end(std::string first, std::string second) {
  return [first = std::move(first), second = std::move(second)](const Types& operands, const TensorType& result,
                                                                 Attributes& a) {
    std::int64_t rank = rank_for(operands, result, false);
    std::int64_t d0 = from_end(first, attr_int(a, first), rank), d1 = from_end(second, attr_int(a, second), rank);
    a[first] = AttrValue::of_int(std::min(d0, d1));
    a[second] = AttrValue::of_int(std::max(d0, d1));
  };
}

CanonicalizeFn shape_from_result(std::string name) {
  return [name = std::move(name)](const Types&, const TensorType& result, Attributes& a) { a[name] = AttrValue{result.shape}; };
}

CanonicalizeFn redundant_dtype(InferFn infer) {
  return [infer = std::move(infer)](const Types& operands, const TensorType& result, Attributes& a) {
    if (!has_attr(a, "dtype")) return;
    Attributes without = a;
    without["dtype"] = AttrValue{};
    try {
      Types out = infer(operands, without);
      if (out.size() == 1 && out[0].dtype == result.dtype) a = std::move(without);
    } catch (const ShapeError&) {
    }
  };
}

CanonicalizeFn all_of(std::vector<CanonicalizeFn> pieces) {
  return [pieces = std::move(pieces)](const Types& operands, const TensorType& result, Attributes& a) {
    for (const auto& piece : pieces) piece(operands, result, a);
  };
}

// A python number is never returned as the op's result: the op makes a tensor of it.
bool tensor_operand(const Types& operands) { return !operands.empty() && !operands[0].python_scalar; }

IdentityFn same_shape() {
  return [](const Types& operands, const TensorType& result, const Attributes&) {
    return tensor_operand(operands) && operands[0].shape == result.shape && operands[0].dtype == result.dtype;
  };
}

IdentityFn same_dtype() {
  return [](const Types& operands, const TensorType& result, const Attributes&) {
    return tensor_operand(operands) && operands[0].dtype == result.dtype;
  };
}

IdentityFn always() {
  return [](const Types&, const TensorType&, const Attributes&) { return true; };
}

IdentityFn equal_attributes(std::string first, std::string second) {
  return [first = std::move(first), second = std::move(second)](const Types& operands, const TensorType&,
                                                                 const Attributes& a) {
    return tensor_operand(operands) && attr_int(a, first) == attr_int(a, second);
  };
}

OperandSpec operand(std::string name, bool optional) { return OperandSpec{std::move(name), false, optional}; }
OperandSpec list_operand(std::string name) { return OperandSpec{std::move(name), true, false}; }
AttrSpec required(std::string name, AttrKind kind) { return AttrSpec{std::move(name), kind, std::nullopt}; }
AttrSpec with_default(std::string name, AttrKind kind, AttrValue value) {
  return AttrSpec{std::move(name), kind, std::move(value)};
}
AttrSpec optional_attr(std::string name, AttrKind kind) { return AttrSpec{std::move(name), kind, AttrValue{}}; }
AttrValue int_value(std::int64_t v) { return AttrValue::of_int(v); }
AttrValue bool_value(bool b) { return AttrValue{b}; }
AttrValue string_value(std::string s) { return AttrValue{std::move(s)}; }

}  // namespace detail

using namespace detail;

const char* attr_kind_name(AttrKind kind) {
  switch (kind) {
    case AttrKind::Int: return "int";
    case AttrKind::Float: return "float";
    case AttrKind::Bool: return "bool";
    case AttrKind::String: return "str";
    case AttrKind::DType: return "dtype";
    case AttrKind::Ints: return "ints";
  }
  return "?";
}

bool integral_number(const Rational& value) {
  if (!is_integer(value)) return false;
  static const Rational lo(std::numeric_limits<std::int64_t>::min()), hi(std::numeric_limits<std::int64_t>::max());
  return value >= lo && value <= hi;
}

TensorType python_scalar_type(bool integral) {
  TensorType t;
  t.dtype = integral ? DType::I64 : DType::F32;
  t.python_scalar = true;
  return t;
}

namespace {

// c10's combine_categories over optional dtypes (nullopt: Undefined).
std::optional<DType> combine_categories(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return lower;
  if (!lower) return higher;
  if (is_floating(*higher)) return higher;
  if (*higher == DType::Bool || is_floating(*lower)) return promote(*higher, *lower);
  return higher;
}

}  // namespace

DType result_type(const std::vector<TensorType>& operands) {
  std::optional<DType> dim_result, zero_result, wrapped_result;
  auto update = [](std::optional<DType>& slot, DType d) { slot = slot ? promote(*slot, d) : d; };
  for (const TensorType& t : operands) {
    if (t.python_scalar) {
      // A wrapped number counts as the default dtype of its category.
      DType d = is_floating(t.dtype) ? DType::F32 : t.dtype == DType::Bool ? DType::Bool : DType::I64;
      update(wrapped_result, d);
    } else if (t.shape.empty()) {
      update(zero_result, t.dtype);
    } else {
      update(dim_result, t.dtype);
    }
  }
  auto r = combine_categories(dim_result, combine_categories(zero_result, wrapped_result));
  return r.value_or(DType::F32);
}

std::vector<std::int64_t> broadcast_shapes(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  std::size_t n = std::max(a.size(), b.size());
  std::vector<std::int64_t> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    std::int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (x == y || y == 1) out[i] = x;
    else if (x == 1) out[i] = y;
    else
      throw ShapeError("shapes " + shape_string(a) + " and " + shape_string(b) + " do not broadcast (dim " +
                       std::to_string(i) + ": " + std::to_string(x) + " vs " + std::to_string(y) + ")");
  }
  return out;
}

namespace {

bool kind_matches(AttrKind kind, AttrValue& v, const std::string& op, const std::string& name) {
  auto bad = [&](const char* want) -> bool {
    throw ShapeError(op + ": attribute " + name + " must be " + want + ", not " + v.to_string());
  };
  if (std::holds_alternative<std::monostate>(v.value)) return true;  // checked by caller
  switch (kind) {
    case AttrKind::Int:
      if (!v.is_int()) return bad("an integer");
      return true;
    case AttrKind::Float:
      if (std::holds_alternative<Rational>(v.value)) return true;
      if (auto* b = std::get_if<bool>(&v.value)) {
        v = AttrValue{Rational(*b ? 1 : 0)};
        return true;
      }
      if (std::holds_alternative<std::string>(v.value)) {
        attribute_double(v);  // throws on other strings
        return true;
      }
      return bad("a number");
    case AttrKind::Bool:
      if (std::holds_alternative<bool>(v.value)) return true;
      return bad("a bool");
    case AttrKind::String:
      if (std::holds_alternative<std::string>(v.value)) return true;
      return bad("a string");
    case AttrKind::DType:
      if (std::holds_alternative<DType>(v.value)) return true;
      if (auto* s = std::get_if<std::string>(&v.value)) {
        if (auto d = parse_dtype(*s)) {
          v = AttrValue{*d};
          return true;
        }
      }
      return bad("a dtype");
    case AttrKind::Ints:
      if (std::holds_alternative<std::vector<std::int64_t>>(v.value)) return true;
      if (v.is_int()) {
        v = AttrValue{std::vector<std::int64_t>{v.as_int()}};
        return true;
      }
      return bad("a list of integers");
  }
  return false;
}

std::vector<OpSpec> build_registry() {
  std::vector<OpSpec> ops;
  auto add_family = [&ops](OpFamily family, void (*register_family)(std::vector<OpSpec>&)) {
    std::size_t first = ops.size();
    register_family(ops);
    for (std::size_t i = first; i < ops.size(); ++i) ops[i].family = family;
  };
  add_family(OpFamily::Elementwise, register_elementwise_ops);
  add_family(OpFamily::Reduction, register_reduction_ops);
  add_family(OpFamily::LinearAlgebra, register_linear_algebra_ops);
  add_family(OpFamily::Layout, register_layout_ops);
  add_family(OpFamily::Other, register_other_ops);
  // Wrap every shape rule: check the operand count and complete the attributes first, so
  // the rules themselves can rely on every attribute being present and of its kind.
  for (OpSpec& spec : ops) {
    spec.per_element = spec.per_element || spec.elementwise;
    spec.copies_values = spec.copies_values || spec.rearranges;
    auto raw = std::move(spec.infer);
    OpSpec copy = spec;  // without infer: the signature only
    spec.infer = [raw = std::move(raw), copy = std::move(copy)](const std::vector<TensorType>& operands,
                                                                const Attributes& attributes) {
      bool has_list = false;
      std::size_t required_count = 0;
      for (const auto& o : copy.operands) {
        has_list |= o.is_list;
        if (!o.optional) ++required_count;
      }
      if (!has_list && (operands.size() < required_count || operands.size() > copy.operands.size()))
        fail(copy.name, "expects " +
                            (required_count == copy.operands.size()
                                 ? std::to_string(required_count)
                                 : std::to_string(required_count) + " to " + std::to_string(copy.operands.size())) +
                            " operands, got " + std::to_string(operands.size()));
      return raw(operands, complete_attributes(copy, attributes));
    };
  }
  return ops;
}

}  // namespace

const std::vector<OpSpec>& all_ops() {
  static const std::vector<OpSpec> ops = build_registry();
  return ops;
}

const OpSpec* find_op(std::string_view name) {
  static const std::map<std::string, const OpSpec*, std::less<>> index = [] {
    std::map<std::string, const OpSpec*, std::less<>> m;
    for (const OpSpec& spec : all_ops()) {
      m.emplace(spec.name, &spec);
      for (const auto& alias : spec.aliases) m.emplace(alias, &spec);
    }
    return m;
  }();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

const char* family_name(OpFamily family) {
  switch (family) {
    case OpFamily::Elementwise: return "elementwise";
    case OpFamily::Reduction: return "reduction";
    case OpFamily::LinearAlgebra: return "linear algebra";
    case OpFamily::Layout: return "layout";
    case OpFamily::Other: return "other";
  }
  return "other";
}

const char* validation_name(Validation validation) {
  return validation == Validation::Symbolic ? "symbolic" : "random only";
}

Attributes complete_attributes(const OpSpec& spec, const Attributes& given) {
  Attributes out;
  for (const auto& [name, value] : given) {
    bool known = false;
    for (const auto& a : spec.attributes) known |= a.name == name;
    if (!known) {
      std::string names;
      for (const auto& a : spec.attributes) names += (names.empty() ? "" : ", ") + a.name;
      throw ShapeError(spec.name + ": unknown attribute " + name + " (expected: " + (names.empty() ? "none" : names) +
                       ")");
    }
  }
  for (const auto& a : spec.attributes) {
    auto it = given.find(a.name);
    AttrValue v;
    if (it != given.end()) {
      v = it->second;
    } else if (a.default_value) {
      v = *a.default_value;
    } else {
      throw ShapeError(spec.name + ": missing attribute " + a.name);
    }
    if (std::holds_alternative<std::monostate>(v.value)) {
      if (!(a.default_value && std::holds_alternative<std::monostate>(a.default_value->value)))
        throw ShapeError(spec.name + ": attribute " + a.name + " cannot be none");
    } else {
      kind_matches(a.kind, v, spec.name, a.name);
    }
    out.emplace(a.name, std::move(v));
  }
  return out;
}

std::int64_t index_bound(const OpSpec& spec, std::size_t operand, const std::vector<TensorType>& operands,
                         const Attributes& attributes) {
  if (operand >= spec.domains.size() || spec.domains[operand].kind != OperandDomain::Kind::Index)
    throw ShapeError(spec.name + ": operand " + std::to_string(operand) + " has no index domain");
  const OperandDomain& d = spec.domains[operand];
  if (d.bound_operand < 0 || static_cast<std::size_t>(d.bound_operand) >= operands.size())
    throw ShapeError(spec.name + ": index bound operand missing");
  const TensorType& source = operands[d.bound_operand];
  std::int64_t dim = d.bound_dim;
  if (!d.bound_dim_attr.empty()) dim = attr_int(complete_attributes(spec, attributes), d.bound_dim_attr);
  if (source.rank() == 0) return 1;  // a scalar indexed along dim 0 / -1 has one element
  dim = wrap_dim(spec.name, dim, source.rank());
  return source.shape[dim];
}

}  // namespace twin::ops
