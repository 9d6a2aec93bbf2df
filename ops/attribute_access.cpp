// Reading completed attributes (op_registration.h's attr_* accessors) and numbers spelled as
// strings (op_spec.h's attribute_double). Stateless, so both the shape rules in the main image
// and the tensor backend module (ops/torch/) link it: the module needs these and nothing of
// the registry.
#include "ops/op_registration.h"

#include <limits>

namespace twin::ops {

namespace detail {

bool has_attr(const Attributes& a, const std::string& name) {
  auto it = a.find(name);
  return it != a.end() && !std::holds_alternative<std::monostate>(it->second.value);
}

namespace {
const AttrValue& get(const Attributes& a, const std::string& name) {
  auto it = a.find(name);
  if (it == a.end()) throw ShapeError("missing attribute " + name);
  return it->second;
}
}  // namespace

std::int64_t attr_int(const Attributes& a, const std::string& name) {
  const AttrValue& v = get(a, name);
  if (!v.is_int()) throw ShapeError("attribute " + name + " must be an integer, not " + v.to_string());
  return v.as_int();
}
std::optional<std::int64_t> attr_opt_int(const Attributes& a, const std::string& name) {
  if (!has_attr(a, name)) return std::nullopt;
  return attr_int(a, name);
}
Shape attr_ints(const Attributes& a, const std::string& name) {
  const AttrValue& v = get(a, name);
  if (auto* ints = std::get_if<std::vector<std::int64_t>>(&v.value)) return *ints;
  if (v.is_int()) return {v.as_int()};
  throw ShapeError("attribute " + name + " must be a list of integers, not " + v.to_string());
}
std::optional<Shape> attr_opt_ints(const Attributes& a, const std::string& name) {
  if (!has_attr(a, name)) return std::nullopt;
  return attr_ints(a, name);
}
bool attr_bool(const Attributes& a, const std::string& name) {
  const AttrValue& v = get(a, name);
  if (auto* b = std::get_if<bool>(&v.value)) return *b;
  throw ShapeError("attribute " + name + " must be a bool, not " + v.to_string());
}
std::string attr_string(const Attributes& a, const std::string& name) {
  const AttrValue& v = get(a, name);
  if (auto* s = std::get_if<std::string>(&v.value)) return *s;
  throw ShapeError("attribute " + name + " must be a string, not " + v.to_string());
}
DType attr_dtype(const Attributes& a, const std::string& name) {
  const AttrValue& v = get(a, name);
  if (auto* d = std::get_if<DType>(&v.value)) return *d;
  throw ShapeError("attribute " + name + " must be a dtype, not " + v.to_string());
}
std::optional<DType> attr_opt_dtype(const Attributes& a, const std::string& name) {
  if (!has_attr(a, name)) return std::nullopt;
  return attr_dtype(a, name);
}
double attr_double(const Attributes& a, const std::string& name) { return attribute_double(get(a, name)); }

}  // namespace detail

double attribute_double(const AttrValue& value) {
  if (auto* s = std::get_if<std::string>(&value.value)) {
    if (*s == "inf" || *s == "+inf") return std::numeric_limits<double>::infinity();
    if (*s == "-inf") return -std::numeric_limits<double>::infinity();
    if (*s == "nan") return std::numeric_limits<double>::quiet_NaN();
    throw ShapeError("not a number: \"" + *s + "\"");
  }
  try {
    return value.as_double();
  } catch (const std::invalid_argument& e) {
    throw ShapeError(e.what());
  }
}

}  // namespace twin::ops
