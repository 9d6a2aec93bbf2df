// The builtin functions every script sees. Documented in docs/language.md ("Builtins").
//
// Builtins touch the outside world only through the Interpreter, which enforces the host's
// permissions: read_text is the one way a script reads a file, and nothing here writes
// files or starts processes. Every builtin that builds a list or a string reserves its size
// first (reserve_memory), so the host's memory limit holds.
#include "util/error.h"
#include "interp/evaluator.h"
#include "interp/interpreter.h"
#include "interp/range.h"
#include "interp/script_budget.h"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace twin {
namespace {

std::int64_t int_arg(const CallArgs& a, std::size_t i, const std::string& fn) {
  return args::integer(args::positional(a, i, fn), fn + "'s argument " + std::to_string(i + 1), a.location);
}

// The elements of a list, or of a range (made now, against the memory limit): what builtins
// that read a sequence take.
std::vector<Value> sequence_items(const Value& v, const std::string& function, const SourceLocation& at) {
  if (v.is_list()) {
    reserve_memory(bytes_for(v.as_list()->items.size(), sizeof(Value)), at);
    return v.as_list()->items;
  }
  if (auto range = v.as<RangeValue>()) return std::move(range->to_list(at)->items);
  throw Error(ErrorKind::Type, function + " expects a list, not a " + v.type_name(), at);
}

Value floor_or_ceil(const Value& v, bool ceil, const SourceLocation& at) {
  if (v.is_float()) return Value(Rational(static_cast<long long>(ceil ? std::ceil(v.as_float()) : std::floor(v.as_float()))));
  const Rational& r = args::rational(v, "the argument", at);
  BigInt q = boost::multiprecision::numerator(r) / boost::multiprecision::denominator(r);  // truncates toward zero
  if (Rational(q) != r) {
    if (!ceil && r < 0) q -= 1;
    if (ceil && r > 0) q += 1;
  }
  return Value(Rational(q));
}

}  // namespace

void install_builtins(Interpreter& in) {
  in.register_function("print", [](CallContext& c, CallArgs& a) {
    args::allow_named(a, {"end", "sep"}, "print");
    std::string sep = " ", end = "\n";
    if (auto v = a.find_named("sep")) sep = args::string(*v, "sep", a.location);
    if (auto v = a.find_named("end")) end = args::string(*v, "end", a.location);
    std::string out;
    for (std::size_t i = 0; i < a.positional.size(); ++i) out += (i ? sep : "") + a.positional[i].to_display();
    c.interpreter.print(out + end);
    return Value();
  });
  in.register_function("len", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "len");
    const Value& v = a.positional[0];
    if (v.is_list()) return Value(v.as_list()->items.size());
    if (v.is_map()) return Value(v.as_map()->entries.size());
    if (v.is_string()) return Value(v.as_string().size());
    if (auto range = v.as<RangeValue>()) return Value(static_cast<long long>(range->length()));
    if (auto rs = v.as<RulesetValue>()) return Value(rs->rules().size());
    throw Error(ErrorKind::Type, "len of a " + v.type_name() + "; expected a list, a range, a map, a string or a ruleset",
                a.location);
  });
  in.register_function("str", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "str");
    if (a.positional[0].is_string()) reserve_memory(a.positional[0].as_string().size(), a.location);
    return Value(a.positional[0].to_display());
  });
  in.register_function("repr", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "repr");
    return Value(a.positional[0].to_repr());
  });
  in.register_function("type", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "type");
    return Value(a.positional[0].type_name());
  });
  in.register_function("range", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 3, "range");
    std::int64_t start = 0, stop, step = 1;
    if (a.positional.size() == 1) {
      stop = int_arg(a, 0, "range");
    } else {
      start = int_arg(a, 0, "range");
      stop = int_arg(a, 1, "range");
      if (a.positional.size() == 3) step = int_arg(a, 2, "range");
    }
    return Value(std::make_shared<RangeValue>(start, stop, step, a.location));
  });
  // list(x): a new list of a list's, a range's or a string's elements, or of a map's keys.
  in.register_function("list", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "list");
    const Value& v = a.positional[0];
    if (v.is_string()) {
      reserve_memory(bytes_for(v.as_string().size(), sizeof(Value)), a.location);
      auto list = make_list();
      for (char ch : v.as_string()) list->items.emplace_back(std::string(1, ch));
      return Value(list);
    }
    if (v.is_map()) {
      reserve_memory(bytes_for(v.as_map()->entries.size(), sizeof(Value)), a.location);
      auto list = make_list();
      for (const auto& [k, value] : v.as_map()->entries) list->items.push_back(k);
      return Value(list);
    }
    return Value(make_list(sequence_items(v, "list", a.location)));
  });
  in.register_function("keys", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "keys");
    if (!a.positional[0].is_map()) throw Error(ErrorKind::Type, "keys expects a map", a.location);
    reserve_memory(bytes_for(a.positional[0].as_map()->entries.size(), sizeof(Value)), a.location);
    auto list = make_list();
    for (const auto& [k, v] : a.positional[0].as_map()->entries) list->items.push_back(k);
    return Value(list);
  });
  in.register_function("values", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "values");
    if (!a.positional[0].is_map()) throw Error(ErrorKind::Type, "values expects a map", a.location);
    reserve_memory(bytes_for(a.positional[0].as_map()->entries.size(), sizeof(Value)), a.location);
    auto list = make_list();
    for (const auto& [k, v] : a.positional[0].as_map()->entries) list->items.push_back(v);
    return Value(list);
  });
  in.register_function("append", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 2, 2, "append");
    if (!a.positional[0].is_list()) throw Error(ErrorKind::Type, "append expects a list first", a.location);
    reserve_memory(sizeof(Value), a.location);
    a.positional[0].as_list()->items.push_back(a.positional[1]);
    return a.positional[0];
  });
  in.register_function("pop", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "pop");
    if (!a.positional[0].is_list()) throw Error(ErrorKind::Type, "pop expects a list", a.location);
    auto& items = a.positional[0].as_list()->items;
    if (items.empty()) throw Error(ErrorKind::Value, "pop from an empty list", a.location);
    Value last = items.back();
    items.pop_back();
    return last;
  });
  in.register_function("contains", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 2, 2, "contains");
    const Value& c = a.positional[0];
    const Value& x = a.positional[1];
    if (c.is_list()) return Value(std::find(c.as_list()->items.begin(), c.as_list()->items.end(), x) != c.as_list()->items.end());
    if (c.is_map()) return Value(c.as_map()->find(x) != nullptr);
    if (auto range = c.as<RangeValue>()) return Value(x.is_rational() && range->contains(x.as_rational()));
    if (c.is_string()) return Value(c.as_string().find(args::string(x, "the substring", a.location)) != std::string::npos);
    throw Error(ErrorKind::Type, "contains expects a list, a range, a map or a string", a.location);
  });
  in.register_function("join", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 2, "join");
    std::vector<Value> items = sequence_items(a.positional[0], "join", a.location);
    std::string sep = a.positional.size() > 1 ? args::string(a.positional[1], "the separator", a.location) : "";
    std::string out;
    bool first = true;
    for (const auto& item : items) {
      std::string piece = item.to_display();
      reserve_memory(piece.size() + (first ? 0 : sep.size()), a.location);
      if (!first) out += sep;
      out += piece;
      first = false;
    }
    return Value(out);
  });
  in.register_function("split", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 2, "split");
    const std::string& s = args::string(a.positional[0], "split's argument", a.location);
    std::string sep = a.positional.size() > 1 ? args::string(a.positional[1], "the separator", a.location) : "\n";
    if (sep.empty()) throw Error(ErrorKind::Value, "split separator must not be empty", a.location);
    auto list = make_list();
    std::size_t start = 0;
    while (true) {
      reserve_memory(sizeof(Value), a.location);
      auto at = s.find(sep, start);
      list->items.emplace_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
      if (at == std::string::npos) break;
      start = at + sep.size();
    }
    return Value(list);
  });
  in.register_function("abs", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "abs");
    const Value& v = a.positional[0];
    if (v.is_rational()) return Value(Rational(abs(v.as_rational())));
    return Value(std::fabs(args::number(v, "abs's argument", a.location)));
  });
  auto extremum = [](bool want_max) {
    return [want_max](CallContext&, CallArgs& a) {
      std::vector<Value> items = a.positional;
      if (items.size() == 1 && (items[0].is_list() || items[0].as<RangeValue>()))
        items = sequence_items(items[0], want_max ? "max" : "min", a.location);
      if (items.empty()) throw Error(ErrorKind::Value, std::string(want_max ? "max" : "min") + " of nothing", a.location);
      Value best = items[0];
      for (const auto& v : items) {
        double x = args::number(v, "an argument", a.location), b = best.to_double();
        bool better = v.is_rational() && best.is_rational() ? (want_max ? v.as_rational() > best.as_rational() : v.as_rational() < best.as_rational())
                                                            : (want_max ? x > b : x < b);
        if (better) best = v;
      }
      return best;
    };
  };
  in.register_function("max", extremum(true));
  in.register_function("min", extremum(false));
  in.register_function("floor", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "floor");
    return floor_or_ceil(a.positional[0], false, a.location);
  });
  in.register_function("ceil", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "ceil");
    return floor_or_ceil(a.positional[0], true, a.location);
  });
  // number("3/4") parses text exactly (integers, decimals, a/b, exponents); numbers pass through.
  in.register_function("number", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "number");
    const Value& v = a.positional[0];
    if (v.is_number()) return v;
    const std::string& text = args::string(v, "number's argument", a.location);
    std::string trimmed = text;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) trimmed.pop_back();
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) trimmed.erase(trimmed.begin());
    auto r = parse_rational(trimmed);
    if (!r) throw Error(ErrorKind::Value, "not a number: \"" + text + "\"", a.location);
    return Value(*r);
  });
  in.register_function("float", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "float");
    return Value(args::number(a.positional[0], "float's argument", a.location));
  });
  in.register_function("sqrt", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "sqrt");
    double x = args::number(a.positional[0], "sqrt's argument", a.location);
    if (x < 0) throw Error(ErrorKind::Value, "sqrt of a negative number", a.location);
    return Value(std::sqrt(x));
  });
  in.register_function("sorted", [](CallContext& c, CallArgs& a) {
    args::expect_count(a, 1, 1, "sorted");
    auto items = sequence_items(a.positional[0], "sorted", a.location);
    auto less = [&](const Value& x, const Value& y) {
      if (x.is_rational() && y.is_rational()) return x.as_rational() < y.as_rational();
      if (x.is_number() && y.is_number()) return x.to_double() < y.to_double();
      if (x.is_string() && y.is_string()) return x.as_string() < y.as_string();
      throw Error(ErrorKind::Type, "cannot order a " + x.type_name() + " and a " + y.type_name(), a.location);
    };
    std::stable_sort(items.begin(), items.end(), less);
    return Value(make_list(std::move(items)));
  });
  in.register_function("error", [](CallContext&, CallArgs& a) -> Value {
    args::expect_count(a, 1, 1, "error");
    throw Error(ErrorKind::User, a.positional[0].to_display(), a.location);
  });
  // catch(f, args...): calls f; returns its result, or the error it raised as an error value.
  in.register_function("catch", [](CallContext& c, CallArgs& a) {
    if (a.positional.empty()) throw Error(ErrorKind::Type, "catch expects a function", a.location);
    Value f = a.positional[0];
    CallArgs inner;
    inner.positional.assign(a.positional.begin() + 1, a.positional.end());
    inner.named = a.named;
    try {
      return c.interpreter.evaluator().call(f, inner, a.location);
    } catch (const Error& error) {
      // A limit the host set is not the script's to recover from (interp/script_budget.h).
      if (error.kind() == ErrorKind::Limit && c.interpreter.budget().exhausted()) throw;
      return Value(std::make_shared<ErrorValue>(error));
    }
  });
  in.register_function("is_error", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "is_error");
    return Value(a.positional[0].as<ErrorValue>() != nullptr);
  });
  in.register_function("read_text", [](CallContext& c, CallArgs& a) {
    args::expect_count(a, 1, 1, "read_text");
    std::filesystem::path path = c.interpreter.resolve_script_path(args::string(a.positional[0], "the path", a.location), a.location);
    return Value(c.interpreter.read_text(path, a.location));
  });
  in.register_function("rules", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "rules");
    auto list = make_list();
    const Value& v = a.positional[0];
    std::vector<Value> sets = v.is_list() ? v.as_list()->items : std::vector<Value>{v};
    for (const auto& s : sets) {
      auto rs = s.as<RulesetValue>();
      if (!rs) throw Error(ErrorKind::Type, "rules expects a ruleset (or a list of them), not a " + s.type_name(), a.location);
      for (const auto& r : rs->rules()) list->items.emplace_back(r);
    }
    return Value(list);
  });
  in.register_function("starts_with", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 2, 2, "starts_with");
    return Value(args::string(a.positional[0], "starts_with's first argument", a.location)
                     .starts_with(args::string(a.positional[1], "the prefix", a.location)));
  });
  in.register_function("ends_with", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 2, 2, "ends_with");
    return Value(args::string(a.positional[0], "ends_with's first argument", a.location)
                     .ends_with(args::string(a.positional[1], "the suffix", a.location)));
  });
  // format_number(x, digits=3): x with `digits` significant digits, as C's %g writes it
  // ("1.03", "4.2e-05", "inf"): for reports, where str() would print every digit of a float.
  in.register_function("format_number", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 2, "format_number");
    const double x = args::number(a.positional[0], "the number", a.location);
    const std::int64_t digits = a.positional.size() > 1 ? args::integer(a.positional[1], "digits", a.location) : 3;
    if (digits < 1 || digits > 17) throw Error(ErrorKind::Value, "format_number: digits must be 1 to 17", a.location);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*g", int(digits), x);
    return Value(std::string(buffer));
  });
  in.register_function("clock", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 0, 0, "clock");
    auto now = std::chrono::steady_clock::now().time_since_epoch();
    return Value(std::chrono::duration<double>(now).count());
  });
}

}  // namespace twin
