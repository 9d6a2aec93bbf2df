#include "verify/z3/op_encoding.h"

#include "ops/op_spec.h"

#include <stdexcept>

namespace twin::verify::encoding {

// ---- one call --------------------------------------------------------------------------------

z3::expr EncodeCall::div(const z3::expr& a, const z3::expr& b) {
  if (auto v = numeral_value(b); !(v && *v != 0)) require(b != 0);
  return a / b;
}

z3::expr EncodeCall::rsqrt(const z3::expr& x) {
  require(x > 0);
  return 1 / sqrt_of(x);
}

void EncodeCall::need(std::size_t lo, std::size_t hi) {
  if (in.size() < lo || in.size() > hi)
    shape_error("expects " + std::to_string(lo) + (hi != lo ? ".." + std::to_string(hi) : "") +
                " tensor operands, got " + std::to_string(in.size()));
}

void EncodeCall::shape_error(const std::string& why) const { encoding::shape_error(op, why); }

std::int64_t EncodeCall::norm_dim(std::int64_t dim, std::int64_t rank) const { return encoding::norm_dim(op, dim, rank); }

const ops::AttrValue* EncodeCall::find_attr(const char* name) const {
  if (auto it = attrs.find(name); it != attrs.end() && !std::holds_alternative<std::monostate>(it->second.value))
    return &it->second;
  return nullptr;
}

std::optional<std::int64_t> EncodeCall::opt_int(const char* name) const {
  const ops::AttrValue* v = find_attr(name);
  if (!v) return std::nullopt;
  if (auto* list = std::get_if<std::vector<std::int64_t>>(&v->value)) {
    if (list->size() == 1) return (*list)[0];
  }
  if (!v->is_int()) throw NotEncodable(op, "attribute " + std::string(name) + " is not an integer");
  return v->as_int();
}

std::int64_t EncodeCall::get_int(const char* name, std::optional<std::int64_t> fallback) const {
  if (auto v = opt_int(name)) return *v;
  if (fallback) return *fallback;
  throw NotEncodable(op, "missing attribute " + std::string(name));
}

std::optional<std::vector<std::int64_t>> EncodeCall::opt_ints(const char* name) const {
  const ops::AttrValue* v = find_attr(name);
  if (!v) return std::nullopt;
  if (auto* list = std::get_if<std::vector<std::int64_t>>(&v->value)) return *list;
  if (v->is_int()) return std::vector<std::int64_t>{v->as_int()};
  throw NotEncodable(op, "attribute " + std::string(name) + " is not a list of integers");
}

bool EncodeCall::get_bool(const char* name, bool fallback) const {
  const ops::AttrValue* v = find_attr(name);
  if (!v) return fallback;
  if (auto* b = std::get_if<bool>(&v->value)) return *b;
  if (v->is_int()) return v->as_int() != 0;
  return fallback;
}

std::string EncodeCall::get_string(const char* name, std::string fallback) const {
  const ops::AttrValue* v = find_attr(name);
  if (!v) return fallback;
  if (auto* s = std::get_if<std::string>(&v->value)) return *s;
  return fallback;
}

std::optional<Rational> EncodeCall::opt_number(const char* name) const {
  const ops::AttrValue* v = find_attr(name);
  if (!v) return std::nullopt;
  if (auto* r = std::get_if<Rational>(&v->value)) return *r;
  if (auto* b = std::get_if<bool>(&v->value)) return Rational(*b ? 1 : 0);
  return std::nullopt;
}

// ---- the table -------------------------------------------------------------------------------

void EncodingTable::add(std::string_view registered_name, OpEncoding encoding) {
  const ops::OpSpec* spec = ops::find_op(registered_name);
  std::string name(registered_name);
  if (!spec)
    throw std::logic_error("a Z3 encoding is registered for `" + name + "`, which is not a registered op (ops/op_spec.h)");
  if (spec->name != registered_name)
    throw std::logic_error("a Z3 encoding is registered for `" + name + "`, an alias of `" + spec->name +
                           "`: encodings are keyed by the registered name");
  if (!encoding) throw std::logic_error("the Z3 encoding registered for `" + name + "` is null");
  if (!entries_.emplace(name, encoding).second)
    throw std::logic_error("a Z3 encoding is registered twice for `" + name + "`");
}

OpEncoding EncodingTable::find(std::string_view registered_name) const {
  auto it = entries_.find(registered_name);
  return it == entries_.end() ? nullptr : it->second;
}

std::vector<std::string> EncodingTable::names() const {
  std::vector<std::string> out;
  for (const auto& [name, encoding] : entries_) out.push_back(name);
  return out;  // std::map: sorted
}

const EncodingTable& encoding_table() {
  static const EncodingTable table = [] {
    EncodingTable t;
    register_elementwise_encodings(t);
    register_reduction_encodings(t);
    register_linear_algebra_encodings(t);
    register_layout_encodings(t);
    register_other_encodings(t);
    return t;
  }();
  return table;
}

}  // namespace twin::verify::encoding
