// `twin check` (check/equivalence_check.h) on the shipped llama example, as a user relies on it:
// the port is proved equivalent with verified rules; every buggy port is not equivalent at
// the module its `.py` names; a bf16 variance is equivalent in real arithmetic with the norm
// named; without the RoPE block rule the answer is unproven, never a wrong verdict; a wrong
// rule is never used.
#include "capture/graph.h"
#include "check/equivalence_check.h"
#include "compiler/rule_compiler.h"
#include "interp/rule_files.h"
#include "verify/verdict_cache.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

using namespace twin;
namespace fs = std::filesystem;

namespace {

const fs::path kLlama = fs::path(TWIN_SOURCE_DIR) / "examples" / "llama";
const fs::path kStdlib = fs::path(TWIN_SOURCE_DIR) / "stdlib";

check::CheckOptions options() {
  // The stdlib's verdicts come from the build's cache (check/rule_admission.h).
  return check::CheckOptions{};
}

// The stdlib's declarations and those of `files`, loaded by the front end as `twin check` does.
std::shared_ptr<const compiler::Declarations> rules(std::vector<fs::path> files = {}, bool stdlib = true) {
  RuleFiles request;
  request.files = std::move(files);
  request.stdlib = stdlib;
  return load_rule_files(request);
}

const Graph& reference() {
  static const Graph g = Graph::load(kLlama / "reference.graph");
  return g;
}

std::string first_line_module(const fs::path& py) {
  std::ifstream in(py);
  std::string line;
  std::getline(in, line);
  auto colon = line.find(':');
  return colon == std::string::npos ? "" : line.substr(line.find_first_not_of(' ', colon + 1));
}

bool names_module(const std::string& reported, const std::string& want) {
  return reported == want || reported.rfind(want + ".", 0) == 0 || want.rfind(reported + ".", 0) == 0;
}

// `port` checked against `ref` with the stdlib alone (no synthesis).
check::CheckResult by_stdlib(const Graph& ref, const fs::path& port) {
  check::CheckOptions o = options();
  o.synthesis.enabled = false;
  return check::check_equivalence(ref, Graph::load(port), rules(), o);
}

bool used_rule(const check::CheckResult& r, const std::string& rule) {
  return std::any_of(r.rules_used.begin(), r.rules_used.end(), [&](const auto& u) { return u.rule == rule; });
}

fs::path temp_dir() {
  fs::path dir = fs::temp_directory_path() / ("twin_check_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("the example port is proved equivalent with block rules, each step in a module") {
  check::CheckResult r = check::check_equivalence(reference(), Graph::load(kLlama / "port.graph"), rules(), options());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  CHECK(r.precision_differences.empty());
  CHECK(r.rejected_rules.empty());
  auto used = [&](const std::string& rule) {
    return std::any_of(r.rules_used.begin(), r.rules_used.end(), [&](const auto& u) { return u.rule == rule; });
  };
  // The forms of issue 6 that the port writes differently.
  CHECK(used("linear_algebra.fused_qkv_q"));
  CHECK(used("linear_algebra.row_parallel"));
  CHECK(used("linear_algebra.column_parallel"));
  CHECK(used("rope.rotate_half_as_neox"));
  CHECK(used("attention.repeat_kv_as_repeat_interleave"));
  CHECK(used("attention.masked_fill_as_additive_mask"));
  CHECK(used("attention.prescaled_query_div"));
  // The proof is minimized: detours through unfolded definitions are gone.
  CHECK_FALSE(used("activations.silu_def"));
  for (const auto& u : r.rules_used)
    if (u.rule == "rope.rotate_half_as_neox")
      CHECK(std::find(u.modules.begin(), u.modules.end(), "layers.0.self_attn") != u.modules.end());
  // The RoPE tables are built differently (cos of cat(freqs, freqs) against a cached half
  // table) and meet only through their evaluated values.
  CHECK(r.stats.value_unions > 0);
  nlohmann::json j = nlohmann::json::parse(r.to_json());
  CHECK(j["verdict"] == "equivalent");
  CHECK(j["rules_used"].size() == r.rules_used.size());
}

TEST_CASE("each buggy port is not equivalent, diverging in the module its file names") {
  int ports = 0;
  for (const auto& entry : fs::directory_iterator(kLlama / "bugs")) {
    if (entry.path().extension() != ".py") continue;
    ++ports;
    std::string want = first_line_module(entry.path());
    fs::path graph = fs::path(entry.path()).replace_extension(".graph");
    CAPTURE(graph);
    check::CheckResult r = check::check_equivalence(reference(), Graph::load(graph), rules(), options());
    CHECK(r.verdict == check::CheckVerdict::NotEquivalent);
    REQUIRE(r.numerics);
    bool found = false;
    for (const auto& d : r.numerics->divergences) found = found || names_module(d.module, want);
    CHECK(found);
  }
  CHECK(ports >= 4);
}

TEST_CASE("a variance computed in bf16 is equivalent in real arithmetic, at that norm") {
  check::CheckResult r = check::check_equivalence(Graph::load(kLlama / "reference.bf16.graph"),
                                                  Graph::load(kLlama / "precision" / "variance_bf16.graph"), rules(),
                                                  options());
  CHECK(r.verdict == check::CheckVerdict::EquivalentReal);
  REQUIRE_FALSE(r.precision_differences.empty());
  CHECK(r.precision_differences[0].module == "layers.0.input_layernorm");
  CHECK(r.precision_differences[0].rule == "normalization.variance_after_upcast");
}

TEST_CASE("without the RoPE block rule the example is unproven, and the gap is named") {
  fs::path dir = temp_dir();
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kStdlib)) {
    if (entry.path().extension() != ".rules") continue;
    if (entry.path().filename() == "rope.rules") continue;
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  check::CheckOptions o = options();
  o.synthesis.enabled = false;  // the gap report is what a user sees when synthesis is off or gives up
  check::CheckResult r = check::check_equivalence(reference(), Graph::load(kLlama / "port.graph"), rules(files, false), o);
  CHECK(r.verdict == check::CheckVerdict::Unproven);
  REQUIRE(r.numerics);
  CHECK(r.numerics->outputs_agree);
  REQUIRE_FALSE(r.unmatched.empty());
  for (const auto& u : r.unmatched) CHECK(u.module == "layers.0.self_attn.rotary_emb");
  fs::remove_all(dir);
}

TEST_CASE("a rule that does not verify is never used, so it cannot hide a bug") {
  // silu_on_up computes silu(up) * gate; this wrong rule would make it "equivalent".
  fs::path dir = temp_dir();
  fs::path wrong = dir / "wrong.rules";
  std::ofstream(wrong) << "version 1\nruleset wrong {\n  rule swap_silu: silu(?a) * ?b => silu(?b) * ?a\n}\n";
  check::CheckResult r =
      check::check_equivalence(reference(), Graph::load(kLlama / "bugs" / "silu_on_up.graph"), rules({wrong}), options());
  CHECK(r.verdict == check::CheckVerdict::NotEquivalent);
  REQUIRE(r.rejected_rules.size() == 1);
  CHECK(r.rejected_rules[0].name == "wrong.swap_silu");
  CHECK(r.rejected_rules[0].report.verdict == verify::Verdict::Refuted);
  fs::remove_all(dir);
}

TEST_CASE("a wrong rule admitted by a route around verification raises the soundness alarm, never equivalent") {
  // A bug or a forged verdict stands in for the route: the wrong rule's entry is signed with
  // the user's own key, so the cache believes it. The proof then connects silu(up) * gate to
  // silu(gate) * up, and running both graphs contradicts it.
  fs::path dir = temp_dir();
  fs::path wrong = dir / "wrong.rules";
  std::ofstream(wrong) << "version 1\nruleset wrong {\n  rule swap_silu: silu(?a) * ?b => silu(?b) * ?a\n}\n";
  auto declarations = rules({wrong});
  check::CheckOptions o = options();
  // The user's own key (the default), so the build's signed stdlib verdicts still count and
  // only the forged entry is new.
  o.verification.cache_directory = dir / "cache";
  compiler::RuleCompiler compiler(declarations, std::make_shared<egraph::OpTable>());
  auto rule = compiler.compile(declarations->all_rules().back());
  REQUIRE(rule->source->qualified_name() == "wrong.swap_silu");
  verify::RuleReport forged;
  forged.verdict = verify::Verdict::Proved;
  forged.method = "z3";
  verify::VerdictCache cache({o.verification.cache_directory, true, o.verification.key_file, {}});
  cache.store(verify::VerdictCache::key(rule->meaning_text, o.verification.verify), rule->meaning_text, forged);

  check::CheckResult r = check::check_equivalence(reference(), Graph::load(kLlama / "bugs" / "silu_on_up.graph"), declarations, o);
  CHECK(r.verdict == check::CheckVerdict::NotEquivalent);
  REQUIRE(r.alarm);
  CHECK(std::find(r.alarm->rules.begin(), r.alarm->rules.end(), "wrong.swap_silu") != r.alarm->rules.end());
  CHECK(r.to_text().find("SOUNDNESS ALARM") != std::string::npos);
  CHECK(nlohmann::json::parse(r.to_json()).contains("soundness_alarm"));
  fs::remove_all(dir);
}

TEST_CASE("a graph checked against itself is equivalent with no rule steps") {
  check::CheckResult same = check::check_equivalence(reference(), reference(), rules(), options());
  CHECK(same.verdict == check::CheckVerdict::Equivalent);
  CHECK(same.rules_used.empty());  // identical graphs share every e-class: nothing to prove
}

TEST_CASE("a divergence's text names the reason, the closest reference value and an assert_close summary") {
  check::CheckResult r = check::check_equivalence(reference(), Graph::load(kLlama / "bugs" / "silu_on_up.graph"), rules(), options());
  REQUIRE(r.verdict == check::CheckVerdict::NotEquivalent);
  const std::string text = r.to_text();
  INFO(text);
  CHECK(text.find("reason: the port diverges from the reference at ") != std::string::npos);
  CHECK(text.find("closest reference value: ") != std::string::npos);
  CHECK(text.find("its inputs match the reference's values in layers.0.mlp.up_proj") != std::string::npos);
  CHECK(text.find("mismatched elements: ") != std::string::npos);
  nlohmann::json j = nlohmann::json::parse(r.to_json());
  CHECK(j["reason"].get<std::string>().find("silu") != std::string::npos);
  CHECK(j["numerics"]["outputs"][0].contains("assert_close"));
}

TEST_CASE("an equivalent pair has no reason; --explain-gaps still shows per-rule counts") {
  check::CheckResult r = check::check_equivalence(reference(), Graph::load(kLlama / "port.graph"), rules(), options());
  REQUIRE(r.verdict == check::CheckVerdict::Equivalent);
  CHECK(r.reason().empty());
  CHECK(nlohmann::json::parse(r.to_json())["reason"].is_null());
  CHECK_FALSE(r.rule_activity.empty());
  std::size_t applied = 0;
  for (const auto& a : r.rule_activity) applied += a.applications;
  CHECK(applied > 0);
  CHECK(r.to_text().find("gap diagnosis") == std::string::npos);
  const std::string explained = r.to_text({.explain_gaps = true});
  CHECK(explained.find("gap diagnosis") != std::string::npos);
  CHECK(explained.find("algebra.mul_comm  ") != std::string::npos);
}

TEST_CASE("a rule whose guard refuses every match is named as nearly matched, with its guard") {
  // The stdlib's RoPE rule, guarded for rank 3 (the port's q and k have rank 4), without rope.rules.
  fs::path dir = temp_dir();
  fs::create_directories(dir);
  std::ofstream(dir / "my_rope.rules") << R"(version 1

ruleset my_rope {
  rule my_rotate_half_as_neox:
      ?x * cat([?c, ?c], dim=-1)
        + cat([-slice(?x, dim=-1, start=?h, end=?n), slice(?x, dim=-1, start=0, end=?h)], dim=-1)
          * cat([?s, ?s], dim=-1)
        => cat([slice(?x, dim=-1, start=0, end=?h) * ?c - slice(?x, dim=-1, start=?h, end=?n) * ?s,
                slice(?x, dim=-1, start=?h, end=?n) * ?c + slice(?x, dim=-1, start=0, end=?h) * ?s], dim=-1)
      if rank(?x) == 3 and dim(?x, -1) == ?n and ?n == 2 * ?h and dim(?c, -1) == ?h and shape(?c) == shape(?s)
}
)";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kStdlib))
    if (entry.path().extension() == ".rules" && entry.path().filename() != "rope.rules") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  files.push_back(dir / "my_rope.rules");
  check::CheckOptions o = options();
  o.synthesis.enabled = false;
  check::CheckResult r = check::check_equivalence(reference(), Graph::load(kLlama / "port.graph"), rules(files, false), o);
  fs::remove_all(dir);
  REQUIRE(r.verdict != check::CheckVerdict::Equivalent);
  const std::string text = r.to_text({.explain_gaps = true});
  INFO(text);
  CHECK(text.find("rules that nearly matched") != std::string::npos);
  CHECK(text.find("my_rope.my_rotate_half_as_neox: ") != std::string::npos);
  CHECK(text.find("refused by the guard `") != std::string::npos);
  CHECK(text.find("rank(?x) == 3 and dim(?x, -1) == ?n") != std::string::npos);
  CHECK(nlohmann::json::parse(r.to_json({.explain_gaps = true})).contains("rule_activity"));
  // Per gap: each RoPE piece names the rule that nearly matched at the reference value it
  // matches, and no rule refused only elsewhere (the stdlib's dtype-guarded mask rules).
  REQUIRE_FALSE(r.unmatched.empty());
  for (const auto& piece : r.unmatched) {
    INFO(piece.node);
    if (piece.module.find("rotary_emb") == std::string::npos) continue;
    REQUIRE_FALSE(piece.nearly_matched.empty());
    CHECK(piece.nearly_matched.front() == "my_rope.my_rotate_half_as_neox");
    for (const auto& rule : piece.nearly_matched) CHECK(rule.find("masked_fill") == std::string::npos);
  }
  CHECK(text.find("nearly matched here (pattern matched, guard refused): my_rope.my_rotate_half_as_neox") != std::string::npos);
  auto json = nlohmann::json::parse(r.to_json({.explain_gaps = true}));
  CHECK(json["unmatched"][0]["nearly_matched"][0] == "my_rope.my_rotate_half_as_neox");
}

TEST_CASE("HF GPT-2 against nanoGPT is proven by the stdlib's rules alone") {
  // examples/gpt2: HuggingFace's GPT-2 against nanoGPT's, both captured by twin capture. The
  // forms differ everywhere a port writes the same math its own way: Conv1D against Linear
  // (linear_of_squeeze, linear_of_unsqueeze), position ids with and without unsqueeze(0)
  // (embedding_of_unsqueeze_*), permute(0, 2, 1, 3) against transpose(1, 2), `w / full([], 4.0)`
  // against `w * 0.25`, a boolean mask filled with finfo.min against a float one filled with
  // -inf (softmax_of_number_fill_f32, guarded by every_row_attends), GELU written out against
  // gelu(approximate="tanh").
  const fs::path gpt2 = fs::path(TWIN_SOURCE_DIR) / "examples" / "gpt2";
  check::CheckOptions o = options();
  o.synthesis.enabled = false;
  check::CheckResult r = check::check_equivalence(Graph::load(gpt2 / "reference.graph"), Graph::load(gpt2 / "port.graph"), rules(), o);
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  CHECK(r.unmatched.empty());
}

TEST_CASE("a fast-inference GPT-2 (split q/k/v, q scaled before the product, a KV cache, where(mask, s, -inf)) is equivalent; its erf GELU is not") {
  // examples/gpt2/variants/fast_style.py: the converter cuts HF's fused Conv1D into three
  // Linear weights (matmul_of_column_slice); q is scaled before its heads are split (transpose_of_scaled,
  // reshape_of_scaled, prescaled_query); the traced `torch.tensor(-inf)` is a 0-d constant
  // read as full(...) (where_neg_inf_as_masked_fill_over_heads) so attention over the cache
  // is attention over the written positions. examples/gpt2/bugs/gelu_erf.py: the same port
  // with nn.GELU()'s exact erf, an error of 5e-4 that is a different function;
  // examples/gpt2/bugs/layer_norm_eps.py: one LayerNorm with another model's eps.
  const fs::path gpt2 = fs::path(TWIN_SOURCE_DIR) / "examples" / "gpt2";
  check::CheckOptions o = options();
  o.synthesis.enabled = false;
  const Graph reference_gpt2 = Graph::load(gpt2 / "reference.graph");
  check::CheckResult r = check::check_equivalence(reference_gpt2, Graph::load(gpt2 / "variants" / "fast_style.graph"), rules(), o);
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  std::set<std::string> used;
  for (const auto& u : r.rules_used) used.insert(u.rule);
  CHECK(used.count("attention.where_neg_inf_as_masked_fill_over_heads"));
  // The boolean mask may be read as masked_fill or as an additive mask: either cache rule.
  CHECK((used.count("attention.attention_over_written_cache") || used.count("attention.attention_over_written_cache_additive")));
  CHECK(used.count("linear_algebra.matmul_of_column_slice"));

  check::CheckResult bug = check::check_equivalence(reference_gpt2, Graph::load(gpt2 / "bugs" / "gelu_erf.graph"), rules(), options());
  INFO(bug.to_text());
  CHECK(bug.verdict == check::CheckVerdict::NotEquivalent);
  REQUIRE(bug.numerics.has_value());
  REQUIRE_FALSE(bug.numerics->divergences.empty());
  CHECK(bug.numerics->divergences.front().module == "layers.0.ffn");

  // One LayerNorm's eps at 1e-6 against GPT-2's 1e-5: an output error near 1e-5, and both
  // constants named at the norm.
  check::CheckResult eps = check::check_equivalence(reference_gpt2, Graph::load(gpt2 / "bugs" / "layer_norm_eps.graph"), rules(), options());
  INFO(eps.to_text());
  CHECK(eps.verdict == check::CheckVerdict::NotEquivalent);
  REQUIRE(eps.numerics.has_value());
  REQUIRE_FALSE(eps.numerics->divergences.empty());
  const auto& d = eps.numerics->divergences.front();
  CHECK(d.module == "layers.1.ffn_norm");
  bool named = false;
  for (const auto& diff : d.differences)
    named = named || (diff.rfind("eps=", 0) == 0 && diff.find("where the reference has eps=") != std::string::npos);
  CHECK(named);
  CHECK(eps.to_text().find("eps=1e-06 where the reference has eps=1e-05") != std::string::npos);
}

TEST_CASE("causal masks filled with finfo.min, additively or by masked_fill, meet masked_fill(-inf)") {
  // examples/llama/variants: the reference with HuggingFace's finfo.min additive mask against
  // the port (masked_fill(-inf)), and the reference against a port using masked_fill(finfo.min).
  // The masks are constants with a kept score in every row (every_row_keeps, additive_mask).
  check::CheckOptions o = options();
  o.synthesis.enabled = false;
  const auto stdlib = rules();
  check::CheckResult a = check::check_equivalence(Graph::load(kLlama / "variants" / "finfo_mask.graph"),
                                                  Graph::load(kLlama / "port.graph"), stdlib, o);
  CHECK(a.verdict == check::CheckVerdict::Equivalent);
  check::CheckResult b = check::check_equivalence(reference(), Graph::load(kLlama / "variants" / "masked_fill_finfo.graph"), stdlib, o);
  CHECK(b.verdict == check::CheckVerdict::Equivalent);
}

TEST_CASE("a fast-inference Llama (fused wqkv in Meta's row order, real-arithmetic interleaved RoPE, a KV cache read whole) is equivalent by the stdlib") {
  // examples/llama/variants/fast_style.py (gpt-fast's way): the fused weight is a cat of two
  // grouped transposes and v; the cache is written with index_put at the positions and read
  // whole, its unwritten slots masked, so attention over it is attention over the positions.
  check::CheckOptions o = options();
  o.synthesis.enabled = false;
  check::CheckResult r = check::check_equivalence(reference(), Graph::load(kLlama / "variants" / "fast_style.graph"), rules(), o);
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  std::set<std::string> used;
  for (const auto& u : r.rules_used) used.insert(u.rule);
  // The boolean mask may be read as masked_fill or, after masked_fill_as_additive_mask, as an
  // additive mask: either cache rule proves it.
  CHECK((used.count("attention.attention_over_written_cache_repeated") ||
         used.count("attention.attention_over_written_cache_additive_repeated")));
  CHECK(used.count("attention.read_back_written_positions"));
  CHECK(used.count("rope.scores_of_interleaved"));
  bool fused = false;
  for (const auto& rel : r.relations)
    if (rel.port == "layers.0.attention.wqkv.weight")
      fused = rel.kind == check::RelationKind::Concat && rel.parts.size() == 3 && rel.parts[0].groups > 0 && rel.parts[1].groups > 0;
  CHECK(fused);
}

TEST_CASE("HuggingFace's static KV cache (index_copy_ into a buffer, an additive finfo.min mask over every slot) is equivalent by the stdlib") {
  check::CheckOptions o = options();
  o.synthesis.enabled = false;
  check::CheckResult r =
      check::check_equivalence(reference(), Graph::load(kLlama / "variants" / "hf_static_cache.graph"), rules(), o);
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  bool additive = false;
  for (const auto& u : r.rules_used) additive = additive || u.rule == "attention.attention_over_written_cache_additive_repeated";
  CHECK(additive);
}

TEST_CASE("a Llama written out by hand (softmax shifted by the row maximum, heads folded into the batch for bmm) is equivalent") {
  // examples/llama/variants/hand_written.py: `s.amax(-1, keepdim=True)` is captured as amax
  // (max/min over a dim, too), the written-out softmax is softmax by a stdlib rule, and
  // synthesis relates the folded [batch * heads, ...] layout to the reference's heads.
  check::CheckResult r =
      check::check_equivalence(reference(), Graph::load(kLlama / "variants" / "hand_written.graph"), rules(), options());
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  std::set<std::string> used;
  for (const auto& u : r.rules_used) used.insert(u.rule);
  CHECK(used.count("softmax_identities.softmax_row_shifted_rank3"));
  CHECK(r.findings.empty());
}

TEST_CASE("a Llama written with vLLM's own modules (rotary_dim slicing, a cos_sin_cache lookup, movedim) is equivalent by the stdlib") {
  // examples/llama/variants/vllm_rotary.py: RoPE on [b, s, heads, d] before the heads move in
  // front, its cos/sin [s, 1, d/2] broadcasting over the batch, an empty pass-through slice
  // concatenated back, and movedim for the head layout.
  check::CheckResult r = by_stdlib(reference(), kLlama / "variants" / "vllm_rotary.graph");
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  CHECK(used_rule(r, "layout.mul_broadcast_leading_unit_rank3"));
}

TEST_CASE("a vLLM-style GPT-2 (Linear weights transposed by the loader, chunked c_attn, a tied output projection applied inline) is equivalent by the stdlib") {
  const fs::path gpt2 = fs::path(TWIN_SOURCE_DIR) / "examples" / "gpt2";
  check::CheckResult r = by_stdlib(Graph::load(gpt2 / "reference.graph"), gpt2 / "variants" / "vllm_style.graph");
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
}

TEST_CASE("a GPT-2 written from scratch (LayerNorm by hand, einsum attention, h @ wte.weight.T) is equivalent by the stdlib; its unbiased variance is not") {
  // examples/gpt2/variants/hand_written.py and bugs/layer_norm_unbiased.py: x.var's default
  // divides by n - 1 where LayerNorm divides by n.
  const fs::path gpt2 = fs::path(TWIN_SOURCE_DIR) / "examples" / "gpt2";
  const Graph reference_gpt2 = Graph::load(gpt2 / "reference.graph");
  check::CheckResult r = by_stdlib(reference_gpt2, gpt2 / "variants" / "hand_written.graph");
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  CHECK(used_rule(r, "normalization.layer_norm_written_out"));
  CHECK(used_rule(r, "layout.permute_keys_as_transposes"));
  check::CheckResult bug =
      check::check_equivalence(reference_gpt2, Graph::load(gpt2 / "bugs" / "layer_norm_unbiased.graph"), rules(), options());
  CHECK(bug.verdict == check::CheckVerdict::NotEquivalent);
  REQUIRE(bug.numerics);
  REQUIRE_FALSE(bug.numerics->divergences.empty());
  CHECK(bug.numerics->divergences.front().module == "blocks.0.ln_1");
}

TEST_CASE("an unconnected node is listed where the gap lies inside its own lowering (an einsum's permute)") {
  // The stdlib without layout.permute_keys_as_transposes: the hand-written GPT-2's einsum
  // lowers to a permute of the keys that nothing meets. The einsum node itself is the
  // smallest unmatched piece, though no node owns the permute step.
  fs::path dir = temp_dir() / "no_keys_rule";
  fs::create_directories(dir);
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kStdlib)) {
    if (entry.path().extension() != ".rules") continue;
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (entry.path().filename() == "layout.rules") {
      auto a = text.find("  # Keys with their heads in front"), b = text.find("  # Permutations compose");
      REQUIRE(a != std::string::npos);
      REQUIRE(b != std::string::npos);
      text.erase(a, b - a);
    }
    std::ofstream(dir / entry.path().filename()) << text;
    files.push_back(dir / entry.path().filename());
  }
  std::sort(files.begin(), files.end());
  const fs::path gpt2 = fs::path(TWIN_SOURCE_DIR) / "examples" / "gpt2";
  check::CheckOptions o = options();
  o.synthesis.enabled = false;
  check::CheckResult r = check::check_equivalence(Graph::load(gpt2 / "reference.graph"),
                                                  Graph::load(gpt2 / "variants" / "hand_written.graph"), rules(files, false), o);
  fs::remove_all(dir);
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Unproven);
  bool listed = false;
  for (const auto& u : r.unmatched) listed = listed || (u.node == "einsum_0" && u.module == "blocks.0.attn");
  CHECK(listed);
}

TEST_CASE("a port whose projection has a bias of zeros (nn.Linear's default, zeroed by the converter) is equivalent by the stdlib") {
  // examples/llama/variants/zero_bias.py: the bias relates to no reference tensor; its stored
  // zeros are known to the e-graph, so all_zero(?b) holds. bugs/o_proj_random_bias.py, the same
  // bias left at its random init, is not equivalent (the loop over bugs checks it).
  check::CheckResult r = by_stdlib(reference(), kLlama / "variants" / "zero_bias.graph");
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  CHECK(used_rule(r, "linear_algebra.linear_zero_bias"));
}

TEST_CASE("a vLLM-style port with a padded vocabulary (zero rows, logits cut back) is equivalent by the stdlib, on the ids' domain") {
  // examples/llama/variants/vllm_padded_vocab.py: both tables are inferred as the reference's
  // rows and a block of zeros; the token ids are below 100 wherever the reference is defined,
  // so the padded rows are never looked up; the cut logits are the first part of a fused
  // projection. bugs/vocab_padding_first.py, the head's rows written after the padding, is not
  // equivalent (the loop over bugs checks it).
  check::CheckResult r = by_stdlib(reference(), kLlama / "variants" / "vllm_padded_vocab.graph");
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  CHECK(used_rule(r, "linear_algebra.fused_projection_first"));
  CHECK(used_rule(r, "layout.embedding_of_padded_table"));
  int padded = 0;
  for (const auto& rel : r.relations)
    if (rel.kind == check::RelationKind::Concat && rel.parts.size() == 2 && rel.parts[1].zeros &&
        rel.parts[1].zero_shape == std::vector<std::int64_t>{28, 64})
      ++padded;
  CHECK(padded == 2);  // model.embed_tokens.weight and lm_head.weight
  // The verdict says on which inputs it holds.
  REQUIRE(r.index_domains.size() == 1);
  CHECK(r.index_domains[0].input == "input_ids");
  CHECK(r.index_domains[0].bound == 100);
  CHECK(r.to_text().find("assuming every element of input input_ids is in [0, 100)") != std::string::npos);
  // The shipped port's proof reads no index domain, and says nothing of one.
  CHECK(by_stdlib(reference(), kLlama / "port.graph").index_domains.empty());
}

TEST_CASE("an NxD-style Llama masking with torch.where and finfo.min as a Python number is equivalent by the stdlib") {
  // examples/llama/variants/nxd_style.py: the fill is a rank-0 constant operand of where, not
  // a `full` tensor; the causal mask keeps a score in every row (every_row_attends).
  check::CheckResult r = by_stdlib(reference(), kLlama / "variants" / "nxd_style.graph");
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  CHECK(used_rule(r, "attention.softmax_of_scalar_number_fill_f32"));
}

TEST_CASE("a Meta-style Llama (interleaved complex RoPE, converter-permuted q/k rows) is equivalent by the stdlib") {
  // examples/llama/variants/meta_style.py: complex RoPE on adjacent pairs before the heads are
  // transposed, repeat_kv before the transpose, q/k rows in Meta's order. The relation is
  // found as one permutation per weight; the interleave, the head transposes and q.k^T's sum
  // over the head dim meet HF's halves through the stdlib's rope and layout rules.
  check::CheckOptions o = options();
  o.synthesis.enabled = false;
  check::CheckResult r = check::check_equivalence(reference(), Graph::load(kLlama / "variants" / "meta_style.graph"), rules(), o);
  INFO(r.to_text());
  CHECK(r.verdict == check::CheckVerdict::Equivalent);
  bool grouped = false;
  for (const auto& rel : r.relations)
    if (rel.port == "layers.0.attention.wq.weight") grouped = rel.kind == check::RelationKind::GroupedTranspose && rel.group_a == 2;
  CHECK(grouped);
  bool interleave_used = false;
  for (const auto& use : r.rules_used) interleave_used = interleave_used || use.rule == "rope.scores_of_interleaved";
  CHECK(interleave_used);
}
