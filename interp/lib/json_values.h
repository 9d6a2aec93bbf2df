// Script values as JSON and back: what to_json/parse_json (the io library) and the libraries
// that hand a JSON report to scripts (check_graphs, the stages) share.
#pragma once

#include "interp/value.h"

#include <nlohmann/json.hpp>

namespace twin {

// JSON <-> script values. JSON integers become exact numbers, other JSON numbers floats; an
// ordered_json keeps the text's key order in the map (a json sorts the keys). Going to JSON,
// an exact number is an integer when it is one (within int64), else a double; a non-finite
// float is `null`; a map key must be a string. Throws Error (Type) naming `where`.
Value value_from_json(const nlohmann::json& json);
Value value_from_json(const nlohmann::ordered_json& json);
nlohmann::ordered_json value_to_json(const Value& value, const SourceLocation& where);

}  // namespace twin
