// Graph files are validated, not trusted (capture/graph_validation.h, capture/tensor_limits.h,
// capture/safetensors.h): each kind of impossible metadata is refused with a message naming
// the file and, inside the graph, the node or value; the shipped example graphs load.
#include "capture/graph.h"
#include "capture/graph_validation.h"
#include "capture/safetensors.h"
#include "capture/tensor_limits.h"
#include "graph_support.h"
#include "util/error.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <string>

using namespace twin;
using namespace twin::testing;

namespace {

bool has(const std::string& message, const std::string& part) { return message.find(part) != std::string::npos; }

// The refusal of `g` as "bad.graph": it must name the file.
std::string refusal(const TinyGraph& g) {
  std::string m = load_error(g.bytes(), "bad.graph");
  CAPTURE(m);
  CHECK(has(m, "bad.graph"));
  return m;
}

// tiny_graph's bytes with `extra` bytes appended after the data.
std::string with_trailing(const std::string& bytes, std::size_t extra) { return bytes + std::string(extra, '\0'); }

}  // namespace

TEST_CASE("the shipped example graphs load") {
  std::filesystem::path examples = std::filesystem::path(TWIN_SOURCE_DIR) / "examples";
  int loaded = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(examples)) {
    if (entry.path().extension() != ".graph") continue;
    CAPTURE(entry.path().string());
    CHECK_NOTHROW(Graph::load(entry.path()));
    ++loaded;
  }
  MESSAGE(loaded << " example graphs");
  CHECK(load_error(tiny_graph("f32").bytes()) == "");
  CHECK(load_error(tiny_graph("bf16", true).bytes()) == "");
}

TEST_CASE("a recorded shape that does not fit in memory is refused before anything is allocated") {
  SUBCASE("a node's output of 2^40 elements") {
    TinyGraph g = tiny_graph("f32");
    g.graph["nodes"][1]["outputs"][0]["shape"] = {std::int64_t(1) << 40};
    std::string m = refusal(g);
    CHECK(has(m, "node 'silu_0' (aten::silu)"));
    CHECK(has(m, "needs more than 1 TiB"));
  }
  SUBCASE("sizes whose product overflows 64 bits") {
    TinyGraph g = tiny_graph("f32");
    g.graph["nodes"][1]["outputs"][0]["shape"] = {std::int64_t(1) << 32, std::int64_t(1) << 32, 0};
    CHECK(has(refusal(g), "silu_0"));
  }
  SUBCASE("an input captured without its tensor") {
    TinyGraph g = tiny_graph("f32");
    g.graph["inputs"][0]["shape"] = {1 << 20, 1 << 20, 1 << 20};
    g.graph["inputs"][0]["tensor"] = nullptr;
    std::string m = refusal(g);
    CHECK(has(m, "input 'x'"));
    CHECK(has(m, "1 TiB"));
  }
  SUBCASE("a size past int64") {
    TinyGraph g = tiny_graph("f32");
    g.graph["nodes"][0]["outputs"][0]["shape"] = {std::uint64_t(1) << 63};
    CHECK(has(refusal(g), "linear_0"));
  }
}

TEST_CASE("a rank above 64 is refused") {
  TinyGraph g = tiny_graph("f32");
  g.graph["nodes"][1]["outputs"][0]["shape"] = std::vector<std::int64_t>(10000, 1);
  std::string m = refusal(g);
  CHECK(has(m, "silu_0"));
  CHECK(has(m, "rank 10000 is more than 64"));
  CHECK(m.size() < 400);  // the shape itself is not printed
  g.graph["nodes"][1]["outputs"][0]["shape"] = std::vector<std::int64_t>(64, 1);
  CHECK(has(refusal(g), "output 0 is recorded as f32[1, 1,"));  // admitted by the limit, refused by inference
}

TEST_CASE("recorded types are compared with what the ops infer") {
  SUBCASE("a wrong shape names the node and both types") {
    TinyGraph g = tiny_graph("f32");
    g.graph["nodes"][1]["outputs"][0]["shape"] = {2, 4};
    std::string m = refusal(g);
    CHECK(has(m, "node 'silu_0' (aten::silu)"));
    CHECK(has(m, "recorded as f32[2, 4], but silu gives f32[2, 3]"));
  }
  SUBCASE("a wrong dtype") {
    TinyGraph g = tiny_graph("f32");
    g.graph["nodes"][2]["outputs"][0]["dtype"] = "bf16";
    std::string m = refusal(g);
    CHECK(has(m, "node 'mul_0'"));
    CHECK(has(m, "recorded as bf16[2, 3], but mul gives f32[2, 3]"));
  }
  SUBCASE("a cast's recorded dtype is the one it casts to") {
    TinyGraph g = tiny_graph("bf16");
    g.graph["nodes"][3]["outputs"][0]["dtype"] = "bf16";  // to(f32) recorded as bf16
    CHECK(has(refusal(g), "node 'to_0'"));
  }
  SUBCASE("a wrong number of outputs of a multi-output op") {
    TinyGraph g = tiny_graph("f32");
    g.graph["nodes"][5]["outputs"].push_back(type_json("f32", {2, 1}));
    std::string m = refusal(g);
    CHECK(has(m, "node 'chunk_0'"));
    CHECK(has(m, "4 output(s) recorded, but chunk gives 3"));
  }
  SUBCASE("operands that do not fit the op") {
    TinyGraph g = tiny_graph("f32");
    g.graph["parameters"][0]["shape"] = {3, 5};  // linear's weight, captured without its tensor
    g.graph["parameters"][0]["tensor"] = nullptr;
    std::string m = refusal(g);
    CHECK(has(m, "node 'linear_0' (aten::linear)"));
    CHECK(has(m, "f32[2, 4], f32[3, 5], f32[3]"));
  }
  SUBCASE("a wrong type does not reach the nodes that read it") {
    // mul_0 reads silu_0 and linear_0: the first wrong node is the one refused.
    TinyGraph g = tiny_graph("f32");
    g.graph["nodes"][0]["outputs"][0]["shape"] = {2, 5};
    g.graph["nodes"][1]["outputs"][0]["shape"] = {2, 5};
    CHECK(has(refusal(g), "node 'linear_0'"));
  }
  SUBCASE("an opaque node's types are bounded, not inferred") {
    TinyGraph g = tiny_graph("f32", true);
    g.graph["nodes"][7]["outputs"][0]["shape"] = {7, 7, 7};
    CHECK(load_error(g.bytes()) == "");
  }
}

TEST_CASE("recorded_type_mismatch reads a node, not a file") {
  GraphNode node;
  node.name = "n";
  node.aten_op = "aten::neg";
  ops::TensorType x{ops::DType::F32, {2, 3}};
  GraphOperand operand;
  operand.ref = GraphRef{"x", 0};
  node.steps.push_back(GraphStep{"neg", {operand}, {}, -1});
  auto types = [&](const GraphRef& r) -> const ops::TensorType* { return r.name == "x" ? &x : nullptr; };
  node.outputs = {x};
  CHECK_FALSE(capture::recorded_type_mismatch(node, types));
  node.outputs = {ops::TensorType{ops::DType::F32, {3, 2}}};
  CHECK(capture::recorded_type_mismatch(node, types).value() == "output 0 is recorded as f32[3, 2], but neg gives f32[2, 3]");
  node.opaque = true;
  CHECK_FALSE(capture::recorded_type_mismatch(node, types));
}

TEST_CASE("the version is checked") {
  auto version_error = [](const json& version) {
    TinyGraph g = tiny_graph("f32");
    g.graph["version"] = version;
    return refusal(g);
  };
  CHECK(has(version_error(99), "graph version 99 is newer than this Twin reads (this Twin reads version 1)"));
  CHECK(has(version_error(std::uint64_t(1) << 63), "is newer"));
  CHECK(has(version_error("1"), "graph version \"1\" is not an integer"));
  CHECK(has(version_error(1.0), "is not an integer"));
  CHECK(has(version_error(1.5), "is not an integer"));
  CHECK(has(version_error(0), "graph version 0 is not supported"));
  CHECK(has(version_error(-1), "is not supported"));
  CHECK(has(version_error(json::array({1})), "is not an integer"));
  TinyGraph unversioned = tiny_graph("f32");
  unversioned.graph.erase("version");
  CHECK(has(refusal(unversioned), "the graph records no version"));

  // The container's metadata says the version too, as text.
  TinyGraph g = tiny_graph("f32");
  std::string bytes = g.bytes();
  auto at = bytes.find("\"version\":\"1\"");
  REQUIRE(at != std::string::npos);
  bytes[at + 11] = '2';
  CHECK(has(load_error(bytes, "bad.graph"), "__metadata__ version '2' is not supported"));
}

TEST_CASE("bytes outside the tensors' data are refused") {
  std::string bytes = tiny_graph("f32").bytes();
  SUBCASE("trailing bytes") {
    std::string m = load_error(with_trailing(bytes, 64), "bad.graph");
    CHECK(has(m, "bad.graph"));
    CHECK(has(m, "64 trailing bytes after the tensor data"));
  }
  SUBCASE("a gap between two tensors, or two tensors sharing bytes") {
    TinyGraph g = tiny_graph("f32");
    // An unreferenced tensor in the middle moves the others; re-pointing its neighbour's
    // offsets makes a gap (the graph itself never notices: it reads the tensors it names).
    auto read_header = [](const std::string& b) {
      std::uint64_t n;
      std::memcpy(&n, b.data(), 8);
      return std::pair{json::parse(b.substr(8, n)), b.substr(8 + n)};
    };
    auto write = [](json header, const std::string& data) {
      std::string text = header.dump();
      while (text.size() % 8) text += ' ';
      std::uint64_t n = text.size();
      std::string out(8, '\0');
      std::memcpy(out.data(), &n, 8);
      return out + text + data;
    };
    auto [h, data] = read_header(bytes);
    json gap = h;
    gap["input/x"]["data_offsets"] = {4, 36};  // 8 f32 elements at 4: the first 4 bytes are nobody's
    std::string m = load_error(write(gap, data), "bad.graph");
    CHECK(has(m, "bad.graph"));
    CHECK(has(m, "belong to no tensor"));
    json overlap = h;
    overlap["parameter/proj.bias"]["data_offsets"] = {0, 12};  // inside input/x's bytes
    m = load_error(write(overlap, data), "bad.graph");
    CHECK(has(m, "overlaps"));
  }
}

TEST_CASE("a module path nested beyond reason is refused") {
  TinyGraph g = tiny_graph("f32");
  std::string deep = "m";
  for (int i = 0; i < 1000; ++i) deep += ".m";
  g.graph["nodes"][1]["module"] = deep;
  std::string m = refusal(g);
  CHECK(has(m, "node 'silu_0'"));
  CHECK(has(m, "module path has 1001 parts"));
}

TEST_CASE("deeply nested JSON is refused without deep recursion") {
  // Written as text: printing (dump) a value this deep would itself recurse too deep.
  const std::string nested = std::string(200000, '[') + std::string(200000, ']');
  auto with_nested = [&](TinyGraph g, const std::function<void(json&)>& place) {
    place(g.graph);
    std::string text = g.graph.dump();
    text.replace(text.find("\"@NESTED@\""), 10, nested);
    return load_error(graph_file(text, g.tensors), "bad.graph");
  };
  std::string m = with_nested(tiny_graph("f32"), [](json& g) { g["format"] = "@NESTED@"; });
  CHECK(has(m, "bad.graph"));
  CHECK(has(m, "graph format is a long list"));
  m = with_nested(tiny_graph("f32"), [](json& g) { g["nodes"][1]["args"] = "@NESTED@"; });
  CHECK(has(m, "node 'silu_0'"));
  CHECK(has(m, "arguments nest too deep"));
  m = with_nested(tiny_graph("f32"), [](json& g) { g["nodes"][1]["outputs"][0]["dtype"] = "@NESTED@"; });
  CHECK(has(m, "unknown dtype a long list"));
}

TEST_CASE("the safetensors container bounds each entry's shape") {
  auto file = [](const std::string& entry) {
    std::string text = "{\"t\":" + entry + "}";
    while (text.size() % 8) text += ' ';
    std::uint64_t n = text.size();
    std::string out(8, '\0');
    std::memcpy(out.data(), &n, 8);
    return out + text + std::string(8, '\0');
  };
  auto error = [](const std::string& bytes) -> std::string {
    try {
      capture::SafetensorsFile::parse(bytes, "c.safetensors");
    } catch (const Error& e) {
      return e.message();
    }
    return "";
  };
  CHECK(error(file(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})")) == "");
  std::string rank65 = "[";
  for (int i = 0; i < 65; ++i) rank65 += i ? ",1" : "1";
  rank65 += "]";
  CHECK(has(error(file(R"({"dtype":"F32","shape":)" + rank65 + R"(,"data_offsets":[0,8]})")), "rank 65 is more than 64"));
  CHECK(has(error(file(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})")), "needs more than 1 TiB"));
  CHECK(has(error(file(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})")), "4 trailing bytes"));
}

TEST_CASE("tensor limits: rank, size and overflow") {
  using capture::implausible_size;
  CHECK_FALSE(implausible_size({}, 4));
  CHECK_FALSE(implausible_size({1, 8, 64}, 2));
  CHECK_FALSE(implausible_size({std::int64_t(1) << 38}, 4));  // exactly 1 TiB
  CHECK(implausible_size({(std::int64_t(1) << 38) + 1}, 4));
  CHECK(implausible_size({0, std::int64_t(1) << 62, std::int64_t(1) << 62}, 1));  // empty, but no product overflows
  CHECK(implausible_size({-1}, 4));
  CHECK_FALSE(implausible_size(std::vector<std::int64_t>(64, 1), 8));
  CHECK(implausible_size(std::vector<std::int64_t>(65, 1), 8).value() == "rank 65 is more than 64");
  CHECK(capture::element_bytes(ops::DType::BF16) == 2);
  CHECK(capture::element_bytes(ops::DType::Bool) == 1);
}
