// Capturing without weights on the meta device (capture/twin_capture/meta.py): the
// Llama-2-7B-shaped pair of bench/check_models.py captures in seconds without materializing a
// weight, its graphs keep the RoPE buffers and the example inputs, and the declared relations
// of bench/check_7b_shape.rules expand against them. A model captured on the meta device has
// exactly the nodes of the same model captured with weights. Skipped, with a message, where no
// Python interpreter imports torch.
#include "capture/graph.h"
#include "check/declared_relations.h"
#include "interp/interpreter.h"
#include "tests/support.h"

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;
using namespace twin;

namespace {

const std::string kTwin = TWIN_BINARY_DIR "/twin";
const std::string kSource = TWIN_SOURCE_DIR;

using twin::testing::Outcome;
using twin::testing::shell;

bool have_torch() {
  for (const char* python : {"/usr/bin/python3", "python3"})
    if (shell(std::string(python) + " -c 'import torch'").status == 0) return true;
  return false;
}

Outcome capture(const std::string& factory, const fs::path& out, const std::string& flags) {
  return shell(kTwin + " capture " + kSource + "/bench/check_models.py:" + factory + " -o " + out.string() + " " + flags);
}

}  // namespace

TEST_CASE("the 7B-shaped pair captures without weights, and its declared relations expand") {
  if (!have_torch()) {
    MESSAGE("skipped: no python3 that imports torch");
    return;
  }
  testing::TempDir dir;
  Outcome ref = capture("reference_7b", dir.path / "reference_7b.graph", "--no-weights");
  INFO(ref.output);
  REQUIRE(ref.status == 0);
  CHECK(ref.output.find("on the meta device") != std::string::npos);
  Outcome port = capture("port_7b", dir.path / "port_7b.graph", "--no-weights");
  INFO(port.output);
  REQUIRE(port.status == 0);

  Graph reference = Graph::load(dir.path / "reference_7b.graph");
  Graph ported = Graph::load(dir.path / "port_7b.graph");
  REQUIRE(reference.parameters().size() == 291);
  REQUIRE(ported.parameters().size() == 260);
  const GraphTensor* q = reference.find_tensor("layers.31.self_attn.q_proj.weight");
  REQUIRE(q != nullptr);
  CHECK(q->type.to_string() == "f32[4096, 4096]");
  CHECK_FALSE(q->value.has_value());
  CHECK(ported.find_tensor("layers.0.mlp.gate_up_proj.weight")->type.to_string() == "f32[22016, 4096]");
  // The buffers and the example input keep their values; the outputs could not be computed.
  const GraphTensor* cache = ported.find_tensor("layers.7.self_attn.rotary_emb.cos_sin_cache");
  REQUIRE(cache != nullptr);
  CHECK(cache->value.has_value());
  CHECK(cache->type.to_string() == "f32[4096, 128]");
  CHECK(reference.find_tensor("rotary_emb.inv_freq")->value.has_value());
  CHECK(reference.inputs().at(0).value.has_value());
  REQUIRE(reference.example_outputs().size() == 1);
  CHECK_FALSE(reference.example_outputs()[0].has_value());
  CHECK(reference.outputs().size() == 1);
  CHECK(reference.type_of(reference.outputs()[0])->to_string() == "f32[1, 8, 32000]");
  CHECK(ported.type_of(ported.outputs()[0])->to_string() == "f32[1, 8, 32000]");
  CHECK(reference.opaque_ops().empty());
  CHECK(ported.opaque_ops().empty());

  InterpreterOptions options;
  options.allowed_read_dirs = {kSource + "/bench"};
  Interpreter twin(options);
  twin.load_declarations(kSource + "/bench/check_7b_shape.rules");
  auto relations = check::expand_declared_relations(twin.declared_relations(), reference, ported);
  CHECK(relations.size() == 260);  // every parameter, no buffer
  for (const auto& r : relations) {
    CHECK(r.related());
    CHECK_FALSE(r.confirmed);
  }
}

TEST_CASE("a model captured on the meta device has the nodes of the same model captured with weights") {
  if (!have_torch()) {
    MESSAGE("skipped: no python3 that imports torch");
    return;
  }
  testing::TempDir dir;
  REQUIRE(capture("port_layers_1", dir.path / "real.graph", "").status == 0);
  REQUIRE(capture("port_layers_1_meta", dir.path / "meta.graph", "--no-weights").status == 0);
  Graph real = Graph::load(dir.path / "real.graph");
  Graph meta = Graph::load(dir.path / "meta.graph");
  REQUIRE(real.nodes().size() == meta.nodes().size());
  for (std::size_t i = 0; i < real.nodes().size(); ++i) {
    const auto& a = real.nodes()[i];
    const auto& b = meta.nodes()[i];
    INFO(a.name);
    CHECK(a.name == b.name);
    CHECK(a.aten_op == b.aten_op);
    CHECK(a.args_json == b.args_json);
    CHECK(a.module == b.module);
    CHECK(a.outputs == b.outputs);
    CHECK(b.args_json.find("meta") == std::string::npos);  // devices are recorded as cpu
  }
}

TEST_CASE("a model with meta parameters needs --no-weights") {
  if (!have_torch()) {
    MESSAGE("skipped: no python3 that imports torch");
    return;
  }
  testing::TempDir dir;
  Outcome o = capture("port_layers_1_meta", dir.path / "meta.graph", "");
  CHECK(o.status == 2);
  CHECK(o.output.find("capture it with --no-weights") != std::string::npos);
}
