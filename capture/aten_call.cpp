// The neutral ATen call: argument lookup, op-name parsing, and the printing used in the
// reasons an op stays opaque.
#include "capture/aten_call.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace twin::capture {

namespace {

using json = nlohmann::json;

json to_json(const AtenValue& v) {
  struct Visitor {
    json operator()(const AtenValue::None&) const { return nullptr; }
    json operator()(const GraphRef& r) const {
      json j = {{"ref", r.name}};
      if (r.output) j["output"] = r.output;
      return j;
    }
    json operator()(std::int64_t i) const { return i; }
    json operator()(double d) const {
      if (std::isnan(d)) return {{"float", "nan"}};
      if (std::isinf(d)) return {{"float", d < 0 ? "-inf" : "inf"}};
      return d;
    }
    json operator()(bool b) const { return b; }
    json operator()(const std::string& s) const { return s; }
    json operator()(const AtenValue::List& list) const {
      json j = json::array();
      for (const auto& e : list) j.push_back(to_json(e));
      return j;
    }
    json operator()(const AtenValue::DType& d) const { return {{"dtype", d.spelling}}; }
    json operator()(const AtenValue::Device& d) const { return {{"device", d.name}}; }
    json operator()(const AtenValue::Layout& l) const { return {{"layout", l.name}}; }
    json operator()(const AtenValue::MemoryFormat& m) const { return {{"memory_format", m.name}}; }
    json operator()(const AtenValue::Other& o) const {
      json j = json::parse(o.text, nullptr, false);
      return j.is_discarded() ? json(o.text) : j;
    }
  };
  return std::visit(Visitor{}, v.value);
}

}  // namespace

double AtenValue::number() const {
  return is_int() ? static_cast<double>(int_value()) : std::get<double>(value);
}

std::string AtenValue::to_string() const { return to_json(*this).dump(); }

const AtenValue* AtenCall::get(std::size_t i, std::string_view name) const {
  if (i < args.size() && !args[i].is_none()) return &args[i];
  auto it = kwargs.find(name);
  if (it != kwargs.end() && !it->second.is_none()) return &it->second;
  return nullptr;
}

std::optional<AtenOpName> parse_aten_op_name(std::string_view qualified) {
  constexpr std::string_view prefix = "aten::";
  if (qualified.substr(0, prefix.size()) != prefix) return std::nullopt;
  AtenOpName out;
  out.name = std::string(qualified.substr(prefix.size()));
  if (auto dot = out.name.find('.'); dot != std::string::npos) {
    out.overload = out.name.substr(dot + 1);
    out.name.resize(dot);
  }
  const std::string& n = out.name;
  if (n.size() > 1 && n.back() == '_' && n[n.size() - 2] != '_') {
    out.name.pop_back();
    out.in_place = true;
  }
  return out;
}

std::optional<ops::DType> dtype_from_name(std::string_view name) {
  if (name == "i16" || name == "i8" || name == "u8" || name == "int16" || name == "int8" || name == "uint8")
    return ops::DType::I32;
  return ops::parse_dtype(name);
}

}  // namespace twin::capture
