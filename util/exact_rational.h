// The exact value of a double as a Rational: random testing draws numbers as doubles, and a
// drawn number that fills an attribute (`scale=?s`) must reach the op unchanged.
#pragma once

#include "util/rational.h"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace twin {

// 0.1 gives 3602879701896397/36028797018963968. Throws std::invalid_argument for a NaN or an
// infinity.
inline Rational exact_rational(double value) {
  if (!std::isfinite(value)) throw std::invalid_argument("not a finite number: " + std::to_string(value));
  // value = mantissa * 2^exponent with a 53-bit integer mantissa: both exact.
  int exponent = 0;
  double fraction = std::frexp(value, &exponent);
  BigInt mantissa = static_cast<std::int64_t>(std::ldexp(fraction, 53));
  exponent -= 53;
  if (exponent >= 0) return Rational(mantissa << exponent);
  return Rational(mantissa, BigInt(1) << -exponent);
}

}  // namespace twin
