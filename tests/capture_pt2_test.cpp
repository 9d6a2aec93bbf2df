// torch.export's `.pt2` archives (capture/zip_archive.h, capture/pt2_archive.h,
// capture/export_reader.cpp, capture/export_examples.h, capture/torch_pickle.h). Small archives
// are written by hand here (a stored zip, a program in the export schema, raw weights), so the
// reader is tested without torch 2; the fixtures exported by torch 2.11
// (../shared/fixtures/torch2) are loaded and replayed when they exist.
#include "capture/graph.h"
#include "capture/graph_runner.h"
#include "capture/zip_archive.h"
#include "ops/tensor.h"
#include "support.h"
#include "util/error.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>

using namespace twin;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

void put(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// A zip of stored entries, as torch.export.save writes it. `method` 8 marks every entry
// compressed (its bytes left as they are), to test the refusal.
std::string zip(const std::vector<std::pair<std::string, std::string>>& entries, int method = 0) {
  std::string out, directory;
  for (const auto& [name, data] : entries) {
    std::uint64_t offset = out.size();
    put(out, 0x04034b50, 4);
    put(out, 20, 2), put(out, 0, 2), put(out, method, 2), put(out, 0, 4), put(out, 0, 4);
    put(out, data.size(), 4), put(out, data.size(), 4), put(out, name.size(), 2), put(out, 0, 2);
    out += name + data;
    put(directory, 0x02014b50, 4);
    put(directory, 20, 2), put(directory, 20, 2), put(directory, 0, 2), put(directory, method, 2), put(directory, 0, 4);
    put(directory, 0, 4), put(directory, data.size(), 4), put(directory, data.size(), 4), put(directory, name.size(), 2);
    put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 4);
    put(directory, offset, 4);
    directory += name;
  }
  std::uint64_t start = out.size();
  out += directory;
  put(out, 0x06054b50, 4);
  put(out, 0, 2), put(out, 0, 2), put(out, entries.size(), 2), put(out, entries.size(), 2);
  put(out, directory.size(), 4), put(out, start, 4), put(out, 0, 2);
  return out;
}

std::string floats(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

json tensor_meta(std::vector<std::int64_t> sizes) {
  json s = json::array(), st = json::array();
  std::int64_t stride = 1;
  std::vector<std::int64_t> strides(sizes.size());
  for (std::size_t i = sizes.size(); i-- > 0;) strides[i] = stride, stride *= sizes[i];
  for (std::size_t i = 0; i < sizes.size(); ++i) s.push_back({{"as_int", sizes[i]}}), st.push_back({{"as_int", strides[i]}});
  return {{"dtype", 7}, {"sizes", s}, {"strides", st}, {"storage_offset", {{"as_int", 0}}}, {"layout", 7},
          {"requires_grad", false}, {"device", {{"type", "cpu"}, {"index", nullptr}}}};
}

json tensor_arg(const std::string& name, const std::string& key = "self", int kind = 1) {
  return {{"name", key}, {"arg", {{"as_tensor", {{"name", name}}}}}, {"kind", kind}};
}

json node(const std::string& target, json inputs, std::vector<std::string> outputs, const std::string& module,
          const std::string& line = "12") {
  json outs = json::array();
  for (const auto& o : outputs) outs.push_back({{"as_tensor", {{"name", o}}}});
  return {{"target", target}, {"inputs", inputs}, {"outputs", outs}, {"name", outputs.empty() ? target : outputs[0]},
          {"metadata",
           {{"stack_trace", "File \"model.py\", line " + line + ", in forward"},
            {"nn_module_stack", "L__self__,,tiny.Model;L__self__" + module + "," + module + ",tiny.Block"}}}};
}

// x: f32[2, 3] -> lin (linear with weight [4, 3]) -> body of wrap_with_set_grad_enabled (relu)
// -> act (an op given by `act_target`) -> output. An assertion node and an in-place add into a
// fresh tensor are in between.
struct TinyProgram {
  std::string act_target = "torch.ops.aten.silu.default";
  json program() const {
    json values = {{"x", tensor_meta({2, 3})}, {"p_lin_weight", tensor_meta({4, 3})}, {"linear", tensor_meta({2, 4})},
                   {"relu", tensor_meta({2, 4})},  {"act", tensor_meta({2, 4})},          {"add_", tensor_meta({2, 4})}};
    json body = {{"inputs", {{{"as_tensor", {{"name", "linear"}}}}}},
                 {"outputs", {{{"as_tensor", {{"name", "relu"}}}}}},
                 {"nodes", {node("torch.ops.aten.relu.default", {tensor_arg("linear")}, {"relu"}, "inner")}},
                 {"tensor_values", {{"linear", tensor_meta({2, 4})}, {"relu", tensor_meta({2, 4})}}}};
    json nodes = json::array();
    nodes.push_back(node("torch.ops.aten.linear.default", {tensor_arg("x", "input"), tensor_arg("p_lin_weight", "weight")},
                         {"linear"}, "lin", "7"));
    nodes.push_back(node("torch.ops.aten._assert_tensor_metadata.default",
                         {tensor_arg("linear", "a"), {{"name", "dtype"}, {"arg", {{"as_scalar_type", 7}}}, {"kind", 2}}}, {},
                         "lin"));
    nodes.push_back({{"target", "torch.ops.higher_order.wrap_with_set_grad_enabled"},
                     {"inputs",
                      {{{"name", ""}, {"arg", {{"as_bool", false}}}, {"kind", 1}},
                       {{"name", ""}, {"arg", {{"as_graph", {{"name", "submod_1"}, {"graph", body}}}}}, {"kind", 1}},
                       tensor_arg("linear", "")}},
                     {"outputs", {{{"as_tensor", {{"name", "relu"}}}}}},
                     {"name", "wrap_with_set_grad_enabled"},
                     {"metadata", json::object()}});
    nodes.push_back(node(act_target, {tensor_arg("relu")}, {"act"}, "act", "21"));
    nodes.push_back(node("torch.ops.aten.add_.Tensor",
                         {tensor_arg("act"), {{"name", "other"}, {"arg", {{"as_float", 1.0}}}, {"kind", 1}}}, {"add_"}, "act"));
    json signature = {{"input_specs",
                       {{{"parameter", {{"arg", {{"name", "p_lin_weight"}}}, {"parameter_name", "lin.weight"}}}},
                        {{"user_input", {{"arg", {{"as_tensor", {{"name", "x"}}}}}}}}}},
                      {"output_specs",
                       {{{"user_output", {{"arg", {{"as_tensor", {{"name", "act"}}}}}}}},
                        {{"user_output", {{"arg", {{"as_none", true}}}}}}}}};
    return {{"schema_version", {{"major", 8}, {"minor", 17}}},
            {"torch_version", "2.11.0"},
            {"graph_module",
             {{"graph",
               {{"inputs", {{{"as_tensor", {{"name", "p_lin_weight"}}}}, {{"as_tensor", {{"name", "x"}}}}}},
                {"outputs", {{{"as_tensor", {{"name", "act"}}}}}},
                {"nodes", nodes},
                {"tensor_values", values}}},
              {"signature", signature}}}};
  }
  std::vector<std::pair<std::string, std::string>> entries(std::string weight_bytes = "") const {
    if (weight_bytes.empty()) weight_bytes = floats({1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1});
    json config = {{"config", {{"lin.weight", {{"path_name", "weight_0"}, {"is_param", true}, {"use_pickle", false},
                                                {"tensor_meta", tensor_meta({4, 3})}}}}}};
    return {{"tiny/archive_format", "pt2"},
            {"tiny/archive_version", "0"},
            {"tiny/byteorder", "little"},
            {"tiny/models/model.json", program().dump()},
            {"tiny/data/weights/model_weights_config.json", config.dump()},
            {"tiny/data/weights/weight_0", weight_bytes}};
  }
  std::string bytes() const { return zip(entries()); }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

const fs::path kFixtures = TWIN_SOURCE_DIR "/../shared/fixtures/torch2";

}  // namespace

TEST_CASE("a .pt2 archive loads: parameters by their names, module paths and source lines, assertions left out") {
  Graph g = Graph::parse(TinyProgram{}.bytes(), "tiny.pt2");
  CHECK(g.format() == "pt2");
  CHECK(g.torch_version() == "2.11.0");
  REQUIRE(g.parameters().size() == 1);
  CHECK(g.parameters()[0].name == "lin.weight");
  CHECK(g.parameters()[0].value->to_doubles().at(9) == 1.0);
  REQUIRE(g.inputs().size() == 1);
  CHECK(g.inputs()[0].name == "x");
  CHECK(g.dropped_assertions() == 1);
  const GraphNode* linear = g.find_node("linear");
  REQUIRE(linear != nullptr);
  CHECK(linear->module == "lin");
  CHECK(linear->module_type == "Block");
  CHECK(linear->source == "model.py:7");
  CHECK(linear->twin_op() == "linear");
  CHECK(g.modules().find("lin") != nullptr);
  // `(act, None)`: the None output is left out.
  REQUIRE(g.outputs().size() == 1);
}

TEST_CASE("a higher-order op's body is inlined in its place; an in-place op gives its operand a new version") {
  Graph g = Graph::parse(TinyProgram{}.bytes(), "tiny.pt2");
  const GraphNode* relu = g.find_node("relu");
  REQUIRE(relu != nullptr);
  CHECK(relu->module == "inner");
  CHECK(relu->reads == std::vector<std::string>{"linear"});
  for (const auto& n : g.nodes()) CHECK(n.aten_op.find("higher_order") == std::string::npos);
  // The graph returns `act`, which add_ then wrote in place: the output is add_'s result.
  CHECK(g.outputs()[0].name == "add_");
  RunResult r = run_graph(g, {{"x", ops::Tensor::from_doubles({1, -2, 3, -1, 2, 1}, {2, 3}, ops::DType::F32)}}, {});
  std::vector<double> out = r.outputs[0].to_doubles();
  // x @ w^T = [1, -2, 3, 2], relu, silu, + 1
  CHECK(out[1] == doctest::Approx(1.0));
  CHECK(out[0] == doctest::Approx(1.0 + 1.0 / (1.0 + std::exp(-1.0))));
}

TEST_CASE("an op Twin does not know stays in the graph, named with its count and its module") {
  TinyProgram p;
  p.act_target = "torch.ops.aten.frobnicate.default";
  Graph g = Graph::parse(p.bytes(), "frob.pt2");
  auto opaque = g.opaque_summary();
  REQUIRE(opaque.size() == 1);
  CHECK(opaque[0].op == "aten::frobnicate");
  CHECK(opaque[0].count == 1);
  CHECK(opaque[0].modules == std::vector<std::string>{"act"});
  CHECK(g.summary().find("aten::frobnicate (1 node, in act)") != std::string::npos);
  CHECK_THROWS_WITH_AS(run_graph(g, {}, {}), doctest::Contains("frobnicate"), Error);
}

TEST_CASE("example inputs: from the sidecar, given by the caller, or drawn from the types") {
  TinyProgram p;
  SUBCASE("drawn, reproducibly, without expected outputs") {
    Graph a = Graph::parse(p.bytes(), "tiny.pt2"), b = Graph::parse(p.bytes(), "tiny.pt2");
    CHECK(a.example_source() == ExampleSource::Drawn);
    CHECK(a.inputs()[0].value->to_doubles() == b.inputs()[0].value->to_doubles());
    CHECK_THROWS_AS(replay_graph(a), Error);
  }
  SUBCASE("given") {
    GraphLoadOptions options;
    options.inputs["x"] = ops::Tensor::from_doubles({1, 2, 3, 4, 5, 6}, {2, 3}, ops::DType::F32);
    Graph g = Graph::parse(p.bytes(), "tiny.pt2", options);
    CHECK(g.example_source() == ExampleSource::Given);
    CHECK(g.inputs()[0].value->to_doubles().at(5) == 6.0);
    options.inputs["x"] = ops::Tensor::from_doubles({1, 2}, {2}, ops::DType::F32);
    CHECK(error_of([&] { Graph::parse(p.bytes(), "tiny.pt2", options); }).find("input 'x'") != std::string::npos);
  }
  SUBCASE("the sidecar's input.K and output.K, then replayed") {
    Graph drawn = Graph::parse(p.bytes(), "tiny.pt2");
    RunResult r = run_graph(drawn, {}, {});
    // A sidecar holding the drawn input and Twin's own output for it.
    auto entry = [](const ops::Tensor& t) {
      std::vector<double> v = t.to_doubles();
      std::vector<float> f(v.begin(), v.end());
      return floats(f);
    };
    std::string in = entry(*drawn.inputs()[0].value), out = entry(r.outputs[0]);
    json header = {{"input.0", {{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, in.size()}}}},
                   {"output.0", {{"dtype", "F32"}, {"shape", {2, 4}}, {"data_offsets", {in.size(), in.size() + out.size()}}}},
                   {"__metadata__", {{"dtype", "f32"}, {"spec", "tiny.py:model"}}}};
    std::string text = header.dump();
    std::string sidecar;
    put(sidecar, text.size(), 8);
    sidecar += text + in + out;
    GraphLoadOptions options;
    options.io_sidecar = sidecar;
    options.io_sidecar_file = "tiny.io.safetensors";
    Graph g = Graph::parse(p.bytes(), "tiny.pt2", options);
    CHECK(g.example_source() == ExampleSource::Sidecar);
    CHECK(g.capture_source() == "tiny.py:model");
    ReplayResult replay = replay_graph(g);
    CHECK(replay.ok);
    CHECK(replay.max_rel_error == 0);
  }
}

TEST_CASE("a malformed archive is refused with the entry named, never a crash") {
  TinyProgram p;
  SUBCASE("compressed entries") {
    std::string message = error_of([&] { Graph::parse(zip(p.entries(), 8), "packed.pt2"); });
    CHECK(message.find("packed.pt2") != std::string::npos);
    CHECK(message.find("is compressed") != std::string::npos);
    CHECK(message.find("tiny/archive_format") != std::string::npos);
  }
  SUBCASE("an entry whose name climbs out of the archive") {
    auto entries = p.entries();
    entries.push_back({"tiny/../../etc/passwd", "x"});
    std::string message = error_of([&] { Graph::parse(zip(entries), "evil.pt2"); });
    CHECK(message.find("'tiny/../../etc/passwd' has an unsafe name") != std::string::npos);
  }
  SUBCASE("a weight shorter than its sizes") {
    std::string message = error_of([&] { Graph::parse(zip(p.entries(floats({1, 2, 3}))), "short.pt2"); });
    CHECK(message.find("lin.weight") != std::string::npos);
    CHECK(message.find("tiny/data/weights/weight_0") != std::string::npos);
  }
  SUBCASE("an archive cut short") {
    std::string bytes = p.bytes();
    for (std::size_t keep : {bytes.size() / 2, bytes.size() - 10, std::size_t{30}}) {
      CAPTURE(keep);
      CHECK_THROWS_AS(Graph::parse(bytes.substr(0, keep), "cut.pt2"), Error);
    }
  }
  SUBCASE("an export schema Twin does not read") {
    json program = p.program();
    program["schema_version"]["major"] = 5;
    auto entries = p.entries();
    entries[3].second = program.dump();
    CHECK(error_of([&] { Graph::parse(zip(entries), "old.pt2"); }).find("export schema version 5") != std::string::npos);
  }
  SUBCASE("torch 2.1's layout") {
    CHECK(error_of([&] { Graph::parse(zip({{"m/serialized_exported_program.json", "{}"}}), "old.pt2"); })
              .find("torch 2.1 to 2.5") != std::string::npos);
  }
  SUBCASE("twin check exits 2 naming the file") {
    twin::testing::TempDir dir;
    std::ofstream(dir.path / "packed.pt2", std::ios::binary) << zip(p.entries(), 8);
    auto outcome = twin::testing::shell("cd '" + dir.path.string() + "' && '" TWIN_BINARY_DIR "/twin' check --ref packed.pt2 --port packed.pt2");
    CHECK(outcome.status == 2);
    CHECK(outcome.output.find("packed.pt2") != std::string::npos);
  }
}

TEST_CASE("the torch 2.11 fixtures: every family loads, and replays PyTorch's outputs") {
  if (!fs::is_directory(kFixtures)) {
    MESSAGE("no fixtures at " << kFixtures.string() << ": skipped");
    return;
  }
  int families = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures)) {
    if (entry.path().extension() != ".pt2") continue;
    CAPTURE(entry.path().filename().string());
    ++families;
    Graph g = Graph::load(entry.path());
    CHECK(g.example_source() == ExampleSource::Sidecar);
    CHECK(g.opaque_ops().empty());
    ReplayResult r = replay_graph(g);
    CHECK(r.ok);
  }
  CHECK(families > 0);
}

TEST_CASE("the archive's sample inputs (torch.save) are read when there is no sidecar") {
  fs::path file = kFixtures / "hf_llama_eager.pt2";
  if (!fs::exists(file)) {
    MESSAGE("no fixture " << file.string() << ": skipped");
    return;
  }
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Graph without = Graph::parse(bytes, "hf_llama_eager.pt2");
  Graph with = Graph::load(file);
  CHECK(without.example_source() == ExampleSource::SampleInputs);
  CHECK(without.inputs()[0].value->to_doubles() == with.inputs()[0].value->to_doubles());
}

TEST_CASE("a graph runs with the numerics of the torch that captured it") {
  CHECK(ops::numerics_for_torch_version("2.11.0") == ops::Numerics::PyTorch2);
  CHECK(ops::numerics_for_torch_version("2.6.0+cpu") == ops::Numerics::PyTorch2);
  CHECK(ops::numerics_for_torch_version("1.13.1") == ops::Numerics::Libtorch);
  CHECK(ops::numerics_for_torch_version("") == ops::Numerics::Libtorch);
  // bf16 matmul: PyTorch 2 accumulates in f32 and rounds once.
  std::vector<double> a(64), b(64);
  for (int i = 0; i < 64; ++i) a[i] = 1.0 + i / 64.0, b[i] = 1.0 - i / 128.0;
  ops::Tensor x = ops::Tensor::from_doubles(a, {1, 64}, ops::DType::BF16), y = ops::Tensor::from_doubles(b, {64, 1}, ops::DType::BF16);
  ops::Tensor wide = ops::evaluate("matmul", {x.to(ops::DType::F32), y.to(ops::DType::F32)}, {}).at(0).to(ops::DType::BF16);
  ops::NumericsScope scope(ops::Numerics::PyTorch2);
  CHECK(ops::evaluate("matmul", {x, y}, {}).at(0).to_doubles() == wide.to_doubles());
}

namespace {

// An archive of one program with (optionally) one stored tensor, as torch.export.save writes it.
std::string archive(const json& program, const json& config = json{{"config", json::object()}},
                    const std::string& weight = "") {
  std::vector<std::pair<std::string, std::string>> entries = {{"tiny/archive_format", "pt2"},
                                                              {"tiny/archive_version", "0"},
                                                              {"tiny/byteorder", "little"},
                                                              {"tiny/models/model.json", program.dump()},
                                                              {"tiny/data/weights/model_weights_config.json", config.dump()}};
  if (!weight.empty()) entries.push_back({"tiny/data/weights/weight_0", weight});
  return zip(entries);
}

json program_of(json nodes, json values, json input_specs, json inputs, const std::string& output) {
  json signature = {{"input_specs", input_specs},
                    {"output_specs", {{{"user_output", {{"arg", {{"as_tensor", {{"name", output}}}}}}}}}}};
  return {{"schema_version", {{"major", 8}, {"minor", 17}}},
          {"torch_version", "2.11.0"},
          {"graph_module",
           {{"graph", {{"inputs", inputs}, {"outputs", {{{"as_tensor", {{"name", output}}}}}}, {"nodes", nodes}, {"tensor_values", values}}},
            {"signature", signature}}}};
}

json typed_meta(std::vector<std::int64_t> sizes, int dtype) {
  json m = tensor_meta(std::move(sizes));
  m["dtype"] = dtype;
  return m;
}

}  // namespace

TEST_CASE("complex tensors are read as real pairs: polar(abs, angle) is [abs cos, abs sin]") {
  json values = {{"r", typed_meta({3}, 7)}, {"t", typed_meta({3}, 7)}, {"polar", typed_meta({3}, 10)}, {"view_as_real", typed_meta({3, 2}, 7)}};
  json nodes = json::array();
  nodes.push_back(node("torch.ops.aten.polar.default", {tensor_arg("r", "abs"), tensor_arg("t", "angle")}, {"polar"}, "rope"));
  nodes.push_back(node("torch.ops.aten.view_as_real.default", {tensor_arg("polar")}, {"view_as_real"}, "rope"));
  json specs = {{{"user_input", {{"arg", {{"as_tensor", {{"name", "r"}}}}}}}}, {{"user_input", {{"arg", {{"as_tensor", {{"name", "t"}}}}}}}}};
  json inputs = {{{"as_tensor", {{"name", "r"}}}}, {{"as_tensor", {{"name", "t"}}}}};
  Graph g = Graph::parse(archive(program_of(nodes, values, specs, inputs, "view_as_real")), "polar.pt2");
  CHECK(g.opaque_summary().empty());
  RunResult out = run_graph(g, {{"r", ops::Tensor::from_doubles({1, 2, 0.5}, {3}, ops::DType::F32)},
                                {"t", ops::Tensor::from_doubles({0, 1, -2}, {3}, ops::DType::F32)}}, {});
  std::vector<double> v = out.outputs[0].to_doubles();
  REQUIRE(v.size() == 6);
  CHECK(v[2] == doctest::Approx(2 * std::cos(1.0)).epsilon(1e-6));
  CHECK(v[3] == doctest::Approx(2 * std::sin(1.0)).epsilon(1e-6));
  CHECK(v[5] == doctest::Approx(0.5 * std::sin(-2.0)).epsilon(1e-6));
}

TEST_CASE("complex tensors are read as real pairs: Meta's RoPE (view_as_complex, a complex buffer, mul, view_as_real)") {
  // x: f32[1, 2, 4] -> reshape [1, 2, 2, 2] -> view_as_complex [1, 2, 2] -> * freqs_cis (a
  // complex64 buffer [2, 2], viewed [1, 2, 2]) -> view_as_real [1, 2, 2, 2] -> flatten [1, 2, 4],
  // as torch.export writes Meta's apply_rotary_emb. The complex product must come out exactly.
  auto ints = [](std::vector<std::int64_t> v) {
    json a = json::array();
    for (auto x : v) a.push_back(x);
    return json{{"as_ints", a}};
  };
  auto arg = [](const std::string& key, json value) { return json{{"name", key}, {"arg", value}, {"kind", 1}}; };
  json values = {{"x", typed_meta({1, 2, 4}, 7)},          {"b_freqs_cis", typed_meta({2, 2}, 10)},
                 {"reshape", typed_meta({1, 2, 2, 2}, 7)}, {"view_as_complex", typed_meta({1, 2, 2}, 10)},
                 {"view", typed_meta({1, 2, 2}, 10)},      {"mul", typed_meta({1, 2, 2}, 10)},
                 {"view_as_real", typed_meta({1, 2, 2, 2}, 7)}, {"flatten", typed_meta({1, 2, 4}, 7)}};
  json nodes = json::array();
  nodes.push_back(node("torch.ops.aten.reshape.default", {tensor_arg("x"), arg("shape", ints({1, 2, 2, 2}))}, {"reshape"}, "attn"));
  nodes.push_back(node("torch.ops.aten.view_as_complex.default", {tensor_arg("reshape")}, {"view_as_complex"}, "attn"));
  nodes.push_back(node("torch.ops.aten.view.default", {tensor_arg("b_freqs_cis"), arg("size", ints({1, 2, 2}))}, {"view"}, "attn"));
  nodes.push_back(node("torch.ops.aten.mul.Tensor", {tensor_arg("view_as_complex"), tensor_arg("view", "other")}, {"mul"}, "attn"));
  nodes.push_back(node("torch.ops.aten.view_as_real.default", {tensor_arg("mul")}, {"view_as_real"}, "attn"));
  nodes.push_back(node("torch.ops.aten.flatten.using_ints",
                       {tensor_arg("view_as_real"), arg("start_dim", json{{"as_int", 2}}), arg("end_dim", json{{"as_int", -1}})},
                       {"flatten"}, "attn"));
  json specs = {{{"buffer", {{"arg", {{"name", "b_freqs_cis"}}}, {"buffer_name", "freqs_cis"}, {"persistent", true}}}},
                {{"user_input", {{"arg", {{"as_tensor", {{"name", "x"}}}}}}}}};
  json inputs = {{{"as_tensor", {{"name", "b_freqs_cis"}}}}, {{"as_tensor", {{"name", "x"}}}}};
  json program = program_of(nodes, values, specs, inputs, "flatten");
  // freqs_cis[s][k] = cos(t) + i sin(t), stored as interleaved (re, im) float32 pairs.
  const std::vector<float> freqs = {1, 0, 0.5f, 0.25f, 0, 1, -1, 2};
  json config = {{"config", {{"freqs_cis", {{"path_name", "weight_0"}, {"is_param", false}, {"use_pickle", false},
                                              {"tensor_meta", typed_meta({2, 2}, 10)}}}}}};
  const std::string bytes = archive(program, config, floats(freqs));
  Graph g = Graph::parse(bytes, "rope.pt2");
  REQUIRE(g.buffers().size() == 1);
  CHECK(g.buffers()[0].type.shape == std::vector<std::int64_t>{2, 2, 2});  // the pairs
  CHECK(g.opaque_summary().empty());
  const std::vector<double> x = {1, 2, 3, 4, 5, 6, 7, 8};
  RunResult r = run_graph(g, {{"x", ops::Tensor::from_doubles(x, {1, 2, 4}, ops::DType::F32)}}, {});
  std::vector<double> out = r.outputs[0].to_doubles();
  REQUIRE(out.size() == 8);
  // Position 0: (1+2i)(1+0i) = 1+2i; (3+4i)(0.5+0.25i) = 0.5+2.75i.
  // Position 1: (5+6i)(0+1i) = -6+5i; (7+8i)(-1+2i) = -23+6i.
  const std::vector<double> want = {1, 2, 0.5, 2.75, -6, 5, -23, 6};
  for (std::size_t i = 0; i < 8; ++i) CHECK(out[i] == doctest::Approx(want[i]));
  // An op on complex values that is not rewritten stays opaque, with the reason.
  nodes[3]["target"] = "torch.ops.aten.div.Tensor";
  program["graph_module"]["graph"]["nodes"] = nodes;
  Graph bad = Graph::parse(archive(program, config, floats(freqs)), "rope_div.pt2");
  auto opaque = bad.opaque_summary();
  REQUIRE(opaque.size() == 1);
  CHECK(opaque[0].op == "aten::div");
}
