// Attribute values of tensor ops: `dim=-1`, `keepdim=true`, `approximate="tanh"`, `eps=1e-6`,
// `dims=[-1]`, a dtype operand of cast. Exact numbers stay exact (Rational) until an
// evaluator needs a double.
#pragma once

#include "ops/dtype.h"
#include "util/rational.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace twin::ops {

struct AttrValue {
  std::variant<std::monostate, bool, Rational, std::string, DType, std::vector<std::int64_t>> value;

  static AttrValue of_int(std::int64_t i) { return AttrValue{Rational(i)}; }
  bool is_int() const;
  bool is_int_in_range() const;  // an integer that fits in int64
  std::int64_t as_int() const;   // throws std::invalid_argument when not an integer in int64's range
  double as_double() const;     // any number
  std::string to_string() const;
  bool operator==(const AttrValue&) const = default;
};

// Attributes by name, ordered (deterministic iteration and hashing).
using Attributes = std::map<std::string, AttrValue>;

// Normalizes a possibly negative dim against a rank: -1 -> rank - 1. nullopt when out of range.
std::optional<std::int64_t> normalize_dim(std::int64_t dim, std::int64_t rank);

}  // namespace twin::ops
