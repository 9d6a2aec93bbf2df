// Which registered ops have a Z3 encoding (verify/z3/): the question a tool may ask without
// including Z3's headers (only verify/ includes z3++.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace twin::verify {

// The Z3 encoding table (verify/z3/op_encoding.h), keyed by the registered op names of
// ops/op_spec.h: whether `registered_name` has an encoding (an alias does not count), and every
// name that has one, sorted. Every op whose validation is Symbolic has one.
bool has_z3_encoding(std::string_view registered_name);
std::vector<std::string> z3_encoded_ops();
// Whether encode() knows `op`, by its registered name or an alias (`view`, `to`).
bool is_encodable(std::string_view op);

}  // namespace twin::verify
