// The Z3 boundary: only verify/ includes z3++.h. The language front end knows nothing of Z3.
#pragma once

#include <string>

namespace twin::verify {

// The Z3 version this Twin runs with, e.g. "4.8.12".
std::string z3_version();

}  // namespace twin::verify
