// Rule synthesis in `twin check` (check/synthesis_stage.h, synth/), as a user relies on it: with
// the hand-written RoPE, attention and linear block rules removed, the example port is proved
// equivalent by rules made from its values, each validated by a real method; the rules written
// down re-prove the pair with synthesis off; every rule the check admits was validated; and a
// correct port is never turned "not equivalent" by a synthesized candidate.
#include "capture/graph.h"
#include "check/equivalence_check.h"
#include "cli/rule_emission.h"
#include "interp/rule_files.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

using namespace twin;
namespace fs = std::filesystem;

namespace {

const fs::path kLlama = fs::path(TWIN_SOURCE_DIR) / "examples" / "llama";
const fs::path kStdlib = fs::path(TWIN_SOURCE_DIR) / "stdlib";

// The stdlib without its hand-written block rules (attention, rope, linear), plus `extra`.
std::shared_ptr<const compiler::Declarations> base_rules(std::vector<fs::path> extra = {}) {
  RuleFiles request;
  for (const auto& entry : fs::directory_iterator(kStdlib)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".rules" && name != "attention.rules" && name != "rope.rules" && name != "linear.rules")
      request.files.push_back(entry.path());
  }
  std::sort(request.files.begin(), request.files.end());
  request.files.insert(request.files.end(), extra.begin(), extra.end());
  request.stdlib = false;
  return load_rule_files(request);
}

// Check options whose time bounds leave room for a loaded CI machine: a rule Z3 proves in a
// second here may take many more when ctest runs tests side by side on two cores. The bounds
// are limits, not targets; the verdicts below must hold under any bound that lets the
// validations finish.
check::CheckOptions unhurried() {
  check::CheckOptions o;
  o.synthesis.rule_seconds = 120;
  o.synthesis.total_seconds = 900;
  return o;
}

}  // namespace

TEST_CASE("synthesis alone proves the example without its block rules, and the rules it writes re-prove it") {
  const Graph reference = Graph::load(kLlama / "reference.graph");
  const Graph port = Graph::load(kLlama / "port.graph");

  check::CheckOptions off;
  off.synthesis.enabled = false;
  CHECK(check::check_equivalence(reference, port, base_rules(), off).verdict == check::CheckVerdict::Unproven);

  check::CheckResult r = check::check_equivalence(reference, port, base_rules(), unhurried());
  REQUIRE(r.verdict == check::CheckVerdict::Equivalent);
  REQUIRE_FALSE(r.synthesized.empty());
  CHECK(r.findings.empty());
  std::size_t tested = 0;
  std::set<std::string> used;
  for (const auto& u : r.rules_used) used.insert(u.rule);
  for (const auto& s : r.synthesized) {
    CAPTURE(s.name);
    // Only validated rules enter the e-graph, and each records the method that validated it.
    CHECK((s.report.verdict == verify::Verdict::Proved || s.report.verdict == verify::Verdict::Tested));
    CHECK((s.report.method == "z3" || s.report.method == "random"));
    CHECK(s.name.rfind("synthesized.", 0) == 0);
    if (s.report.verdict == verify::Verdict::Tested && used.count(s.name)) ++tested;
  }
  CHECK(r.random_tested_rules == tested);
  CHECK(r.to_text().find("random") != std::string::npos);

  // Written down, then used with synthesis off: the same verdict, from the file alone.
  fs::path dir = fs::temp_directory_path() / ("twin_synthesis_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string text = cli::synthesized_rules_text(r, "reference.graph", "port.graph");
  CHECK(text.find("@verified(") != std::string::npos);
  CHECK(text.find("ruleset synthesized") != std::string::npos);
  std::ofstream(dir / "synthesized.rules") << text;
  check::CheckResult again = check::check_equivalence(reference, port, base_rules({dir / "synthesized.rules"}), off);
  CHECK(again.verdict == check::CheckVerdict::Equivalent);
  CHECK(again.synthesized.empty());
  fs::remove_all(dir);
}

TEST_CASE("vLLM's token layout: the layout rules and synthesis prove the port, every made rule validated") {
  // examples/llama/token_layout: [num_tokens, hidden] against [1, seq, hidden]. The rule pack
  // moves the squeeze of the leading unit dim outward; synthesis closes what is left around
  // RoPE and the head transposes. port_vllm_signature takes vLLM's own `[num_tokens]` ids and
  // positions and returns `[num_tokens, vocab]`: read in the reference's shapes, the same.
  const Graph reference = Graph::load(kLlama / "reference.graph");
  RuleFiles request;
  request.files = {kLlama / "token_layout" / "token_layout.rules"};
  const auto rules = load_rule_files(request);
  check::CheckOptions o;
  o.synthesis.total_seconds = 600;  // a limit for a loaded CI machine, not a target
  for (const char* port : {"port_tokens.graph", "port_vllm_signature.graph"}) {
    CAPTURE(port);
    check::CheckResult r = check::check_equivalence(reference, Graph::load(kLlama / "token_layout" / port), rules, o);
    INFO(r.to_text());
    CHECK(r.verdict == check::CheckVerdict::Equivalent);
    CHECK(r.findings.empty());
    CHECK_FALSE(r.synthesized.empty());
    for (const auto& s : r.synthesized)
      CHECK((s.report.verdict == verify::Verdict::Proved || s.report.verdict == verify::Verdict::Tested));
    CHECK(r.reshaped.size() == (std::string(port) == "port_tokens.graph" ? 0u : 2u));
  }
}

TEST_CASE("litgpt's fused qkv, interleaved per KV group and split from a rank-5 view, is proved by synthesis and stays proved once written down") {
  // examples/llama/variants/litgpt_style.py: the fused output is a concatenation of *parts* of
  // HF's q, k and v projections (value matching), and each piece of the split is one part of
  // a concatenation the other side never reads (the rule's left side holds the other parts
  // as variables). With the stdlib and synthesis off, no rule relates the layout: unproven.
  const Graph reference = Graph::load(kLlama / "reference.graph");
  const Graph port = Graph::load(kLlama / "variants" / "litgpt_style.graph");
  RuleFiles request;
  const auto stdlib = load_rule_files(request);
  check::CheckOptions off;
  off.synthesis.enabled = false;
  CHECK(check::check_equivalence(reference, port, stdlib, off).verdict == check::CheckVerdict::Unproven);

  check::CheckResult r = check::check_equivalence(reference, port, stdlib, unhurried());
  INFO(r.to_text());
  REQUIRE(r.verdict == check::CheckVerdict::Equivalent);
  CHECK(r.findings.empty());
  bool concat_of_parts = false;
  REQUIRE(r.numerics.has_value());
  for (const auto& m : r.numerics->value_matches)
    if (m.node == "linear_0" && m.status == "concat") concat_of_parts = m.pieces.size() == 6;
  CHECK(concat_of_parts);
  for (const auto& s : r.synthesized)
    CHECK((s.report.verdict == verify::Verdict::Proved || s.report.verdict == verify::Verdict::Tested));

  fs::path dir = fs::temp_directory_path() / ("twin_synthesis_litgpt_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "litgpt.rules") << cli::synthesized_rules_text(r, "reference.graph", "litgpt_style.graph");
  request.files = {dir / "litgpt.rules"};
  CHECK(check::check_equivalence(reference, port, load_rule_files(request), off).verdict == check::CheckVerdict::Equivalent);
  fs::remove_all(dir);
}

TEST_CASE("a port's constant table meets the reference's through a view of it, so RoPE on vLLM's tokens gets a rule") {
  // examples/llama/token_layout without its rule pack: vLLM's half-width [tokens, 1, d/2] cos
  // table against HF's full-width [1, 1, seq, d] one. The port's table matched a view of the
  // reference's (a part, reshaped); that term is added for the tensor-value analysis, which
  // unions it with the port's table only because the bits agree. Then the first RoPE product
  // (mul_2) has a rule over shared leaves. The rule limit stops the check there, at its twelfth
  // rule, so the result is unproven: never "not equivalent".
  const Graph reference = Graph::load(kLlama / "reference.graph");
  check::CheckOptions o = unhurried();
  o.synthesis.max_rules = 12;
  check::CheckResult r = check::check_equivalence(
      reference, Graph::load(kLlama / "token_layout" / "port_tokens.graph"), load_rule_files(RuleFiles{}), o);
  INFO(r.to_text());
  CHECK(r.verdict != check::CheckVerdict::NotEquivalent);
  CHECK(r.findings.empty());
  bool rope_product = false;
  for (const auto& s : r.synthesized) rope_product = rope_product || (s.node == "mul_2" && s.module == "layers.0.self_attn.rotary_emb");
  CHECK(rope_product);
}

TEST_CASE("port values no reference node computed are paired by fingerprint, and a refuted pairing is no finding") {
  // HF's static cache (examples/llama/variants/hf_static_cache.py) without the block rules:
  // the cache buffers written with index_copy_ and read whole are values the reference never
  // computes. Fingerprints of e-graph terms on the example inputs propose what they equal;
  // synthesis must still validate each rule, and a refuted proposal says nothing of the port.
  check::CheckResult r = check::check_equivalence(Graph::load(kLlama / "reference.graph"),
                                                  Graph::load(kLlama / "variants" / "hf_static_cache.graph"), base_rules(),
                                                  unhurried());
  INFO(r.to_text());
  CHECK(r.stats.synthesis_fingerprint_candidates > 0);
  CHECK(r.verdict != check::CheckVerdict::NotEquivalent);
  CHECK(r.findings.empty());
  for (const auto& s : r.synthesized)
    CHECK((s.report.verdict == verify::Verdict::Proved || s.report.verdict == verify::Verdict::Tested));
}

TEST_CASE("a synthesized rule that drops a cast makes the proof one in real arithmetic, with its places named") {
  // At bf16 the example port (vLLM's fused add + RMSNorm) normalizes the f32 sum of the
  // residual, where the reference rounds the sum to bf16 first. Synthesis closes the gap with
  // cast(?x, dtype=bf16) => ?x: true in real arithmetic only. "Equivalent" would claim more.
  check::CheckResult r = check::check_equivalence(Graph::load(kLlama / "reference.bf16.graph"),
                                                  Graph::load(kLlama / "port.bf16.graph"), load_rule_files(RuleFiles{}), unhurried());
  INFO(r.to_text({}));
  REQUIRE(r.verdict == check::CheckVerdict::EquivalentReal);
  CHECK(r.stats.synthesis_fingerprint_candidates == 0);  // bf16 captures are not fingerprinted
  bool synthesized_precision = false;
  for (const auto& p : r.precision_differences)
    synthesized_precision = synthesized_precision || p.rule.rfind("synthesized.", 0) == 0;
  CHECK(synthesized_precision);
  for (const auto& use : r.rules_used)
    if (use.rule.rfind("synthesized.", 0) == 0 && use.changes_precision) CHECK(!use.modules.empty());
}
