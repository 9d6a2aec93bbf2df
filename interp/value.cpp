#include "interp/value.h"

#include "util/error.h"

#include "interp/script_budget.h"

#include <algorithm>
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

namespace {

[[noreturn]] void too_deep(const char* what) {
  throw Error(ErrorKind::Value, std::string("cannot ") + what + " a value nested more than " +
                                    std::to_string(kMaxValueDepth) + " levels deep");
}

std::string quoted(const std::string& text) {
  // Escapes can double the text (repr(repr(s)) ... grows fast): its size is reserved first.
  std::size_t size = 2;
  for (char c : text) size += c == '"' || c == '\\' || c == '\n' ? 2 : 1;
  reserve_memory(size);
  std::string out = "\"";
  out.reserve(size);
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// Appends a value's source-like form. `open_` holds the lists and maps being printed (the
// path from the outermost one), which is how a container met inside itself is recognised.
class ReprWriter {
 public:
  explicit ReprWriter(std::string& out) : out_(out) {}

  void write(const Value& value, int depth) {
    if (depth > kMaxValueDepth) too_deep("print");
    if (value.is_list()) {
      const List* list = value.as_list().get();
      if (is_open(list)) return append("[...]");
      open_.push_back(list);
      append("[");
      bool first = true;
      for (const auto& item : list->items) {
        if (!first) append(", ");
        write(item, depth + 1);
        first = false;
      }
      append("]");
      open_.pop_back();
      return;
    }
    if (value.is_map()) {
      const Map* map = value.as_map().get();
      if (is_open(map)) return append("{...}");
      open_.push_back(map);
      append("{");
      bool first = true;
      for (const auto& [k, v] : map->entries) {
        if (!first) append(", ");
        write(k, depth + 1);
        append(": ");
        write(v, depth + 1);
        first = false;
      }
      append("}");
      open_.pop_back();
      return;
    }
    append(value.is_string() ? quoted(value.as_string()) : value.to_repr());
  }

 private:
  bool is_open(const void* container) const {
    return std::find(open_.begin(), open_.end(), container) != open_.end();
  }
  // Text grows against the memory limit: a list of a million long strings prints to a lot.
  void append(const std::string& text) {
    out_ += text;
    if (out_.size() - charged_ >= kChargeEvery) {
      reserve_memory(out_.size() - charged_);
      charged_ = out_.size();
    }
  }
  static constexpr std::size_t kChargeEvery = 64 * 1024;
  std::string& out_;
  std::vector<const void*> open_;
  std::size_t charged_ = 0;
};

// Structural equality that terminates on self-containing values: `assumed` holds the pairs of
// containers being compared further up; meeting one again adds nothing new, so it is taken as
// equal (two infinite unfoldings that no finite path tells apart are equal).
class EqualityCheck {
 public:
  bool equal(const Value& a, const Value& b, int depth) {
    if (depth > kMaxValueDepth) too_deep("compare");
    if (a.is_list() && b.is_list()) {
      const List* x = a.as_list().get();
      const List* y = b.as_list().get();
      if (x == y) return true;
      if (x->items.size() != y->items.size()) return false;
      if (is_assumed(x, y)) return true;
      assumed_.emplace_back(x, y);
      bool same = true;
      for (std::size_t i = 0; same && i < x->items.size(); ++i) same = equal(x->items[i], y->items[i], depth + 1);
      assumed_.pop_back();
      return same;
    }
    if (a.is_map() && b.is_map()) {
      const Map* x = a.as_map().get();
      const Map* y = b.as_map().get();
      if (x == y) return true;
      if (x->entries.size() != y->entries.size()) return false;
      if (is_assumed(x, y)) return true;
      assumed_.emplace_back(x, y);
      bool same = true;
      for (const auto& [key, value] : x->entries) {
        const Value* other = nullptr;
        for (const auto& [k, v] : y->entries)
          if (equal(key, k, depth + 1)) {
            other = &v;
            break;
          }
        if (!other || !equal(value, *other, depth + 1)) {
          same = false;
          break;
        }
      }
      assumed_.pop_back();
      return same;
    }
    return a.shallow_equal(b);
  }

 private:
  bool is_assumed(const void* x, const void* y) const {
    for (const auto& [p, q] : assumed_)
      if (p == x && q == y) return true;
    return false;
  }
  std::vector<std::pair<const void*, const void*>> assumed_;
};

// Moves out of `values` the lists and maps nothing else holds, and then their elements' in
// turn, so that each is destroyed with its elements already taken: no recursion.
void dismantle(std::vector<Value>& pending) {
  while (!pending.empty()) {
    Value value = std::move(pending.back());
    pending.pop_back();
    auto take = [&pending](Value& v) {
      if ((v.is_list() && v.as_list().use_count() == 1) || (v.is_map() && v.as_map().use_count() == 1))
        pending.push_back(std::move(v));
    };
    if (value.is_list() && value.as_list()) {
      for (auto& item : value.as_list()->items) take(item);
    } else if (value.is_map() && value.as_map()) {
      for (auto& [k, v] : value.as_map()->entries) {
        take(k);
        take(v);
      }
    }
  }
}

bool uniquely_held_container(const Value& v) {
  return (v.is_list() && v.as_list().use_count() == 1) || (v.is_map() && v.as_map().use_count() == 1);
}

}  // namespace

List::~List() {
  std::vector<Value> pending;
  for (auto& item : items)
    if (uniquely_held_container(item)) pending.push_back(std::move(item));
  dismantle(pending);
}

Map::~Map() {
  std::vector<Value> pending;
  for (auto& [k, v] : entries) {
    if (uniquely_held_container(k)) pending.push_back(std::move(k));
    if (uniquely_held_container(v)) pending.push_back(std::move(v));
  }
  dismantle(pending);
}

std::string Value::to_repr() const {
  switch (data_.index()) {
    case 0: return "nil";
    case 1: return as_bool() ? "true" : "false";
    case 2: return rational_to_string(as_rational());
    case 3: return format_double(as_float());
    case 4: return quoted(as_string());
    case 5:
    case 6: {
      std::string out;
      ReprWriter(out).write(*this, 0);
      return out;
    }
    default: return as_object()->to_string();
  }
}

bool Value::operator==(const Value& other) const { return EqualityCheck().equal(*this, other, 0); }

bool Value::shallow_equal(const Value& other) const {
  if (is_number() && other.is_number()) {
    if (is_rational() && other.is_rational()) return as_rational() == other.as_rational();
    return to_double() == other.to_double();
  }
  if (data_.index() != other.data_.index()) return false;
  switch (data_.index()) {
    case 0: return true;
    case 1: return as_bool() == other.as_bool();
    case 4: return as_string() == other.as_string();
    case 5:
    case 6: return false;  // containers are compared by EqualityCheck
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
