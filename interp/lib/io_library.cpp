#include "interp/lib/io_library.h"

#include "interp/lib/json_values.h"
#include "interp/script_budget.h"
#include "interp/value.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

namespace twin {

using json = nlohmann::ordered_json;

void open_io_library(Interpreter& interpreter) {
  interpreter.register_function("write_text", [](CallContext& c, CallArgs& a) {
    args::expect_count(a, 2, 2, "write_text");
    args::allow_named(a, {}, "write_text");
    const std::filesystem::path path =
        c.interpreter.resolve_script_path(args::string(a.positional[0], "the path", a.location), a.location);
    const Value& text = a.positional[1];
    if (!text.is_string()) throw Error(ErrorKind::Type, "write_text writes a string, not a " + text.type_name() + " (use str() or to_json())", a.location);
    c.interpreter.write_text(path, text.as_string(), a.location);
    return Value();
  });
  interpreter.register_function("to_json", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "to_json");
    args::allow_named(a, {"indent"}, "to_json");
    int indent = 2;
    if (const Value* i = a.find_named("indent")) indent = i->is_nil() ? -1 : int(args::integer(*i, "indent", a.location));
    std::string text = value_to_json(a.positional[0], a.location).dump(indent);
    reserve_memory(text.size(), a.location);
    return Value(std::move(text));
  });
  interpreter.register_function("parse_json", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "parse_json");
    args::allow_named(a, {}, "parse_json");
    const std::string& text = args::string(a.positional[0], "the JSON text", a.location);
    try {
      return value_from_json(json::parse(text));
    } catch (const nlohmann::json::parse_error& e) {
      // e.byte is the 1-based offset where the parser stopped: say the line and column of the text.
      std::size_t line = 1, column = 1;
      for (std::size_t k = 0; k + 1 < e.byte && k < text.size(); ++k) {
        if (text[k] == '\n') { ++line; column = 1; } else ++column;
      }
      std::string what = e.what();
      if (auto p = what.find("syntax error while parsing value - "); p != std::string::npos) what = what.substr(p + 35);
      throw Error(ErrorKind::Value, "parse_json: not JSON at line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + what,
                  a.location);
    }
  });
}

}  // namespace twin
