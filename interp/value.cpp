#include "interp/value.h"

#include "util/error.h"

#include <charconv>
#include <cmath>

namespace twin {

double Value::to_double() const {
  if (is_float()) return as_float();
  return twin::to_double(as_rational());
}

std::string Value::type_name() const {
  switch (data_.index()) {
    case 0: return "nil";
    case 1: return "bool";
    case 2: return "number";
    case 3: return "float";
    case 4: return "string";
    case 5: return "list";
    case 6: return "map";
    default: return as_object()->type_name();
  }
}

bool Value::truthy() const {
  if (is_nil()) return false;
  if (is_bool()) return as_bool();
  return true;
}

std::string format_double(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, result.ptr);
  // Keep a float recognisable as one: 2.0 rather than 2.
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

std::string Value::to_display() const {
  if (is_string()) return as_string();
  return to_repr();
}

std::string Value::to_repr() const {
  switch (data_.index()) {
    case 0: return "nil";
    case 1: return as_bool() ? "true" : "false";
    case 2: return rational_to_string(as_rational());
    case 3: return format_double(as_float());
    case 4: {
      std::string out = "\"";
      for (char c : as_string()) {
        if (c == '"' || c == '\\') out += '\\';
        if (c == '\n') {
          out += "\\n";
          continue;
        }
        out += c;
      }
      return out + "\"";
    }
    case 5: {
      std::string out = "[";
      bool first = true;
      for (const auto& item : as_list()->items) {
        if (!first) out += ", ";
        out += item.to_repr();
        first = false;
      }
      return out + "]";
    }
    case 6: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : as_map()->entries) {
        if (!first) out += ", ";
        out += k.to_repr() + ": " + v.to_repr();
        first = false;
      }
      return out + "}";
    }
    default: return as_object()->to_string();
  }
}

bool Value::operator==(const Value& other) const {
  if (is_number() && other.is_number()) {
    if (is_rational() && other.is_rational()) return as_rational() == other.as_rational();
    return to_double() == other.to_double();
  }
  if (data_.index() != other.data_.index()) return false;
  switch (data_.index()) {
    case 0: return true;
    case 1: return as_bool() == other.as_bool();
    case 4: return as_string() == other.as_string();
    case 5: {
      const auto& a = as_list()->items;
      const auto& b = other.as_list()->items;
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) return false;
      return true;
    }
    case 6: {
      const auto& a = *as_map();
      const auto& b = *other.as_map();
      if (a.entries.size() != b.entries.size()) return false;
      for (const auto& [k, v] : a.entries) {
        const Value* w = b.find(k);
        if (!w || *w != v) return false;
      }
      return true;
    }
    default: return as_object()->equals(*other.as_object());
  }
}

const Value* Map::find(const Value& key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

void Map::set(const Value& key, Value value) {
  for (auto& [k, v] : entries) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(key, std::move(value));
}

const Value* CallArgs::find_named(const std::string& name) const {
  for (const auto& [n, v] : named)
    if (n == name) return &v;
  return nullptr;
}

std::optional<Value> Object::member(const std::string&) { return std::nullopt; }

namespace args {

const Value& positional(const CallArgs& a, std::size_t index, const std::string& function) {
  if (index >= a.positional.size())
    throw Error(ErrorKind::Type, function + " expects at least " + std::to_string(index + 1) + " argument" +
                                     (index ? "s" : "") + ", got " + std::to_string(a.positional.size()),
                a.location);
  return a.positional[index];
}

void expect_count(const CallArgs& a, std::size_t min, std::size_t max, const std::string& function) {
  std::size_t n = a.positional.size();
  if (n < min || n > max) {
    std::string expected = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    throw Error(ErrorKind::Type, function + " expects " + expected + " argument" + (max == 1 ? "" : "s") + ", got " +
                                     std::to_string(n),
                a.location);
  }
}

const Rational& rational(const Value& v, const std::string& what, const SourceLocation& location) {
  if (!v.is_rational()) throw Error(ErrorKind::Type, what + " must be an exact number, not " + v.type_name(), location);
  return v.as_rational();
}

std::int64_t integer(const Value& v, const std::string& what, const SourceLocation& location) {
  const Rational& r = rational(v, what, location);
  if (!is_integer(r)) throw Error(ErrorKind::Type, what + " must be an integer, not " + rational_to_string(r), location);
  BigInt n = boost::multiprecision::numerator(r);
  if (n > BigInt(INT64_MAX) || n < BigInt(INT64_MIN)) throw Error(ErrorKind::Value, what + " is too large", location);
  return n.convert_to<std::int64_t>();
}

double number(const Value& v, const std::string& what, const SourceLocation& location) {
  if (!v.is_number()) throw Error(ErrorKind::Type, what + " must be a number, not " + v.type_name(), location);
  return v.to_double();
}

const std::string& string(const Value& v, const std::string& what, const SourceLocation& location) {
  if (!v.is_string()) throw Error(ErrorKind::Type, what + " must be a string, not " + v.type_name(), location);
  return v.as_string();
}

void allow_named(const CallArgs& a, std::initializer_list<const char*> allowed, const std::string& function) {
  for (const auto& [name, value] : a.named) {
    bool ok = false;
    for (const char* n : allowed) ok = ok || name == n;
    if (!ok) {
      std::string list;
      for (const char* n : allowed) list += (list.empty() ? "" : ", ") + std::string(n);
      throw Error(ErrorKind::Type, function + " has no argument named '" + name + "'" +
                                       (list.empty() ? "" : "; expected one of: " + list),
                  a.location);
    }
  }
}

}  // namespace args
}  // namespace twin
