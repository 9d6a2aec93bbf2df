// Numbers in reports (util/readable_number.h): exact rationals shown as a person reads them.
#include "util/readable_number.h"

#include <doctest/doctest.h>

using twin::Rational;
using twin::readable_number;
using twin::readable_numbers_in;

TEST_CASE("integers and short fractions print as they are") {
  CHECK(readable_number(Rational(3)) == "3");
  CHECK(readable_number(Rational(-7)) == "-7");
  CHECK(readable_number(Rational(1, 3)) == "1/3");
  CHECK(readable_number(Rational(-1, 2)) == "-1/2");
}

TEST_CASE("a captured double prints as its shortest round-trip decimal") {
  CHECK(readable_number(*twin::parse_rational("5902958103587057/590295810358705651712")) == "1e-05");
  CHECK(readable_number(*twin::parse_rational("6369051672525773/2251799813685248")) == "2.8284271247461903");
  CHECK(readable_number(Rational(1e-6)) == "1e-06");
  CHECK(readable_number(twin::integer_power(2, 100)) == "1.2676506002282294e+30");
}

TEST_CASE("long fractions inside report text are rewritten; names and short fractions are not") {
  CHECK(readable_numbers_in("rms_norm(x, w, eps=5902958103587057/590295810358705651712)") == "rms_norm(x, w, eps=1e-05)");
  CHECK(readable_numbers_in("-6369051672525773/2251799813685248 * q") == "-2.8284271247461903 * q");
  CHECK(readable_numbers_in("mul_4 / 1/3 and x12345678/12345678") == "mul_4 / 1/3 and x12345678/12345678");
  CHECK(readable_numbers_in("layers.0.mlp 12345678/2") == "layers.0.mlp 6172839");
}
