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

// Canonical text of a rational: "3", "-1/3". Parses back with the language's `a/b` literal form.
std::string rational_to_string(const Rational& value);

// Parses "12", "-7", "1/3", "0.25", "1e-6", "2.5e3" exactly. Returns nullopt on malformed text.
std::optional<Rational> parse_rational(const std::string& text);

inline bool is_integer(const Rational& value) {
  return boost::multiprecision::denominator(value) == 1;
}

// A stable hash (no per-process seed), so containers keyed by constants iterate the same way
// in every run: Twin's outputs must not depend on hash seeds.
std::size_t stable_hash(const Rational& value);

double to_double(const Rational& value);

}  // namespace twin
