// Internal to verify/: a Z3Verdict as text, so that it can cross the process boundary of an
// isolated check (verify/isolated_call.h) and come back unchanged.
//
// The text is JSON. Long doubles travel as hexadecimal floating-point text ("%La"), which is
// exact; rationals as their exact text ("-1/2"). Invalid UTF-8 in a reason is replaced, never
// fatal. verdict_from_text throws on text it cannot read (the caller then reports the check as
// failed: unknown, never proved).
#pragma once

#include "verify/z3_checker.h"

#include <string>

namespace twin::verify {

std::string verdict_to_text(const Z3Verdict& verdict);
Z3Verdict verdict_from_text(const std::string& text);

}  // namespace twin::verify
