// The measuring parts of the validation stages (stages/stages.h) on the shipped llama example:
// the correct port passes every component; the fused q/k/v projection is mapped one-to-many
// with a reason; a buggy port's component fails in isolation and end to end; a bad
// hand-written mapping is an error naming the file. The stage scripts that decide from these
// measurements are tested in stages_scripts_test.cpp.
#include "capture/graph.h"
#include "check/divergence.h"
#include "check/port_inputs.h"
#include "stages/plots.h"
#include "stages/stages.h"
#include "util/error.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

using namespace twin;
using namespace twin::stages;
namespace fs = std::filesystem;

namespace {

const fs::path kLlama = fs::path(TWIN_SOURCE_DIR) / "examples" / "llama";

struct Run {
  Graph reference, port;
  check::DivergenceReport matches;
  ComponentMapping mapping;
  Stage2 s2;
};

Run run(const fs::path& ref, const fs::path& port) {
  Graph reference = Graph::load(ref);
  Run r{reference, check::port_for(reference, Graph::load(port)), {}, {}, {}};
  r.matches = check::localize_divergence(r.reference, r.port);
  r.mapping = map_components(r.reference, r.port, r.matches);
  r.s2 = test_components(r.reference, r.port, r.mapping, {});
  return r;
}

}  // namespace

TEST_CASE("the correct port: every component passes at tau_R, q/k/v map to the fused qkv_proj") {
  Run r = run(kLlama / "reference.graph", kLlama / "port.graph");
  REQUIRE(!r.s2.components.empty());
  for (const auto& c : r.s2.components) {
    INFO(c.component->name << " R " << c.r_ratio);
    CHECK(c.pass);
  }
  bool fused = false;
  for (const auto& e : r.mapping.entries)
    if (e.source_modules.size() == 3 && e.target_modules.size() == 1 && e.target_modules[0] == "layers.{i}.self_attn.qkv_proj")
      fused = e.source_modules[0] == "layers.{i}.self_attn.q_proj" && !e.reason.empty();
  CHECK(fused);
  TeacherForced tf = teacher_forced(r.reference, r.port, {});
  CHECK(tf.applicable);
  CHECK(tf.causal);
  CHECK(tf.pass);
}

TEST_CASE("teacher forcing over several sequences: each prompt the example's tokens rotated, every position measured") {
  const Graph reference = Graph::load(kLlama / "reference.graph");
  const Graph port = Graph::load(kLlama / "port.graph");
  StageOptions options;
  const TeacherForced one = teacher_forced(reference, port, options);
  options.sequences = 3;
  const TeacherForced three = teacher_forced(reference, port, options);
  REQUIRE(three.applicable);
  REQUIRE(three.sequences.size() == 3);
  CHECK(three.positions.size() == 3 * one.positions.size());
  CHECK(three.sequences[0] == one.tokens);  // the first sequence is the one-sequence run's
  CHECK(three.tokens == one.tokens);
  // Sequence k starts from the example's token k.
  const auto example = reference_inputs(reference).at(reference.inputs()[0].name).to_doubles();
  CHECK(three.sequences[1][0] == std::int64_t(example[1]));
  CHECK(three.sequences[2][0] == std::int64_t(example[2]));
  CHECK(three.positions.back().sequence == 2);
  for (std::size_t i = 0; i < one.positions.size(); ++i) CHECK(three.positions[i].r_ratio == one.positions[i].r_ratio);
}

TEST_CASE("a buggy port: its component fails in isolation and the error propagates; end to end fails") {
  Run r = run(kLlama / "reference.graph", kLlama / "bugs" / "silu_on_up.graph");
  // The bug is in layers.0.mlp.act_fn: components before it pass, it fails, and in the full
  // run everything from it on stays above tau_R.
  bool seen = false;
  for (const auto& c : r.s2.components) {
    INFO(c.component->name << " R " << c.r_ratio << " propagated " << c.r_ratio_propagated);
    if (c.component->name == "layers.0.mlp.act_fn") {
      seen = true;
      CHECK(c.r_ratio > 10);
    }
    if (seen) CHECK(c.r_ratio_propagated >= 1.2);
    else CHECK(c.pass);
  }
  CHECK(seen);
  CHECK(!teacher_forced(r.reference, r.port, {}).pass);
}

TEST_CASE("the structural diff: fused projections and shards are expected, the trees list every module") {
  Graph ref = Graph::load(kLlama / "reference.graph"), port = Graph::load(kLlama / "port.graph");
  auto diff = structural_diff(ref, port);
  bool qkv = false;
  for (const auto& d : diff) {
    if (d.module == "layers.0.self_attn.q_proj") qkv = d.expected && d.kind == "fused qkv";
    if (d.module.find("shards") != std::string::npos) CHECK(d.expected);
  }
  CHECK(qkv);
  CHECK(flat_paths(port).find("layers.1.mlp.gate_up_proj\n") != std::string::npos);
  CHECK(tree_json(port, true).find("\"repeat\": 2") != std::string::npos);
}

TEST_CASE("a hand-written mapping that names no module of the graphs is an error naming the file") {
  Graph ref = Graph::load(kLlama / "reference.graph"), port = Graph::load(kLlama / "port.graph");
  CHECK_THROWS_WITH_AS(merge_mapping(ref, port, {}, "[[[\"layers.{i}.nope\"], [\"norm\"], \"x\"]]", "map.json"),
                       doctest::Contains("map.json: entry 0: the reference has no module layers.0.nope"), Error);
  CHECK_THROWS_AS(merge_mapping(ref, port, {}, "{", "map.json"), Error);
}

TEST_CASE("an SVG chart is XML with its data; the CSV has one row per point") {
  Chart c = qq_chart("norm", {0.1, -0.2, 0.3}, {0.1, -0.1, 0.2});
  std::string s = svg(c);
  CHECK(s.rfind("<svg", 0) == 0);
  CHECK(s.find("</svg>") != std::string::npos);
  CHECK(std::count(s.begin(), s.end(), '\n') > 5);
  CHECK(s.find("<circle") != std::string::npos);
  CHECK(csv(c).find("quantiles,") != std::string::npos);
}

TEST_CASE("calibration: thresholds keep a margin over the worst known-good values") {
  CalibrationPair quiet{"a", "b", 1.05, "norm", true, 1.02, 0.9999, 2e-5};
  CalibrationPair noisy{"c", "d", 1.5, "lm_head", true, 1.3, 0.999, 1e-4};
  Calibration c = calibrate({quiet, noisy});
  CHECK(c.tau_r == doctest::Approx(1.65));     // 1.1 x the worst R
  CHECK(c.theta == doctest::Approx(0.998));    // twice the worst deviation from 1
  CHECK(c.delta == doctest::Approx(2e-4));     // twice the worst KL
  CHECK(calibrate({quiet}).tau_r == doctest::Approx(1.2));  // never below the skill's default
  CHECK_THROWS_AS(calibrate({}), Error);
  CHECK(calibration_json(c).find("\"pairs\"") != std::string::npos);
}

TEST_CASE("calibrated on the example's correct port, the thresholds pass it and still fail a buggy port") {
  const Graph reference = Graph::load(kLlama / "reference.graph");
  const Graph port = Graph::load(kLlama / "port.graph");
  Calibration c = calibrate({measure_known_good(reference, port, {})});
  REQUIRE(c.pairs.size() == 1);
  CHECK(c.pairs[0].teacher_forced);
  StageOptions calibrated;
  calibrated.tau_r = c.tau_r;
  calibrated.theta = c.theta;
  calibrated.delta = c.delta;
  CHECK(teacher_forced(reference, port, calibrated).pass);
  const Graph bug = Graph::load(kLlama / "bugs" / "silu_on_up.graph");
  CHECK_FALSE(teacher_forced(reference, bug, calibrated).pass);
}

TEST_CASE("downstream of a bug, a module the matching layer mapped to no counterpart is not mapped by its path") {
  // The port's SiluAndMul (act_fn) reads as a value inside the reference's MLP in layer 0; in
  // layer 1, after the missing attention scale, its values differ. Mapping it to the
  // reference's act_fn (SiLU alone) by path would make a false suspect with a huge R.
  Run r = run(kLlama / "reference.graph", kLlama / "bugs" / "missing_attention_scale.graph");
  for (const auto& c : r.s2.components) {
    CHECK(c.component->name != "layers.0.mlp.act_fn");
    CHECK(c.component->name != "layers.1.mlp.act_fn");
  }
  bool attention_fails = false;
  for (const auto& c : r.s2.components)
    if (c.component->name == "layers.1.self_attn") attention_fails = !c.pass;
  CHECK(attention_fails);
}

TEST_CASE("where values differ, a port with its own module names is mapped by the weights its modules hold") {
  // gpt-fast names (attention, wo, feed_forward.w1...) and an off-by-one KV-cache write in
  // layers.0.attention: nothing after the bug matches by value, but each module's parameters
  // come from one reference module's, so the attention is still a component and fails alone.
  Run r = run(kLlama / "reference.graph", kLlama / "bugs" / "kv_cache_off_by_one.graph");
  auto find = [&](const std::string& name) -> const ComponentResult* {
    for (const auto& c : r.s2.components)
      if (c.component->name == name) return &c;
    return nullptr;
  };
  const auto* attention = find("layers.0.attention");
  REQUIRE(attention);
  CHECK(attention->component->how == "weights");
  CHECK(attention->component->source_modules == std::vector<std::string>{"layers.0.self_attn"});
  CHECK(attention->r_ratio > 10);
  const auto* wo = find("layers.0.attention.wo");
  REQUIRE(wo);
  CHECK(wo->component->source_modules == std::vector<std::string>{"layers.0.self_attn.o_proj"});
  CHECK(wo->pass);  // its input comes from the reference: the projection itself is right
  const auto* w1 = find("layers.1.feed_forward.w1");
  REQUIRE(w1);
  CHECK(w1->component->source_modules == std::vector<std::string>{"layers.1.mlp.gate_proj"});
  REQUIRE(find("output"));
  CHECK(find("output")->component->source_modules == std::vector<std::string>{"lm_head"});
}

TEST_CASE("fused in the reference, split in the port: HF GPT-2's c_attn maps to the port's q, k and v projections") {
  // examples/gpt2/variants/fast_style.py cuts the Conv1D c_attn into q_proj, k_proj and
  // v_proj. Their outputs read as the pieces of the reference's split: one component, each
  // output against its slice of c_attn's output, passing at tau_R; in the mapping file one
  // entry with three target modules. The position embeddings, which no input reaches, are
  // paired by their weights.
  const fs::path gpt2 = fs::path(TWIN_SOURCE_DIR) / "examples" / "gpt2";
  Run r = run(gpt2 / "reference.graph", gpt2 / "variants" / "fast_style.graph");
  bool split = false;
  for (const auto& c : r.s2.components) {
    INFO(c.component->name << " R " << c.r_ratio);
    CHECK(c.pass);
    if (c.component->name == "layers.0.attn.q_proj+k_proj+v_proj") {
      split = true;
      CHECK(c.component->source_modules == std::vector<std::string>{"h.0.attn.c_attn"});
      CHECK(c.component->target_modules ==
            std::vector<std::string>{"layers.0.attn.q_proj", "layers.0.attn.k_proj", "layers.0.attn.v_proj"});
    }
  }
  CHECK(split);
  bool entry = false, positions = false;
  for (const auto& e : r.mapping.entries) {
    entry = entry || (e.source_modules == std::vector<std::string>{"h.{i}.attn.c_attn"} && e.target_modules.size() == 3 &&
                      e.reason.find("split") != std::string::npos);
    positions = positions || (e.source_modules == std::vector<std::string>{"wpe"} &&
                              e.target_modules == std::vector<std::string>{"pos_embeddings"});
  }
  CHECK(entry);
  CHECK(positions);
  // The port writes GELU inline in its MLP: the reference's act module says where.
  bool inline_act = false;
  for (const auto& e : r.mapping.entries)
    if (e.source_modules == std::vector<std::string>{"h.{i}.mlp.act"} && e.target_modules.empty())
      inline_act = e.reason.find("inline") != std::string::npos && e.reason.find("layers.0.ffn") != std::string::npos;
  CHECK(inline_act);
}

TEST_CASE("the structural diff: a port's own classes for the same computation are expected, a renamed activation too") {
  // HF GPT-2 against nanoGPT: Conv1D against Linear, GPT2Block against Block, `act` against `gelu`.
  const fs::path gpt2 = fs::path(TWIN_SOURCE_DIR) / "examples" / "gpt2";
  Graph ref = Graph::load(gpt2 / "reference.graph"), port = Graph::load(gpt2 / "port.graph");
  bool conv1d = false, activation = false;
  for (const auto& d : structural_diff(ref, port)) {
    INFO(d.kind << " " << d.module << ": " << d.reason);
    CHECK(d.expected);
    conv1d = conv1d || (d.module == "h.0.attn.c_attn" && d.kind == "class");
    activation = activation || (d.module == "h.1.mlp.act" && d.kind == "renamed activation");
  }
  CHECK(conv1d);
  CHECK(activation);
}

TEST_CASE("the structural diff: a `transformer.` wrapper, a functional GELU and a tied output projection applied inline are expected") {
  // examples/gpt2/variants/vllm_style.py against HF's GPT-2: every module under
  // `transformer.`, gelu_new called as a function, and F.linear(h, wte.weight) for lm_head.
  const fs::path gpt2 = fs::path(TWIN_SOURCE_DIR) / "examples" / "gpt2";
  Graph ref = Graph::load(gpt2 / "reference.graph"), port = Graph::load(gpt2 / "variants" / "vllm_style.graph");
  bool wrapper = false, tied = false;
  for (const auto& d : structural_diff(ref, port)) {
    INFO(d.kind << " " << d.module << ": " << d.reason);
    CHECK(d.expected);
    wrapper = wrapper || (d.kind == "wrapper" && d.module == "transformer");
    tied = tied || (d.kind == "tied projection" && d.module == "lm_head");
  }
  CHECK(wrapper);
  CHECK(tied);
}

TEST_CASE("the mapping file explains modules that are not components: weights-only lookups, and paths that compute another value") {
  const fs::path gpt2 = fs::path(TWIN_SOURCE_DIR) / "examples" / "gpt2";
  Run g = run(gpt2 / "reference.graph", gpt2 / "port.graph");
  bool wpe = false;
  for (const auto& e : g.mapping.entries)
    if (e.source_modules == std::vector<std::string>{"wpe"}) wpe = e.target_modules == std::vector<std::string>{"wpe"} && e.reason.find("buffers alone") != std::string::npos;
  CHECK(wpe);  // position embeddings over arange: no graph input reaches them
  Run l = run(kLlama / "reference.graph", kLlama / "port.graph");
  bool act = false;
  for (const auto& e : l.mapping.entries)
    if (e.source_modules == std::vector<std::string>{"layers.{i}.mlp.act_fn"} && e.target_modules.empty())
      act = e.reason.find("computes another value") != std::string::npos;  // SiLU against SiluAndMul
  CHECK(act);
}

TEST_CASE("a port identical to its reference measures R = 1 in every component, MoE experts and outside tables included") {
  // Isolation must feed the port exactly what the reference's isolated run reads: tables
  // computed outside a module (cos/sin from position ids) and multi-output inputs (a split
  // into gate and up) included, or a self-pair shows false suspects.
  std::vector<fs::path> graphs = {kLlama / "reference.graph", kLlama / "port.graph"};
  const fs::path mixtral = fs::path(TWIN_SOURCE_DIR) / ".." / "shared" / "fixtures" / "torch2" / "hf_mixtral.pt2";
  if (fs::exists(mixtral)) graphs.push_back(mixtral);
  else MESSAGE("no fixture " << mixtral.string() << ": the MoE self-pair is skipped");
  for (const auto& g : graphs) {
    Run r = run(g, g);
    REQUIRE(!r.s2.components.empty());
    for (const auto& c : r.s2.components) {
      INFO(g.filename().string() << " " << c.component->name);
      CHECK(c.r_ratio == doctest::Approx(1.0).epsilon(1e-9));
    }
  }
}

TEST_CASE("a port that nests the model under `model.` and calls its activation as a function: no suspect, every component passes") {
  // examples/llama/variants/vllm_rotary.py: `model.layers.0` against `layers.0`, and F.silu in
  // the MLP where the reference has an act_fn module. The wrapper is one expected difference;
  // a port layer that defers its residual add is no component (its scope is not the
  // reference layer's, even though both sit at the same depth below their roots).
  Run r = run(kLlama / "reference.graph", kLlama / "variants" / "vllm_rotary.graph");
  bool wrapper = false, functional = false;
  for (const auto& d : structural_diff(r.reference, r.port)) {
    INFO(d.kind << " " << d.module << ": " << d.reason);
    CHECK(d.expected);
    wrapper = wrapper || (d.kind == "wrapper" && d.module == "model");
    functional = functional || (d.kind == "functional activation" && d.module == "layers.0.mlp.act_fn");
  }
  CHECK(wrapper);
  CHECK(functional);
  REQUIRE(!r.s2.components.empty());
  for (const auto& c : r.s2.components) {
    INFO(c.component->name << " R " << c.r_ratio);
    CHECK(c.pass);
    CHECK(c.component->name != "model.layers.0");
    CHECK(c.component->name != "model");
  }
}

TEST_CASE("a bug in layer 0's norm: the layer pattern of the weights match in layer 1 maps it, and it fails in isolation") {
  // examples/llama/bugs/ffn_norm_weight_swapped.py (gpt-fast's module names): layer 0's
  // ffn_norm holds attention_norm's weight. Its values match nothing and its weight is
  // input_layernorm's, already taken; layer 1, downstream of the bug, maps by weights, and its
  // {i} pattern names layer 0's counterpart. The residual that `x.float()` passes through the
  // norm is no output of it, so the normed value is what is compared.
  Run r = run(kLlama / "reference.graph", kLlama / "bugs" / "ffn_norm_weight_swapped.graph");
  const ComponentResult* norm = nullptr;
  for (const auto& c : r.s2.components)
    if (c.component->name == "layers.0.ffn_norm") norm = &c;
  REQUIRE(norm);
  CHECK(norm->component->source_modules == std::vector<std::string>{"layers.0.post_attention_layernorm"});
  CHECK_FALSE(norm->pass);
  for (const auto& c : r.s2.components) {
    if (c.component->order >= norm->component->order) break;
    INFO(c.component->name << " R " << c.r_ratio);
    CHECK(c.pass);
  }
}
