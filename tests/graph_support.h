// Hand-written `.graph` files for the capture tests: safetensors bytes plus graph JSON, built
// here so the reader is tested independently of the Python capture tool.
#pragma once

#include "capture/graph.h"
#include "ops/tensor.h"
#include "util/error.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace twin::testing {

using json = nlohmann::json;

struct StoredTensor {
  std::string key;
  std::string dtype;  // safetensors: F32 BF16 I64 BOOL
  std::vector<std::int64_t> shape;
  std::vector<double> values;
};

inline void put_bytes(std::string& out, const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }

// A `.graph` file: safetensors with the graph JSON text in __metadata__.graph.
inline std::string graph_file(const std::string& graph_text, const std::vector<StoredTensor>& tensors) {
  json header = json::object();
  std::string data;
  for (const auto& t : tensors) {
    std::size_t begin = data.size();
    for (double v : t.values) {
      if (t.dtype == "F32") {
        float f = static_cast<float>(v);
        put_bytes(data, &f, 4);
      } else if (t.dtype == "BF16") {
        float f = static_cast<float>(v);
        std::uint32_t bits;
        std::memcpy(&bits, &f, 4);
        std::uint16_t top = static_cast<std::uint16_t>(bits >> 16);  // values here are exact in bf16
        put_bytes(data, &top, 2);
      } else if (t.dtype == "I64") {
        std::int64_t i = static_cast<std::int64_t>(v);
        put_bytes(data, &i, 8);
      } else if (t.dtype == "BOOL") {
        char c = v != 0;
        put_bytes(data, &c, 1);
      }
    }
    header[t.key] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  header["__metadata__"] = {{"format", "twin-graph"}, {"version", "1"}, {"graph", graph_text}};
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';
  std::uint64_t n = text.size();
  std::string out;
  put_bytes(out, &n, 8);
  return out + text + data;
}
inline std::string graph_file(const json& graph, const std::vector<StoredTensor>& tensors) {
  return graph_file(graph.dump(), tensors);
}

inline json ref(const std::string& name) { return {{"ref", name}}; }
inline json type_json(const std::string& dtype, std::vector<std::int64_t> shape) { return {{"dtype", dtype}, {"shape", shape}}; }

inline std::vector<double> grid(std::size_t n, double scale, double offset) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = (static_cast<double>((i * 7) % 11) - 5) * scale + offset;  // multiples of 1/8: exact in bf16
  return v;
}

// linear -> silu -> mul -> to -> add(alpha) at `dtype` ("f32" or "bf16"), with example outputs
// computed by Twin's own ops (so replay checks the loader and runner, not libtorch).
struct TinyGraph {
  json graph;
  std::vector<StoredTensor> tensors;
  std::string bytes() const { return graph_file(graph, tensors); }
};

inline TinyGraph tiny_graph(const std::string& dtype, bool with_opaque = false) {
  std::string st = dtype == "bf16" ? "BF16" : "F32";
  ops::DType d = dtype == "bf16" ? ops::DType::BF16 : ops::DType::F32;
  auto x = grid(8, 0.25, 0.125), w = grid(12, 0.125, 0), b = grid(3, 0.5, 0.25);
  TinyGraph g;
  g.tensors = {{"input/x", st, {2, 4}, x}, {"parameter/proj.weight", st, {3, 4}, w}, {"parameter/proj.bias", st, {3}, b}};
  json nodes = json::array();
  nodes.push_back({{"name", "linear_0"}, {"op", "aten::linear"}, {"args", {ref("x"), ref("proj.weight"), ref("proj.bias")}},
                   {"kwargs", json::object()}, {"outputs", {type_json(dtype, {2, 3})}}, {"module", "proj"}, {"module_type", "Linear"}});
  nodes.push_back({{"name", "silu_0"}, {"op", "aten::silu"}, {"args", {ref("linear_0")}}, {"kwargs", json::object()},
                   {"outputs", {type_json(dtype, {2, 3})}}, {"module", "act"}, {"module_type", "SiLU"}});
  nodes.push_back({{"name", "mul_0"}, {"op", "aten::mul"}, {"args", {ref("silu_0"), ref("linear_0")}},
                   {"outputs", {type_json(dtype, {2, 3})}}, {"module", ""}});
  nodes.push_back({{"name", "to_0"}, {"op", "aten::to"}, {"args", {ref("mul_0"), {{"dtype", "f32"}}, false, false, nullptr}},
                   {"outputs", {type_json("f32", {2, 3})}}, {"module", ""}});
  nodes.push_back({{"name", "add_0"}, {"op", "aten::add"}, {"args", {ref("to_0"), 1.5, 2}},
                   {"outputs", {type_json("f32", {2, 3})}}, {"module", ""}});
  nodes.push_back({{"name", "chunk_0"}, {"op", "aten::chunk"}, {"args", {ref("add_0"), 3, -1}},
                   {"outputs", {type_json("f32", {2, 1}), type_json("f32", {2, 1}), type_json("f32", {2, 1})}}, {"module", ""}});
  nodes.push_back({{"name", "cat_0"}, {"op", "aten::cat"}, {"args", {{ref("chunk_0"), {{"ref", "chunk_0"}, {"output", 2}}}, -1}},
                   {"outputs", {type_json("f32", {2, 2})}}, {"module", ""}});
  if (with_opaque)
    nodes.push_back({{"name", "weird_0"}, {"op", "aten::frobnicate"}, {"args", {ref("cat_0"), 3}},
                     {"outputs", {type_json("f32", {2, 2})}}, {"module", "act"}});
  g.graph = {{"format", "twin-graph"},
             {"version", 1},
             {"torch_version", "1.13.1"},
             {"capture", {{"method", "jit.trace"}, {"dtype", dtype}, {"source", "test"}}},
             {"inputs", {{{"name", "x"}, {"dtype", dtype}, {"shape", {2, 4}}, {"tensor", "input/x"}}}},
             {"parameters",
              {{{"name", "proj.weight"}, {"dtype", dtype}, {"shape", {3, 4}}, {"tensor", "parameter/proj.weight"}},
               {{"name", "proj.bias"}, {"dtype", dtype}, {"shape", {3}}, {"tensor", "parameter/proj.bias"}}}},
             {"buffers", json::array()},
             {"constants", json::array()},
             {"nodes", nodes},
             {"outputs", {ref("add_0"), ref("cat_0")}},
             {"example_outputs", {"output/0", "output/1"}}};
  // The expected outputs, through Twin's ops in the graph's dtype.
  auto X = ops::Tensor::from_doubles(x, {2, 4}, d), W = ops::Tensor::from_doubles(w, {3, 4}, d),
       B = ops::Tensor::from_doubles(b, {3}, d);
  auto lin = ops::evaluate("linear", {X, W, B}, {})[0];
  auto m = ops::evaluate("mul", {ops::evaluate("silu", {lin}, {})[0], lin}, {})[0].to(ops::DType::F32);
  auto add = ops::evaluate("add", {m, ops::Tensor::python_scalar(3.0)}, {})[0];
  auto v = add.to_doubles();
  g.tensors.push_back({"output/0", "F32", {2, 3}, v});
  g.tensors.push_back({"output/1", "F32", {2, 2}, {v[0], v[2], v[3], v[5]}});
  return g;
}

// The error a load gives, or "" when it loads.
inline std::string load_error(const std::string& bytes, const std::string& file = "small.graph") {
  try {
    Graph::parse(bytes, file);
  } catch (const Error& e) {
    CHECK(e.kind() != ErrorKind::Assertion);
    return e.message();
  }
  return "";
}

}  // namespace twin::testing
