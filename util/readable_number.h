// Numbers as a person reads them in a report.
//
// Twin's constants are exact rationals (util/rational.h): a captured eps of 1e-5 is the double
// nearest it, 5902958103587057/590295810358705651712. That is the right value to compute with
// and the wrong one to show. Reports (twin check, verify counterexamples, gap diagnoses) print
// constants through readable_number(); rational_to_string() stays the exact, re-parsable form.
#pragma once

#include "util/rational.h"

#include <string>

namespace twin {

// An integer as it is ("3"); a short fraction as it is ("-1/3": both parts under a million);
// any other value as the shortest decimal that reads back as the same double ("1e-05",
// "2.8284271247461903"). The decimal may differ from the exact value in its last bits.
// Never throws (an integer too long to print exactly is shown as a double, too).
std::string readable_number(const Rational& value);

// Rewrites every exact fraction "NUM/DEN" in `text` with NUM or DEN longer than 6 digits as
// readable_number() of it; the rest of the text is unchanged. For text built by the exact
// printers (terms, attributes) that a report shows.
std::string readable_numbers_in(const std::string& text);

}  // namespace twin
