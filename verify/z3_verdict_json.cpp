#include "verify/z3_verdict_json.h"

#include "ops/dtype.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace twin::verify {

namespace {

using nlohmann::json;
using Shape = std::vector<std::int64_t>;

std::string hex_of(long double x) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%La", x);
  return buffer;
}

json instance_json(const Z3Instance& inst) {
  json tensors = json::object(), integers = json::object();
  for (const auto& [name, t] : inst.tensors)
    tensors[name] = {{"dtype", std::string(ops::dtype_name(t.dtype))}, {"shape", t.shape}, {"python_scalar", t.python_scalar}};
  for (const auto& [name, v] : inst.integers) integers[name] = v;
  return {{"tensors", tensors}, {"integers", integers}, {"variant", inst.variant}};
}

Z3Instance instance_from(const json& j) {
  Z3Instance inst;
  for (const auto& [name, t] : j.at("tensors").items()) {
    ops::TensorType type;
    auto dtype = ops::parse_dtype(t.at("dtype").get<std::string>());
    if (!dtype) throw std::runtime_error("bad dtype in an isolated verdict");
    type.dtype = *dtype;
    type.shape = t.at("shape").get<Shape>();
    type.python_scalar = t.at("python_scalar").get<bool>();
    inst.tensors[name] = type;
  }
  for (const auto& [name, v] : j.at("integers").items()) inst.integers[name] = v.get<std::int64_t>();
  inst.variant = j.at("variant").get<bool>();
  return inst;
}

json tensor_json(const ConcreteTensor& t) {
  json exact = json::array(), approx = json::array();
  for (const auto& e : t.exact) exact.push_back(e ? json(rational_to_string(*e)) : json(nullptr));
  for (auto a : t.approx) approx.push_back(hex_of(a));
  return {{"shape", t.shape}, {"exact", exact}, {"approx", approx}, {"text", t.text}};
}

ConcreteTensor tensor_from(const json& j) {
  ConcreteTensor t;
  t.shape = j.at("shape").get<Shape>();
  for (const auto& e : j.at("exact")) {
    if (e.is_null()) {
      t.exact.push_back(std::nullopt);
      continue;
    }
    auto r = parse_rational(e.get<std::string>());
    if (!r) throw std::runtime_error("bad rational in an isolated verdict");
    t.exact.push_back(*r);
  }
  for (const auto& a : j.at("approx")) t.approx.push_back(std::strtold(a.get<std::string>().c_str(), nullptr));
  t.text = j.at("text").get<std::vector<std::string>>();
  return t;
}

}  // namespace

std::string verdict_to_text(const Z3Verdict& v) {
  json j;
  j["status"] = static_cast<int>(v.status);
  j["reason"] = v.reason;
  j["not_encodable"] = v.not_encodable;
  j["uninterpreted"] = v.uninterpreted;
  json instances = json::array();
  for (const auto& r : v.instances)
    instances.push_back({{"instance", instance_json(r.instance)}, {"result", r.result}, {"seconds", r.seconds}});
  j["instances"] = instances;
  if (v.counterexample) {
    const Z3Counterexample& c = *v.counterexample;
    json inputs = json::object();
    for (const auto& [name, t] : c.inputs) inputs[name] = tensor_json(t);
    j["counterexample"] = {{"instance", instance_json(c.instance)}, {"inputs", inputs}, {"lhs", tensor_json(c.lhs)},
                           {"rhs", tensor_json(c.rhs)}, {"note", c.note}};
  }
  j["numeric_confirmation"] = v.numeric_confirmation;
  j["seconds"] = v.seconds;
  // Invalid UTF-8 in a reason (Z3's messages are ASCII) must not stop the verdict.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Z3Verdict verdict_from_text(const std::string& text) {
  json j = json::parse(text);
  Z3Verdict v;
  int status = j.at("status").get<int>();
  if (status < 0 || status > static_cast<int>(Z3Status::NotEncodable)) throw std::runtime_error("bad status in an isolated verdict");
  v.status = static_cast<Z3Status>(status);
  v.reason = j.at("reason").get<std::string>();
  v.not_encodable = j.at("not_encodable").get<std::vector<std::string>>();
  v.uninterpreted = j.at("uninterpreted").get<std::vector<std::string>>();
  for (const auto& r : j.at("instances"))
    v.instances.push_back(Z3InstanceResult{instance_from(r.at("instance")), r.at("result").get<std::string>(),
                                           r.at("seconds").get<double>()});
  if (j.contains("counterexample")) {
    const json& c = j.at("counterexample");
    Z3Counterexample cex;
    cex.instance = instance_from(c.at("instance"));
    for (const auto& [name, t] : c.at("inputs").items()) cex.inputs[name] = tensor_from(t);
    cex.lhs = tensor_from(c.at("lhs"));
    cex.rhs = tensor_from(c.at("rhs"));
    cex.note = c.at("note").get<std::string>();
    v.counterexample = std::move(cex);
  }
  v.numeric_confirmation = j.at("numeric_confirmation").get<bool>();
  v.seconds = j.at("seconds").get<double>();
  return v;
}

}  // namespace twin::verify
