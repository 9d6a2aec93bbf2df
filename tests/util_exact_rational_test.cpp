// util/exact_rational.h: a drawn double reaches an op's attribute without losing a bit.
#include "util/exact_rational.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using twin::BigInt;
using twin::Rational;
using twin::exact_rational;

TEST_CASE("a double's exact value: binary fractions, decimals that are not, large and tiny numbers") {
  CHECK(exact_rational(0.25) == Rational(1, 4));
  CHECK(exact_rational(-3.0) == Rational(-3));
  CHECK(exact_rational(0.0) == Rational(0));
  CHECK(exact_rational(0.1) == Rational(BigInt("3602879701896397"), BigInt("36028797018963968")));
  CHECK(exact_rational(3.4028234663852886e38) == Rational(BigInt("340282346638528859811704183484516925440")));
  double tiny = std::numeric_limits<double>::denorm_min();
  CHECK(exact_rational(tiny) == Rational(BigInt(1), BigInt(1) << 1074));
  for (double v : {1.0 / 3, -2.5e-7, 6.02e23, 0.7071067811865476}) CHECK(exact_rational(v).convert_to<double>() == v);
}

TEST_CASE("NaN and infinities have no exact value") {
  CHECK_THROWS_AS(exact_rational(std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS(exact_rational(std::numeric_limits<double>::infinity()), std::invalid_argument);
}
