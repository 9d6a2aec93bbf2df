// Where a port diverges (check/divergence.h): the shipped llama example. The correct port has
// no divergence and its outputs agree; each buggy port under examples/llama/bugs diverges at
// the module its `.py` names on its first line (`# bug in: MODULE.PATH`), compared as the
// acceptance check compares it (equal, or one path a prefix of the other at a dot).
#include "capture/graph.h"
#include "check/divergence.h"
#include "check/port_inputs.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace twin;
namespace fs = std::filesystem;

namespace {

const fs::path kLlama = fs::path(TWIN_SOURCE_DIR) / "examples" / "llama";

std::string bug_module(const fs::path& py) {
  std::ifstream in(py);
  std::string line;
  std::getline(in, line);
  const std::string prefix = "# bug in:";
  if (line.rfind(prefix, 0) != 0) return "";
  auto start = line.find_first_not_of(' ', prefix.size());
  return start == std::string::npos ? "" : line.substr(start);
}

bool same_place(const std::string& reported, const std::string& want) {
  return !want.empty() && (reported == want || reported.rfind(want + ".", 0) == 0 || want.rfind(reported + ".", 0) == 0);
}

const Graph& reference() {
  static const Graph g = Graph::load(kLlama / "reference.graph");
  return g;
}

}  // namespace

TEST_CASE("the example port does not diverge and its outputs agree") {
  const Graph port = Graph::load(kLlama / "port.graph");
  const auto report = check::localize_divergence(reference(), port);
  INFO(report.to_text());
  CHECK(report.outputs_agree);
  CHECK(report.divergences.empty());
  REQUIRE(report.outputs.size() == 1);
  CHECK(report.outputs[0].rel_error < 1e-5);
  CHECK(report.matched_values > report.port_values / 2);
  // The outputs of the two fused qkv_proj and gate_up_proj: concatenations of q, k, v and of
  // gate, up.
  CHECK(report.concat_matched_values >= 4);
}

TEST_CASE("a port with empty values (x[..., d:] of a d-wide x) is matched without dividing by their size") {
  // examples/llama/variants/vllm_rotary.py: vLLM's pass-through slice beyond rotary_dim.
  // Its positions are an input the reference computes inside: fixed at their example value.
  const auto report =
      check::localize_divergence(reference(), check::port_for(reference(), Graph::load(kLlama / "variants" / "vllm_rotary.graph")));
  INFO(report.to_text());
  CHECK(report.outputs_agree);
  CHECK(report.divergences.empty());
}

TEST_CASE("against the bf16 reference the port still agrees and the bugs are still found") {
  const Graph reference_bf16 = Graph::load(kLlama / "reference.bf16.graph");
  const auto ok = check::localize_divergence(reference_bf16, Graph::load(kLlama / "port.graph"));
  INFO(ok.to_text());
  CHECK(ok.outputs_agree);
  CHECK(ok.divergences.empty());
  for (const auto& entry : fs::directory_iterator(kLlama / "bugs")) {
    if (entry.path().extension() != ".py") continue;
    const auto graph = fs::path(entry.path()).replace_extension(".graph");
    if (!fs::exists(graph)) continue;
    const std::string want = bug_module(entry.path());
    CAPTURE(want);
    // A difference below bf16's rounding (rms_eps_nxd: 1e-3 of a norm's output) is no
    // divergence against a bf16 reference; the f32 reference and the proof find it.
    const Graph port = check::port_for(reference(), Graph::load(graph));
    const auto at_f32 = check::localize_divergence(reference(), port);
    if (!at_f32.divergences.empty() && at_f32.divergences.front().rel_error < 1.0 / 256) continue;
    const auto report = check::localize_divergence(reference_bf16, port);
    INFO(report.to_text());
    CHECK_FALSE(report.outputs_agree);
    REQUIRE_FALSE(report.divergences.empty());
    CHECK(same_place(report.divergences.front().module, want));
  }
}

TEST_CASE("each buggy port diverges at the module its file names") {
  int bugs = 0;
  for (const auto& entry : fs::directory_iterator(kLlama / "bugs")) {
    if (entry.path().extension() != ".py") continue;
    const auto graph = fs::path(entry.path()).replace_extension(".graph");
    if (!fs::exists(graph)) continue;
    ++bugs;
    const std::string want = bug_module(entry.path());
    CAPTURE(entry.path().filename().string());
    CAPTURE(want);
    const auto report = check::localize_divergence(reference(), check::port_for(reference(), Graph::load(graph)));
    INFO(report.to_text());
    CHECK_FALSE(report.outputs_agree);
    REQUIRE_FALSE(report.divergences.empty());
    const auto& first = report.divergences.front();
    CHECK(first.first_in_module);
    CHECK_MESSAGE(same_place(first.module, want), "reported ", first.module, " (", first.node, " ", first.op, ")");
    // Far beyond the precision baseline (the f64 run): no rounding explains it.
    CHECK(first.r_ratio > 100);
    CHECK_FALSE(first.op.empty());
  }
  CHECK(bugs >= 3);
}

TEST_CASE("a port compared with itself matches everywhere") {
  const auto report = check::localize_divergence(reference(), reference());
  CHECK(report.outputs_agree);
  CHECK(report.divergences.empty());
  CHECK(report.matched_values == report.port_values);
}

TEST_CASE("at bf16 a precision difference is judged by the R-ratio and is no divergence") {
  const Graph reference_bf16 = Graph::load(kLlama / "reference.bf16.graph");
  const Graph port = Graph::load(kLlama / "precision" / "variance_bf16.graph");
  const auto report = check::localize_divergence(reference_bf16, port);
  INFO(report.to_text());
  CHECK(report.port_capture_dtype == ops::DType::BF16);
  CHECK(report.reference_bf16_run);
  CHECK(report.outputs_agree);
  CHECK(report.divergences.empty());
  REQUIRE(report.outputs.size() == 1);
  CHECK(report.outputs[0].r_ratio < 4.0);
}

TEST_CASE("the reported errors describe the divergent value") {
  const auto report = check::localize_divergence(reference(), Graph::load(kLlama / "bugs" / "silu_on_up.graph"));
  REQUIRE_FALSE(report.divergences.empty());
  const auto& d = report.divergences.front();
  CHECK(d.module == "layers.0.mlp.act_fn");
  CHECK(d.op == "silu");
  CHECK(d.aten_op == "aten::silu");
  CHECK(d.input_reference_modules == std::vector<std::string>{"layers.0.mlp.up_proj"});
  CHECK(d.closest_reference_module.rfind("layers.0.mlp", 0) == 0);
  CHECK(d.max_abs_error > 0.1);
  CHECK(d.r_ratio > 10.0);
  CHECK(report.first_per_module().size() >= 1);
  CHECK(report.to_text().find("layers.0.mlp.act_fn") != std::string::npos);
}

TEST_CASE("each output is summarized as torch.testing.assert_close would report it") {
  const auto report = check::localize_divergence(reference(), Graph::load(kLlama / "bugs" / "silu_on_up.graph"));
  REQUIRE(report.outputs.size() == 1);
  REQUIRE(report.outputs[0].close.has_value());
  const auto& c = *report.outputs[0].close;
  CHECK(c.elements > 0);
  CHECK(c.mismatched > 0);
  CHECK(c.mismatched <= c.elements);
  CHECK(c.rtol == doctest::Approx(1.3e-6));  // an f32 port
  CHECK(c.max_abs > 0.01);
  CHECK(c.max_abs_index.size() == report.outputs[0].close->max_rel_index.size());
  CHECK(c.to_text().find("mismatched elements: ") == 0);
  CHECK(c.to_text().find("greatest absolute difference") != std::string::npos);

  const auto same = check::localize_divergence(reference(), Graph::load(kLlama / "port.graph"));
  REQUIRE(same.outputs[0].close.has_value());
  CHECK(same.outputs[0].close->max_abs < 1e-3);
}

TEST_CASE("a projection whose rows are in Meta's RoPE order matches, so a cache bug is found at the cache write") {
  // gpt-fast's fused wqkv holds q and k rows in adjacent pairs where the reference holds
  // halves; the value matcher reads that interleave as a view, so the projection is not
  // blamed and the first divergence is the off-by-one index_put into the KV cache.
  const auto report = check::localize_divergence(reference(), Graph::load(kLlama / "bugs" / "kv_cache_off_by_one.graph"));
  INFO(report.to_text());
  REQUIRE_FALSE(report.divergences.empty());
  const auto& d = report.divergences.front();
  CHECK(d.module == "layers.0.attention");
  CHECK(d.node.find("index_put") != std::string::npos);
  CHECK(d.input_reference_modules == std::vector<std::string>{"layers.0.self_attn"});
}

TEST_CASE("a KV cache written from position 0 extends the reference's keys: a bug after the cache write is named where it is") {
  // The cache [1, kv_heads, 64, head_dim] holds the reference's keys in its first 8 slots; so
  // do the repeated cache, the scores over it and the masked probabilities (the mask removes
  // the extra columns). Each of those extends a reference value, so the write is not blamed.
  struct Case {
    const char* file;
    const char* op;       // the op the first divergence must be
    const char* closest;  // the reference value its errors are measured against
  };
  for (const Case& c : {Case{"gqa_heads_tiled.graph", "repeat", "reshape_0"}, Case{"mask_not_causal.graph", "softmax", "softmax_0"}}) {
    CAPTURE(c.file);
    const auto report = check::localize_divergence(reference(), Graph::load(kLlama / "bugs" / c.file));
    INFO(report.to_text());
    REQUIRE_FALSE(report.divergences.empty());
    const auto& d = report.divergences.front();
    CHECK(d.module == "layers.0.attention");
    CHECK(d.op == c.op);
    CHECK(report.extension_matched_values > 0);
    // The closest value is one the port's extends (HF's repeat_kv result, its probabilities),
    // not a weight that happens to have as many elements as the whole cache.
    CHECK(d.closest_reference == c.closest);
    CHECK(d.closest_reference_module == "layers.0.self_attn");
  }
  // The correct port's cache and the values over it extend the reference's, and extend only:
  // an extension is never offered to synthesis as an equation.
  const auto good = check::localize_divergence(reference(), Graph::load(kLlama / "variants" / "fast_style.graph"));
  CHECK(good.outputs_agree);
  CHECK(good.divergences.empty());
  int extensions = 0;
  for (const auto& m : good.value_matches)
    if (m.status == "extends") {
      ++extensions;
      CHECK(m.concat_dim >= 0);
      REQUIRE(m.pieces.size() == 1);
    }
  CHECK(extensions >= 4);
}

TEST_CASE("a divergence's errors compare it with its counterpart, through the leading slice of padded logits") {
  // bugs/vocab_padding_first.py: the head's linear gives 128 logits per token where the
  // reference's gives 100. Its counterpart (the reference's linear of the same normed hidden
  // states) is what the errors describe, not some value that happens to have 1024 elements.
  const auto report = check::localize_divergence(
      reference(), check::port_for(reference(), Graph::load(kLlama / "bugs" / "vocab_padding_first.graph")));
  REQUIRE_FALSE(report.divergences.empty());
  const auto& d = report.divergences.front();
  CHECK(d.module == "logits_processor");
  CHECK(d.op == "linear");
  CHECK(d.counterpart == "linear_14");
  CHECK(d.closest_is_counterpart);
  CHECK(d.closest_reference == "linear_14");
  CHECK(d.closest_reference_module == "lm_head");
  CHECK(d.rel_error > 0.5);  // each logit read from another token's row
  CHECK(report.to_text().find("against its counterpart linear_14 (lm_head)") != std::string::npos);
  // Without a counterpart of the same op the closest value by element count stays.
  const auto silu = check::localize_divergence(reference(), Graph::load(kLlama / "bugs" / "silu_on_up.graph"));
  REQUIRE_FALSE(silu.divergences.empty());
  CHECK_FALSE(silu.divergences.front().closest_is_counterpart);
}
