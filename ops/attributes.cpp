#include "ops/attributes.h"

#include <limits>
#include <stdexcept>

namespace twin::ops {

bool AttrValue::is_int() const {
  auto* r = std::get_if<Rational>(&value);
  return r && twin::is_integer(*r);
}

bool AttrValue::is_int_in_range() const {
  if (!is_int()) return false;
  const BigInt n = boost::multiprecision::numerator(std::get<Rational>(value));
  return n >= BigInt(std::numeric_limits<std::int64_t>::min()) && n <= BigInt(std::numeric_limits<std::int64_t>::max());
}

std::int64_t AttrValue::as_int() const {
  if (!is_int()) throw std::invalid_argument("attribute is not an integer: " + to_string());
  if (!is_int_in_range()) throw std::invalid_argument("attribute is an integer out of int64's range: " + to_string());
  return boost::multiprecision::numerator(std::get<Rational>(value)).convert_to<std::int64_t>();
}

double AttrValue::as_double() const {
  if (auto* r = std::get_if<Rational>(&value)) return twin::to_double(*r);
  if (auto* b = std::get_if<bool>(&value)) return *b ? 1.0 : 0.0;
  throw std::invalid_argument("attribute is not a number: " + to_string());
}

std::string AttrValue::to_string() const {
  switch (value.index()) {
    case 0: return "none";
    case 1: return std::get<bool>(value) ? "true" : "false";
    case 2: return rational_to_string(std::get<Rational>(value));
    case 3: return "\"" + std::get<std::string>(value) + "\"";
    case 4: return std::string(dtype_name(std::get<DType>(value)));
    case 5: {
      std::string out = "[";
      const auto& v = std::get<std::vector<std::int64_t>>(value);
      for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
      return out + "]";
    }
  }
  return "?";
}

std::optional<std::int64_t> normalize_dim(std::int64_t dim, std::int64_t rank) {
  std::int64_t d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank) return std::nullopt;
  return d;
}

}  // namespace twin::ops
