// Exact numbers shared by every layer of Twin.
//
// Twin's numbers are exact: integers of any size and rationals. Both the language
// (literals such as `1/3`, `2 ** 100`) and the e-graph's constant folding use this one
// type, so a constant that crosses the boundary never loses a bit.
//
// Boost.Multiprecision must be included before any ANTLR header: antlr4-common.h
// does `#undef EOF`, which breaks <boost/multiprecision/...> included after it.
#pragma once

#include <boost/multiprecision/cpp_int.hpp>

#include <cstddef>
#include <optional>
#include <string>

namespace twin {

using BigInt = boost::multiprecision::cpp_int;
using Rational = boost::multiprecision::cpp_rational;

// Converting between an integer and decimal text takes time quadratic in its digits with
// Boost's cpp_int (a 1,000,000-digit literal, or str(10 ** 1000000), takes about 20 s). As in
// CPython since 3.11, conversions refuse numbers of more decimal digits than a limit:
// rational_to_string and parse_rational throw twin::Error (kind Limit) naming it. The limit
// is per thread; an Interpreter sets its own (InterpreterOptions::integer_digits_limit) while
// it runs. 0: no limit.
inline constexpr std::size_t kDefaultIntegerDigitsLimit = 4300;
std::size_t integer_digits_limit();

// Sets this thread's limit for its lifetime, then restores the previous one.
class IntegerDigitsLimitScope {
 public:
  explicit IntegerDigitsLimitScope(std::size_t limit);
  ~IntegerDigitsLimitScope();
  IntegerDigitsLimitScope(const IntegerDigitsLimitScope&) = delete;
  IntegerDigitsLimitScope& operator=(const IntegerDigitsLimitScope&) = delete;

 private:
  std::size_t previous_;
};

// Canonical text of a rational: "3", "-1/3". Parses back with the language's `a/b` literal form.
// Throws twin::Error (Limit) above the integer digits limit.
std::string rational_to_string(const Rational& value);

// Parses "12", "-7", "1/3", "0.25", "1e-6", "2.5e3" exactly. Returns nullopt on malformed text.
// Throws twin::Error (Limit) for more digits than the integer digits limit.
std::optional<Rational> parse_rational(const std::string& text);

// base ** exponent by repeated squaring: O(M(n) log e), where boost::multiprecision::pow on
// cpp_int multiplies by the base e times (10 ** 1000000 took 21 s; this takes 0.2 s).
BigInt integer_power(BigInt base, unsigned exponent);

// An upper bound on the decimal digits of |value| (at most one more than the true count),
// from its bit length: O(1).
std::size_t decimal_digits_bound(const BigInt& value);

inline bool is_integer(const Rational& value) {
  return boost::multiprecision::denominator(value) == 1;
}

// A stable hash (no per-process seed), so containers keyed by constants iterate the same way
// in every run: Twin's outputs must not depend on hash seeds.
std::size_t stable_hash(const Rational& value);

double to_double(const Rational& value);

}  // namespace twin
