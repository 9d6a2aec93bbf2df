// Captured graphs (capture/graph.h, capture/graph_runner.h, load_graph in scripts): the
// `.graph` files here are written by hand (safetensors bytes + graph JSON), so the loader is
// tested independently of the Python capture tool.
#include "capture/graph.h"
#include "capture/graph_runner.h"
#include "util/error.h"
#include "interp/lib/graph_library.h"
#include "interp/interpreter.h"
#include "ops/tensor.h"
#include "graph_support.h"
#include "support.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

using namespace twin;
using json = nlohmann::json;
using namespace twin::testing;

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
    g.graph["nodes"][0]["outputs"][0]["shape"] = {2, 5};  // a wrong recorded shape: refused where it is read
    std::string m = load_error(g.bytes());
    CHECK(m.find("linear_0") != std::string::npos);
    CHECK(m.find("f32[2, 5]") != std::string::npos);
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
