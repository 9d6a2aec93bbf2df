// Port inputs the reference has no counterpart for (check/port_inputs.h): a port that takes
// positions beside its input, which the reference computes inside as arange, is checked with
// the positions fixed at their example value, and the verdict says so; an extra input whose
// value the reference does not compute from constants is an error naming it.
#include "check/equivalence_check.h"
#include "check/port_inputs.h"
#include "interp/rule_files.h"
#include "util/error.h"

#include "graph_support.h"

#include <doctest/doctest.h>

#include <string>

using namespace twin;
using namespace twin::testing;

namespace {

json graph_json(json inputs, json nodes, json outputs = {ref("add_0")}) {
  return {{"format", "twin-graph"},
          {"version", 1},
          {"torch_version", "2.11.0"},
          {"capture", {{"method", "jit.trace"}, {"dtype", "f32"}, {"source", "test"}}},
          {"inputs", inputs},
          {"parameters", json::array()},
          {"buffers", json::array()},
          {"constants", json::array()},
          {"nodes", nodes},
          {"outputs", outputs}};
}

// x + arange(4), the positions computed inside (HF's position_ids).
Graph reference() {
  json nodes = json::array();
  nodes.push_back({{"name", "arange_0"}, {"op", "aten::arange"}, {"args", {4}}, {"kwargs", {{"dtype", {{"dtype", "i64"}}}}},
                   {"outputs", {type_json("i64", {4})}}, {"module", ""}});
  nodes.push_back({{"name", "to_0"}, {"op", "aten::to"}, {"args", {ref("arange_0"), {{"dtype", "f32"}}, false, false, nullptr}},
                   {"outputs", {type_json("f32", {4})}}, {"module", ""}});
  nodes.push_back({{"name", "add_0"}, {"op", "aten::add"}, {"args", {ref("x"), ref("to_0")}},
                   {"outputs", {type_json("f32", {1, 4})}}, {"module", ""}});
  json inputs = {{{"name", "x"}, {"dtype", "f32"}, {"shape", {1, 4}}, {"tensor", "input/x"}}};
  return Graph::parse(graph_file(graph_json(inputs, nodes), {{"input/x", "F32", {1, 4}, grid(4, 0.25, 0.125)}}), "reference.graph");
}

// x + positions, the positions an input (vLLM's forward(input_ids, positions)); with
// `two_outputs`, the positions (as f32) returned too, as a port returns its cache.
Graph port(std::vector<double> positions, bool two_outputs = false) {
  json nodes = json::array();
  nodes.push_back({{"name", "to_0"}, {"op", "aten::to"}, {"args", {ref("positions"), {{"dtype", "f32"}}, false, false, nullptr}},
                   {"outputs", {type_json("f32", {4})}}, {"module", ""}});
  nodes.push_back({{"name", "add_0"}, {"op", "aten::add"}, {"args", {ref("x"), ref("to_0")}},
                   {"outputs", {type_json("f32", {1, 4})}}, {"module", ""}});
  json inputs = {{{"name", "x"}, {"dtype", "f32"}, {"shape", {1, 4}}, {"tensor", "input/x"}},
                 {{"name", "positions"}, {"dtype", "i64"}, {"shape", {4}}, {"tensor", "input/positions"}}};
  json outputs = two_outputs ? json{ref("add_0"), ref("to_0")} : json{ref("add_0")};
  return Graph::parse(graph_file(graph_json(inputs, nodes, outputs), {{"input/x", "F32", {1, 4}, grid(4, 0.25, 0.125)},
                                                             {"input/positions", "I64", {4}, positions}}),
                      "port.graph");
}

}  // namespace

TEST_CASE("a port input the reference computes inside is fixed at its example value, and the verdict says so") {
  const Graph ref = reference();
  const Graph p = port({0, 1, 2, 3});
  check::FixedPortInputs fixed = check::fix_extra_port_inputs(ref, p);
  REQUIRE(fixed.port);
  CHECK(fixed.port->inputs().size() == 1);
  REQUIRE(fixed.fixed.size() == 1);
  CHECK(fixed.fixed[0].name == "positions");
  CHECK(fixed.fixed[0].reference_node == "arange_0");
  CHECK(fixed.fixed[0].value == "[0, 1, 2, 3]");

  check::CheckOptions o;
  o.synthesis.enabled = false;
  check::CheckResult r = check::check_equivalence(ref, p, nullptr, o);
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  REQUIRE(r.fixed_inputs.size() == 1);
  CHECK(r.to_text().find("assuming the port's input positions is fixed at its example value [0, 1, 2, 3]") != std::string::npos);
  CHECK(r.to_json().find("\"fixed_inputs\"") != std::string::npos);
}

TEST_CASE("an extra port input whose value the reference does not compute is an error, not an assumption") {
  // positions one step ahead: fixing them would prove the port for that one value only.
  const Graph ref = reference();
  try {
    check::fix_extra_port_inputs(ref, port({1, 2, 3, 4}));
    FAIL("an error was expected");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Value);
    CHECK(std::string(e.what()).find("port.graph: the port takes input positions") != std::string::npos);
    CHECK(std::string(e.what()).find("no value the reference computes from its constants") != std::string::npos);
  }
  // Without an extra input nothing is fixed.
  CHECK_FALSE(check::fix_extra_port_inputs(ref, ref).port);
}

TEST_CASE("a port that returns more than the reference is compared on the reference's outputs, and says what it left out") {
  check::CheckOptions o;
  o.synthesis.enabled = false;
  check::CheckResult r = check::check_equivalence(reference(), port({0, 1, 2, 3}, true), nullptr, o);
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  CHECK(r.unpaired_outputs == std::vector<std::string>{"to_0"});
  CHECK(r.to_text().find("not compared: the port's output to_0 (the reference returns 1 output") != std::string::npos);
  CHECK(json::parse(r.to_json())["unpaired_port_outputs"] == json::array({"to_0"}));
}

namespace {

// x + positions over vLLM's token layout: x is [4] where the reference's is [1, 4] (or
// `shape`), and the sum is returned as it is, [4]. `sign` -1 subtracts instead (a bug).
Graph flat_port(std::vector<std::int64_t> shape, double sign = 1) {
  json nodes = json::array();
  nodes.push_back({{"name", "to_0"}, {"op", "aten::to"}, {"args", {ref("positions"), {{"dtype", "f32"}}, false, false, nullptr}},
                   {"outputs", {type_json("f32", {4})}}, {"module", ""}});
  nodes.push_back({{"name", "add_0"}, {"op", "aten::add"}, {"args", {ref("x"), ref("to_0"), sign}},
                   {"outputs", {type_json("f32", shape)}}, {"module", ""}});
  json inputs = {{{"name", "x"}, {"dtype", "f32"}, {"shape", shape}, {"tensor", "input/x"}},
                 {{"name", "positions"}, {"dtype", "i64"}, {"shape", {4}}, {"tensor", "input/positions"}}};
  return Graph::parse(graph_file(graph_json(inputs, nodes), {{"input/x", "F32", shape, grid(4, 0.25, 0.125)},
                                                             {"input/positions", "I64", {4}, {0, 1, 2, 3}}}),
                      "port.graph");
}

}  // namespace

TEST_CASE("a port input and output that differ from the reference's by unit dims are read in its shapes, and the verdict says so") {
  // vLLM's forward(input_ids [num_tokens], positions) -> [num_tokens, vocab] against HF's [1, seq].
  // The stdlib has no rule moving the unit dim through the sum: synthesis makes one.
  check::CheckOptions o;
  RuleFiles stdlib;
  check::CheckResult r = check::check_equivalence(reference(), flat_port({4}), load_rule_files(stdlib), o);
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  REQUIRE(r.reshaped.size() == 2);
  CHECK(r.to_text().find("reshaped: the port's input x f32[4] is read from the reference's f32[1, 4]") != std::string::npos);
  CHECK(r.to_text().find("reshaped: the port's output add_0 f32[4] is compared as the reference's f32[1, 4]") != std::string::npos);
  CHECK(json::parse(r.to_json())["reshaped_port_values"].size() == 2);
  CHECK(r.fixed_inputs.size() == 1);  // positions, as before

  // The reshape hides no difference: x - positions is not equivalent.
  check::CheckResult bug = check::check_equivalence(reference(), flat_port({4}, -1), nullptr, o);
  CHECK(bug.verdict == check::CheckVerdict::NotEquivalent);

  // Another layout of the same number of elements is no unit-dim difference: an error.
  CHECK_THROWS_AS(check::check_equivalence(reference(), flat_port({2, 2}), nullptr, o), Error);
}
