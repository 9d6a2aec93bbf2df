#include "interp/lib/json_values.h"

#include "util/error.h"

#include <cmath>
#include <limits>

namespace twin {

using json = nlohmann::ordered_json;

namespace {

template <class Json>
Value from_json(const Json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value();
    case nlohmann::json::value_t::boolean: return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(static_cast<long long>(j.template get<std::int64_t>()));
    case nlohmann::json::value_t::number_unsigned: return Value(Rational(BigInt(j.template get<std::uint64_t>())));
    case nlohmann::json::value_t::number_float: return Value(j.template get<double>());
    case nlohmann::json::value_t::string: return Value(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      auto list = make_list();
      list->items.reserve(j.size());
      for (const auto& item : j) list->items.push_back(from_json(item));
      return Value(list);
    }
    case nlohmann::json::value_t::object: {
      auto map = make_map();
      for (const auto& [key, value] : j.items()) map->set(Value(key), from_json(value));
      return Value(map);
    }
    default: return Value();
  }
}

json to_json(const Value& v, const SourceLocation& where, int depth) {
  if (depth > kMaxValueDepth) throw Error(ErrorKind::Value, "to_json: the value is nested too deeply (or contains itself)", where);
  if (v.is_nil()) return json(nullptr);
  if (v.is_bool()) return json(v.as_bool());
  if (v.is_string()) return json(v.as_string());
  if (v.is_rational()) {
    const Rational& r = v.as_rational();
    const BigInt num = boost::multiprecision::numerator(r);
    if (boost::multiprecision::denominator(r) == 1 && num >= std::numeric_limits<std::int64_t>::min() &&
        num <= std::numeric_limits<std::int64_t>::max())
      return json(num.convert_to<std::int64_t>());
    const double d = v.to_double();
    return std::isfinite(d) ? json(d) : json(nullptr);
  }
  if (v.is_float()) return std::isfinite(v.as_float()) ? json(v.as_float()) : json(nullptr);
  if (v.is_list()) {
    json out = json::array();
    for (const auto& item : v.as_list()->items) out.push_back(to_json(item, where, depth + 1));
    return out;
  }
  if (v.is_map()) {
    json out = json::object();
    for (const auto& [key, value] : v.as_map()->entries) {
      if (!key.is_string())
        throw Error(ErrorKind::Type, "to_json: a map key must be a string for JSON, not a " + key.type_name() + " (" + key.to_repr() + ")",
                    where);
      out[key.as_string()] = to_json(value, where, depth + 1);
    }
    return out;
  }
  throw Error(ErrorKind::Type, "to_json: a " + v.type_name() + " has no JSON form (maps, lists, strings, numbers, booleans, nil)",
              where);
}

}  // namespace

Value value_from_json(const nlohmann::json& j) { return from_json(j); }
Value value_from_json(const nlohmann::ordered_json& j) { return from_json(j); }

json value_to_json(const Value& value, const SourceLocation& where) { return to_json(value, where, 0); }

}  // namespace twin
