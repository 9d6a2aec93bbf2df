// Values of the Twin language.
//
// A Value is nil, a boolean, an exact number (Rational: integers of any size and fractions),
// an inexact number (double: only from measurements such as timings and tensor errors), a
// string, a list, a map, or an Object. Lists and maps are shared by reference, as in Lua
// and Python, so a list may contain itself. Every other kind of value (functions, terms, rules, rulesets, cost functions,
// e-graphs, e-class ids, reports, errors, and later tensors and graphs) is an Object: a
// class with a type name, a printed form, members and methods. Hosts add their own kinds by
// deriving from Object (see docs/embedding.md).
#pragma once

#include "util/source.h"
#include "util/rational.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace twin {

class Object;
class Value;
class Interpreter;
struct List;
struct Map;

using ObjectPtr = std::shared_ptr<Object>;
using ListPtr = std::shared_ptr<List>;
using MapPtr = std::shared_ptr<Map>;

class Value {
 public:
  Value() = default;
  Value(bool b) : data_(b) {}
  Value(int i) : data_(Rational(i)) {}
  Value(long i) : data_(Rational(i)) {}
  Value(long long i) : data_(Rational(i)) {}
  Value(std::size_t i) : data_(Rational(static_cast<unsigned long long>(i))) {}
  Value(Rational r) : data_(std::move(r)) {}
  Value(double d) : data_(d) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(ListPtr l) : data_(std::move(l)) {}
  Value(MapPtr m) : data_(std::move(m)) {}
  Value(ObjectPtr o) : data_(std::move(o)) {}
  template <class T, class = std::enable_if_t<std::is_base_of_v<Object, T>>>
  Value(std::shared_ptr<T> o) : data_(ObjectPtr(std::move(o))) {}

  bool is_nil() const { return std::holds_alternative<std::monostate>(data_); }
  bool is_bool() const { return std::holds_alternative<bool>(data_); }
  bool is_rational() const { return std::holds_alternative<Rational>(data_); }
  bool is_float() const { return std::holds_alternative<double>(data_); }
  bool is_number() const { return is_rational() || is_float(); }
  bool is_string() const { return std::holds_alternative<std::string>(data_); }
  bool is_list() const { return std::holds_alternative<ListPtr>(data_); }
  bool is_map() const { return std::holds_alternative<MapPtr>(data_); }
  bool is_object() const { return std::holds_alternative<ObjectPtr>(data_); }

  bool as_bool() const { return std::get<bool>(data_); }
  const Rational& as_rational() const { return std::get<Rational>(data_); }
  double as_float() const { return std::get<double>(data_); }
  double to_double() const;  // any number
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const ListPtr& as_list() const { return std::get<ListPtr>(data_); }
  const MapPtr& as_map() const { return std::get<MapPtr>(data_); }
  const ObjectPtr& as_object() const { return std::get<ObjectPtr>(data_); }

  // The object as a T, or null when the value is not a T.
  template <class T>
  std::shared_ptr<T> as() const {
    if (!is_object()) return nullptr;
    return std::dynamic_pointer_cast<T>(as_object());
  }

  // "nil", "bool", "number", "float", "string", "list", "map", or the object's type name.
  std::string type_name() const;
  // Truthiness for `if`, `while`, `and`, `or`, `not`: nil and false are false; all else true.
  bool truthy() const;
  // The printed form: strings without quotes (as `print` shows them).
  std::string to_display() const;
  // The source-like form: strings quoted (as the REPL echoes them and inside lists). A list or
  // map met again inside itself prints as `[...]` or `{...}`, as in Python. Throws twin::Error
  // for values nested more than kMaxValueDepth levels, and (Limit) for an integer above the
  // integer digits limit or text beyond the memory limit.
  std::string to_repr() const;

  // Structural equality for numbers, strings, lists and maps; objects decide (identity by
  // default). Terminates on values that contain themselves: a list is equal to itself, and two
  // lists are equal when no element tells them apart, however deep (a pair of containers met
  // again while being compared is taken as equal). Throws twin::Error beyond kMaxValueDepth.
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }
  // Equality of everything but lists and maps (false for those): EqualityCheck's leaf case.
  bool shallow_equal(const Value& other) const;

 private:
  std::variant<std::monostate, bool, Rational, double, std::string, ListPtr, MapPtr, ObjectPtr> data_;
};

// How deeply lists and maps may nest for printing and comparing: deep enough for any real
// data, shallow enough for an 8 MiB host stack.
inline constexpr int kMaxValueDepth = 10000;

// Destroying a list or a map takes apart the containers only it holds one level at a time,
// without recursion: a list nested a million levels deep is freed without exhausting the stack.
struct List {
  std::vector<Value> items;
  ~List();
};

// A map keeps its keys in insertion order, so printing and iterating it is deterministic.
struct Map {
  std::vector<std::pair<Value, Value>> entries;
  ~Map();
  const Value* find(const Value& key) const;
  void set(const Value& key, Value value);
};

inline ListPtr make_list(std::vector<Value> items = {}) { return std::make_shared<List>(List{std::move(items)}); }
inline MapPtr make_map() { return std::make_shared<Map>(); }

// Arguments of a call: positional values, then `name=value` pairs.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;
  SourceLocation location;  // the call site, for error messages

  const Value* find_named(const std::string& name) const;
};

// The host-facing context of a native call: the interpreter, for printing, calling back
// into script functions, and checking permissions.
struct CallContext {
  Interpreter& interpreter;
  SourceLocation location;
};

using NativeFunctionBody = std::function<Value(CallContext&, CallArgs&)>;

class Object : public std::enable_shared_from_this<Object> {
 public:
  virtual ~Object() = default;
  virtual std::string type_name() const = 0;
  virtual std::string to_string() const { return "<" + type_name() + ">"; }
  // A member `value.name`: an attribute, or a method bound to this object. nullopt if none.
  virtual std::optional<Value> member(const std::string& name);
  // Names of members, for completion and error messages.
  virtual std::vector<std::string> member_names() const { return {}; }
  virtual bool equals(const Object& other) const { return this == &other; }
};

// A function implemented in C++: a builtin, a host's registered function, or a bound method.
class NativeFunction : public Object {
 public:
  NativeFunction(std::string name, NativeFunctionBody body) : name_(std::move(name)), body_(std::move(body)) {}
  std::string type_name() const override { return "function"; }
  std::string to_string() const override { return "<function " + name_ + ">"; }
  const std::string& name() const { return name_; }
  Value call(CallContext& context, CallArgs& args) const { return body_(context, args); }

 private:
  std::string name_;
  NativeFunctionBody body_;
};

// Helpers for native functions that check their arguments and raise clear type errors.
namespace args {
const Value& positional(const CallArgs& a, std::size_t index, const std::string& function);
void expect_count(const CallArgs& a, std::size_t min, std::size_t max, const std::string& function);
const Rational& rational(const Value& v, const std::string& what, const SourceLocation& location);
std::int64_t integer(const Value& v, const std::string& what, const SourceLocation& location);
double number(const Value& v, const std::string& what, const SourceLocation& location);
const std::string& string(const Value& v, const std::string& what, const SourceLocation& location);
// Rejects named arguments other than `allowed`.
void allow_named(const CallArgs& a, std::initializer_list<const char*> allowed, const std::string& function);
}  // namespace args

// Formats a double the way Twin prints inexact numbers (shortest round-trip form).
std::string format_double(double value);

}  // namespace twin
