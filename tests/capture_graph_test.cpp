// Captured graphs (capture/graph.h, capture/graph_runner.h, load_graph in scripts): the
// `.graph` files here are written by hand (safetensors bytes + graph JSON), so the loader is
// tested independently of the Python capture tool.
#include "capture/graph.h"
#include "capture/graph_runner.h"
#include "util/error.h"
#include "interp/lib/graph_library.h"
#include "interp/interpreter.h"
#include "ops/tensor.h"
#include "support.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

using namespace twin;
using json = nlohmann::json;
using twin::testing::TempDir;

namespace {

struct StoredTensor {
  std::string key;
  std::string dtype;  // safetensors: F32 BF16 I64 BOOL
  std::vector<std::int64_t> shape;
  std::vector<double> values;
};

void put_bytes(std::string& out, const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }

// A `.graph` file: safetensors with the graph JSON in __metadata__.graph.
std::string graph_file(const json& graph, const std::vector<StoredTensor>& tensors) {
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
  header["__metadata__"] = {{"format", "twin-graph"}, {"version", "1"}, {"graph", graph.dump()}};
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';
  std::uint64_t n = text.size();
  std::string out;
  put_bytes(out, &n, 8);
  return out + text + data;
}

json ref(const std::string& name) { return {{"ref", name}}; }
json type_json(const std::string& dtype, std::vector<std::int64_t> shape) { return {{"dtype", dtype}, {"shape", shape}}; }

std::vector<double> grid(std::size_t n, double scale, double offset) {
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

TinyGraph tiny_graph(const std::string& dtype, bool with_opaque = false) {
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
std::string load_error(const std::string& bytes, const std::string& file = "small.graph") {
  try {
    Graph::parse(bytes, file);
  } catch (const Error& e) {
    CHECK(e.kind() != ErrorKind::Assertion);
    return e.message();
  }
  return "";
}

}  // namespace

TEST_CASE("a .graph file loads: nodes, mapping, modules, parameters") {
  Graph g = Graph::parse(tiny_graph("f32").bytes(), "tiny.graph");
  CHECK(g.torch_version() == "1.13.1");
  CHECK(g.capture_dtype() == ops::DType::F32);
  REQUIRE(g.nodes().size() == 7);
  CHECK(g.nodes()[0].twin_op() == "linear");
  CHECK(g.nodes()[0].module == "proj");
  CHECK(g.nodes()[3].twin_op() == "cast");
  CHECK(g.nodes()[4].twin_op() == "mul+add");  // alpha: 1.5 * 2 first
  CHECK(g.nodes()[5].twin_op() == "chunk");
  CHECK(g.parameters().size() == 2);
  CHECK(g.opaque_ops().empty());
  CHECK(g.module_paths() == std::vector<std::string>{"proj", "act"});
  REQUIRE(g.modules().find("proj") != nullptr);
  CHECK(g.modules().find("proj")->type == "Linear");
  CHECK(g.modules().find("proj")->parameters.size() == 2);
  CHECK(g.module_tree().find("proj: Linear") != std::string::npos);
  CHECK(g.summary().find("7 nodes") != std::string::npos);
}

TEST_CASE("a graph runs as captured, at f32 and at bf16, and replays") {
  for (std::string dtype : {"f32", "bf16"}) {
    CAPTURE(dtype);
    Graph g = Graph::parse(tiny_graph(dtype).bytes(), "tiny.graph");
    auto replay = replay_graph(g);
    CHECK(replay.ok);
    CHECK(replay.max_rel_error == 0.0);
    CHECK(replay.tolerance == (dtype == "bf16" ? 1e-2 : 1e-6));

    RunResult captured = run_graph(g, {}, {});
    REQUIRE(captured.find("linear_0"));
    CHECK(captured.find("linear_0")->at(0).dtype() == (dtype == "bf16" ? ops::DType::BF16 : ops::DType::F32));
    CHECK(captured.find("chunk_0")->size() == 3);
    CHECK(captured.find("x"));

    RunResult f32 = run_graph(g, {}, {RunMode::F32});
    CHECK(f32.find("linear_0")->at(0).dtype() == ops::DType::F32);
    RunResult bf16 = run_graph(g, {}, {RunMode::BF16});
    CHECK(bf16.find("linear_0")->at(0).dtype() == ops::DType::BF16);
    CHECK(bf16.find("to_0")->at(0).dtype() == ops::DType::BF16);  // the cast to f32 becomes a cast to bf16
    // The fp32 run of the bf16 capture is close to its bf16 run.
    CHECK(ops::max_abs_difference(f32.outputs[0], bf16.outputs[0].to(ops::DType::F32)) < 0.5);

    // keep: only the named values come back (the outputs always do).
    RunOptions keep_one{RunMode::Captured, std::vector<std::string>{"silu_0"}};
    RunResult kept = run_graph(g, {}, keep_one);
    CHECK(kept.values.size() == 1);
    CHECK(kept.find("silu_0"));
    CHECK(kept.outputs.size() == 2);
  }
}

TEST_CASE("linear follows PyTorch's semantics (x @ w^T + b)") {
  Graph g = Graph::parse(tiny_graph("f32").bytes(), "tiny.graph");
  auto x = grid(8, 0.25, 0.125), w = grid(12, 0.125, 0), b = grid(3, 0.5, 0.25);
  auto lin = run_graph(g, {}, {}).find("linear_0")->at(0).to_doubles();
  for (int i = 0; i < 2; ++i)
    for (int o = 0; o < 3; ++o) {
      double s = b[o];
      for (int k = 0; k < 4; ++k) s += x[i * 4 + k] * w[o * 4 + k];
      CHECK(lin[i * 3 + o] == doctest::Approx(s).epsilon(1e-6));
    }
}

TEST_CASE("an unknown ATen op stays opaque, is reported, and does not run") {
  Graph g = Graph::parse(tiny_graph("f32", true).bytes(), "tiny.graph");
  REQUIRE(g.nodes().size() == 8);
  CHECK(g.nodes().back().opaque);
  CHECK(g.nodes().back().aten_op == "aten::frobnicate");
  CHECK(g.opaque_ops() == std::vector<std::string>{"aten::frobnicate"});
  CHECK(g.summary().find("aten::frobnicate") != std::string::npos);
  try {
    run_graph(g, {}, {});
    FAIL("an opaque node ran");
  } catch (const Error& e) {
    CHECK(std::string(e.message()).find("weird_0") != std::string::npos);
    CHECK(std::string(e.message()).find("tiny.graph") != std::string::npos);
  }
}

TEST_CASE("a truncated file is an error naming the file at every byte offset") {
  std::string bytes = tiny_graph("bf16").bytes();
  for (std::size_t k = 0; k < bytes.size(); ++k) {
    std::string message = load_error(bytes.substr(0, k));
    CAPTURE(k);
    REQUIRE(message.find("small.graph") != std::string::npos);
  }
  CHECK(load_error(bytes.substr(0, 200)).find("truncated") != std::string::npos);
  CHECK(load_error(bytes) == "");
}

TEST_CASE("corrupted bytes never crash the loader") {
  std::string bytes = tiny_graph("f32").bytes();
  std::mt19937 rng(42);
  for (int round = 0; round < 3000; ++round) {
    std::string copy = bytes;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) copy[rng() % copy.size()] = static_cast<char>(rng() % 256);
    try {
      Graph g = Graph::parse(copy, "small.graph");
      try {
        run_graph(g, {}, {});
      } catch (const Error&) {
      }
    } catch (const Error& e) {
      CHECK(e.message().find("small.graph") != std::string::npos);
    }
  }
}

TEST_CASE("malformed graphs: unknown references, wrong tensor sizes, bad JSON") {
  {
    TinyGraph g = tiny_graph("f32");
    g.graph["nodes"][1]["args"][0] = ref("nope");
    std::string m = load_error(g.bytes());
    CHECK(m.find("unknown reference 'nope'") != std::string::npos);
    CHECK(m.find("silu_0") != std::string::npos);
  }
  {
    TinyGraph g = tiny_graph("f32");  // a reference to a later node
    g.graph["nodes"][0]["args"][0] = ref("mul_0");
    CHECK(load_error(g.bytes()).find("unknown reference 'mul_0'") != std::string::npos);
  }
  {
    TinyGraph g = tiny_graph("f32");  // output index out of range
    g.graph["nodes"][6]["args"][0][1] = {{"ref", "chunk_0"}, {"output", 3}};
    CHECK(load_error(g.bytes()).find("cat_0") != std::string::npos);
  }
  {
    TinyGraph g = tiny_graph("f32");  // the graph says [4, 3], the file holds [3, 4]
    g.graph["parameters"][0]["shape"] = {4, 3};
    CHECK(load_error(g.bytes()).find("shape mismatch") != std::string::npos);
  }
  {
    TinyGraph g = tiny_graph("f32");  // the stored bytes do not fit the stored shape
    g.tensors[1].values.pop_back();
    std::string m = load_error(g.bytes());
    CHECK(m.find("proj.weight") != std::string::npos);
  }
  {
    TinyGraph g = tiny_graph("f32");
    g.graph["nodes"][0]["outputs"][0]["shape"] = {2, 5};  // a wrong recorded shape: run says where
    Graph graph = Graph::parse(g.bytes(), "small.graph");
    try {
      run_graph(graph, {}, {});
      FAIL("ran");
    } catch (const Error& e) {
      CHECK(e.message().find("linear_0") != std::string::npos);
    }
  }
  std::string bytes = tiny_graph("f32").bytes();
  std::string bad_json = bytes;
  bad_json[20] = '}';
  CHECK(load_error(bad_json).find("small.graph") != std::string::npos);
  CHECK(load_error("").find("truncated") != std::string::npos);
  try {
    Graph::load("/nonexistent/dir/x.graph");
    FAIL("loaded");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Io);
    CHECK(e.message().find("x.graph") != std::string::npos);
  }
}

TEST_CASE("scripts load, inspect, run and replay graphs") {
  TempDir dir;
  dir.write("tiny.graph", tiny_graph("bf16").bytes());
  dir.write("trunc.graph", tiny_graph("bf16").bytes().substr(0, 200));
  dir.write("opaque.graph", tiny_graph("f32", true).bytes());
  InterpreterOptions options;
  options.allowed_read_dirs = {dir.path};
  std::string printed;
  options.output = [&](std::string_view s) { printed += s; };
  Interpreter in(options);
  open_graph_library(in);
  in.set_global("dir", Value(dir.path.string()));
  in.eval_string(R"(
let g = load_graph(dir + "/tiny.graph")
let r = g.replay()
assert r.ok
print(g)
print(r)
let v = g.run(dtype="f32", keep=["linear_0", "chunk_0"])
let t = v["linear_0"]
print(t)
let nodes = g.nodes
let first = nodes[0]
let opaque = load_graph(dir + "/opaque.graph").opaque_ops
)");
  CHECK(printed.find("torch 1.13.1") != std::string::npos);
  CHECK(printed.find("proj: Linear") != std::string::npos);
  CHECK(printed.find("tensor f32[2, 3]") != std::string::npos);
  CHECK(in.eval_string("t.shape").to_repr() == "[2, 3]");
  CHECK(in.eval_string("t.dtype").to_repr() == "\"f32\"");
  CHECK(in.eval_string("len(t.to_list())").to_repr() == "2");
  CHECK(in.eval_string("len(v[\"chunk_0\"])").to_repr() == "3");
  CHECK(in.eval_string("first[\"op\"]").to_repr() == "\"aten::linear\"");
  CHECK(in.eval_string("first[\"module\"]").to_repr() == "\"proj\"");
  CHECK(in.eval_string("opaque").to_repr() == "[\"aten::frobnicate\"]");
  CHECK(in.eval_string("g.module_paths").to_repr() == "[\"proj\", \"act\"]");
  CHECK(in.eval_string("g.modules.find(\"proj\").type").to_repr() == "\"Linear\"");
  CHECK(in.eval_string("g.torch_version").to_repr() == "\"1.13.1\"");
  // An input list that contains itself is refused at the input's rank, not followed forever.
  try {
    in.eval_string("let row = [1, 2, 3]\nappend(row, row)\ng.run(inputs={\"x\": [row, row]})");
    FAIL("ran a graph on a list that contains itself");
  } catch (const Error& e) {
    CHECK(e.message().find("nests lists deeper than its 2 dimensions") != std::string::npos);
  }
  try {
    in.eval_string("load_graph(dir + \"/trunc.graph\")");
    FAIL("loaded a truncated graph");
  } catch (const Error& e) {
    CHECK(e.kind() != ErrorKind::Assertion);  // the CLI exits 2
    CHECK(e.format().find("trunc.graph") != std::string::npos);
  }
  try {
    in.eval_string("load_graph(\"/etc/passwd\")");
    FAIL("read outside the allowed directories");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Permission);
  }
}

TEST_CASE("the graphs of examples/llama replay (when the capture tool has shipped them)") {
  std::filesystem::path dir = std::filesystem::path(TWIN_SOURCE_DIR) / "examples" / "llama";
  if (!std::filesystem::exists(dir / "reference.graph")) MESSAGE("skipped: " << (dir / "reference.graph").string() << " does not exist yet");
  if (!std::filesystem::exists(dir)) return;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().extension() != ".graph") continue;
    CAPTURE(entry.path().string());
    Graph g = Graph::load(entry.path());
    CHECK(g.opaque_ops().empty());
    auto r = replay_graph(g);
    MESSAGE(entry.path().filename().string() << ": max_rel_error " << r.max_rel_error);
    CHECK(r.ok);
    // The fp32-promoted run agrees with the capture's outputs within the capture's tolerance.
    auto f32 = run_graph(g, {}, {RunMode::F32, std::vector<std::string>{}});
    CHECK(f32.outputs.size() == g.outputs().size());
    if (entry.path().filename() == "reference.graph")
      for (const char* m : {"layers.0.self_attn.q_proj", "layers.0.mlp", "norm", "lm_head"}) CHECK(g.modules().find(m));
  }
}
