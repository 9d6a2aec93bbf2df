// verify_rule: the strongest method that applies, and soundness first.
#include "support.h"
#include "verify/rule_verifier.h"
#include "verify/z3_checker.h"

#include <doctest/doctest.h>

#include <chrono>

using namespace twin;

namespace {
verify::RuleReport verify_named(testing::CapturingInterpreter& t, const std::string& ruleset, const std::string& rule,
                                const verify::VerifyOptions& options = {}) {
  auto set = t.interpreter.get_global(ruleset).as<RulesetValue>();
  REQUIRE(set != nullptr);
  for (const auto& r : set->rules())
    if (r->name() == rule) {
      auto ops = std::make_shared<egraph::OpTable>();
      return verify::verify_rule(testing::rule_meaning(t.interpreter, *r, ops), *ops, options);
    }
  FAIL("no rule " << rule);
  return {};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

TEST_CASE("a rule on which Z3 did not stop is refuted within its limit") {
  // Found by bench/mutants: on this mutant of layer_norm_def (the normalization dropped), the
  // first solver call of Z3 4.8.12 ran for minutes, ignoring its 10 s timeout and the
  // watchdog's interrupt. The check now runs in a child process that is killed at its limit
  // (verify_z3_checker_test), and a fixed probe input refutes this rule before any solving.
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule centred_only: layer_norm(?x, normalized_shape=[4], eps=1/100000) => ?x - mean(?x, dim=-1, keepdim=true)\n"
        "      if dim(?x, -1) == 4\n"
        "}\n");
  auto set = t.interpreter.get_global("r").as<RulesetValue>();
  REQUIRE(set != nullptr);
  auto ops = std::make_shared<egraph::OpTable>();
  egraph::Rewrite rewrite = testing::rule_meaning(t.interpreter, *set->rules().at(0), ops);

  verify::Z3Options z3;
  z3.wall_seconds = 3;
  auto start = std::chrono::steady_clock::now();
  verify::Z3Verdict v = verify::check_rule_z3(rewrite, *ops, z3);
  double seconds = seconds_since(start);
  CHECK(v.status == verify::Z3Status::Refuted);
  CHECK(seconds < 3 + 2);

  verify::VerifyOptions options;
  options.rule_seconds = 8;
  start = std::chrono::steady_clock::now();
  verify::RuleReport r = verify_named(t, "r", "centred_only", options);
  CHECK(r.verdict == verify::Verdict::Refuted);
  CHECK(seconds_since(start) < 8 + 2);
}

TEST_CASE("random testing compares the infinities a rule writes, and refutes a rhs that does not evaluate") {
  // Found by bench/mutants (masked_fill with value="-inf" has no Z3 encoding): these mutants of
  // stdlib's masked_fill_as_additive_mask were "tested", since an infinite lhs element was read
  // as outside the lhs's domain, and a rhs that failed to evaluate skipped the instance.
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule right: masked_fill(?x, ?m, value=\"-inf\") => ?x + masked_fill(cast(?m, dtype=f32) * 0, ?m, value=\"-inf\")\n"
        "      if dtype(?x) == f32 and dtype(?m) == bool\n"
        "  rule plus_inf: masked_fill(?x, ?m, value=\"-inf\") => ?x - masked_fill(cast(?m, dtype=f32) * 0, ?m, value=\"-inf\")\n"
        "      if dtype(?x) == f32 and dtype(?m) == bool\n"
        "  rule no_mask: masked_fill(?x, ?m, value=\"-inf\") => ?x + cast(?m, dtype=f32) * 0\n"
        "      if dtype(?x) == f32 and dtype(?m) == bool\n"
        "  rule integer_fill: masked_fill(?x, ?m, value=\"-inf\") => ?x + masked_fill(?m * 0, ?m, value=\"-inf\")\n"
        "      if dtype(?x) == f32 and dtype(?m) == bool\n"
        "}\n");
  CHECK(verify_named(t, "r", "right").verdict == verify::Verdict::Tested);
  auto plus_inf = verify_named(t, "r", "plus_inf");
  CHECK(plus_inf.verdict == verify::Verdict::Refuted);
  CHECK(plus_inf.counterexample.find("-inf") != std::string::npos);
  CHECK(verify_named(t, "r", "no_mask").verdict == verify::Verdict::Refuted);
  auto integer_fill = verify_named(t, "r", "integer_fill");
  CHECK(integer_fill.verdict == verify::Verdict::Refuted);
  CHECK(integer_fill.counterexample.find("does not evaluate") != std::string::npos);
}

TEST_CASE("instances vary what a wrong rule could hide in: integers, their signs, ranks, unit dims under a squeeze") {
  // Found by bench/mutants: each wrong rule here was proved, because every instance checked
  // happened to have ?r == ?b (integers were not kept apart), ?d at the front (one assignment
  // per rank tuple), a rank-2 ?k (no rank-3 ?k typed sdpa within the search's repairs), or no
  // dim of size 1 under the squeeze (where it does nothing).
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule repeats_b: reshape(expand(unsqueeze(?x, dim=-3), shape=[?b, ?h, ?r, ?s, ?d]), shape=[?b, ?hr, ?s, ?d])\n"
        "      => repeat_interleave(?x, repeats=?b, dim=-3)\n"
        "      if rank(?x) == 4 and dim(?x, 0) == ?b and dim(?x, 1) == ?h and dim(?x, 2) == ?s and dim(?x, 3) == ?d\n"
        "         and ?hr == ?h * ?r and ?r > 1\n"
        "  rule front_only: unsqueeze(cat([?a, ?b], dim=-1), dim=?d)\n"
        "      => cat([unsqueeze(?a, dim=0), unsqueeze(?b, dim=?d)], dim=-1)\n"
        "      if ?d < -1 and -1 - rank(?a) <= ?d and shape(?a) == shape(?b)\n"
        "  rule sdpa_dim0: scaled_dot_product_attention(?q, ?k, ?v, scale=1/4)\n"
        "      => matmul(softmax(matmul(?q, transpose(?k, dim0=0, dim1=-1)) * 0.25, dim=-1), ?v) if rank(?q) == 3\n"
        "  rule squeeze_dropped: -squeeze(?x, dim=?d) => -?x if ?d + rank(?x) == 0\n"
        "  rule squeeze_kept: -squeeze(?x, dim=?d) => squeeze(-?x, dim=?d) if ?d + rank(?x) == 0\n"
        "  rule start_d: slice(squeeze(?x, dim=?d), dim=-1, start=?s, end=?e)\n"
        "      => squeeze(slice(?x, dim=-1, start=?d, end=?e), dim=?d) if ?d + rank(?x) == 0 and rank(?x) > 2\n"
        "  rule squeeze_s: slice(squeeze(?x, dim=?d), dim=-1, start=?s, end=?e)\n"
        "      => squeeze(slice(?x, dim=-1, start=?s, end=?e), dim=?s) if ?d + rank(?x) == 0 and rank(?x) > 2\n"
        "  rule indices_squeezed: embedding(?w, squeeze(?i, dim=-2)) => squeeze(?w, dim=-3) if rank(?i) == 2\n"
        "  rule transpose_signed: transpose(squeeze(?x, dim=?d), dim0=?i, dim1=?j)\n"
        "      => squeeze(transpose(?x, dim0=?i, dim1=?j), dim=?d) if ?d + rank(?x) == 0 and ?d < ?i and ?i < ?j\n"
        "  rule transpose_from_end: transpose(squeeze(?x, dim=?d), dim0=?i, dim1=?j)\n"
        "      => squeeze(transpose(?x, dim0=?i, dim1=?j), dim=?d) if ?d + rank(?x) == 0 and ?d < ?i and ?i < ?j and ?j < 0\n"
        "}\n");
  // start=?d (negative: from the end) met only instances where it named ?s's position, and
  // squeeze(dim=?s) only ?s == 0 on a unit dim 0: integers are now also varied together with a
  // unit dim. The indices of embedding, read through a squeeze, are integers (they were f32,
  // and no instance typed). transpose_signed moves a transpose across a squeeze of the first
  // dim: right for ?i, ?j counted from the end, wrong from the front; ?d must be negative, so
  // the preference for non-negative integers failed as a whole and every instance had
  // negative ?i, ?j: the integers' signs are now also flipped.
  for (const char* wrong : {"repeats_b", "front_only", "sdpa_dim0", "squeeze_dropped", "start_d", "squeeze_s",
                            "indices_squeezed", "transpose_signed"}) {
    auto r = verify_named(t, "r", wrong);
    CHECK_MESSAGE(r.verdict == verify::Verdict::Refuted, wrong << ": " << r.verdict_text() << " " << r.detail);
  }
  CHECK(verify_named(t, "r", "squeeze_kept").verdict == verify::Verdict::Proved);
  CHECK(verify_named(t, "r", "transpose_from_end").verdict == verify::Verdict::Proved);
}

TEST_CASE("random testing out of time is unknown, never tested") {
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule right: embedding(?w, ?i) => index_select(?w, ?i, dim=0) if rank(?i) == 1\n"
        "}\n");
  verify::VerifyOptions options;
  options.rule_seconds = 1e-9;  // spent before the first draw
  auto r = verify_named(t, "r", "right", options);
  CHECK(r.verdict == verify::Verdict::Unknown);
  CHECK(r.detail.find("out of time") != std::string::npos);
}

TEST_CASE("a rule that changes a term's shape is refuted, even where the values would broadcast") {
  // Found by bench/mutants: both were once proved, the right side broadcast to the left's shape.
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule expand_drop: expand(?x, shape=[2, -1]) => ?x if rank(?x) == 2 and dim(?x, 0) == 1\n"
        "  rule to_scalar: ?a * 0 => 0\n"
        "  rule scalar_only: ?a * 0 => 0 if rank(?a) == 0\n"
        "}\n");
  CHECK(verify_named(t, "r", "expand_drop").verdict == verify::Verdict::Refuted);
  CHECK(verify_named(t, "r", "to_scalar").verdict == verify::Verdict::Refuted);
  CHECK(verify_named(t, "r", "scalar_only").verdict == verify::Verdict::Proved);
}

TEST_CASE("random testing takes over where Z3 has no encoding, and refutes with concrete tensors") {
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule right: embedding(?w, ?i) => index_select(?w, ?i, dim=0) if rank(?i) == 1\n"
        "  rule wrong: embedding(?w, ?i) => index_select(?w, ?i, dim=1) if rank(?i) == 1\n"
        "}\n");
  auto right = verify_named(t, "r", "right");
  CHECK(right.verdict == verify::Verdict::Tested);
  CHECK(right.method == "random");
  CHECK(right.trials > 0);
  auto wrong = verify_named(t, "r", "wrong");
  CHECK(wrong.verdict == verify::Verdict::Refuted);
  CHECK(wrong.counterexample.find("?i =") != std::string::npos);
}

TEST_CASE("a guard pinned by shape text is read as the e-graph reads it, never as false") {
  // Synthesized rules pin their variables with `shape(?x) == "[...]"`. Z3 once read that
  // comparison (a shape against a text) as false: every guard was then unsatisfiable, and
  // `?a + ?b => ?b` was "proved" vacuously while the e-graph, which compares the texts,
  // fired it.
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule drops_a: ?a + ?b => ?b if shape(?a) == \"[2]\" and shape(?b) == \"[2]\"\n"
        "  rule halves: cat([?a, slice(?b, dim=-1, start=2, end=4)], dim=-1) => ?b\n"
        "      if shape(?a) == \"[2]\" and shape(?b) == \"[4]\"\n"
        "  rule never: ?a + ?b => ?b if dim(?a, -1) == 2 and dim(?a, -1) == 3\n"
        "}\n");
  CHECK(verify_named(t, "r", "drops_a").verdict == verify::Verdict::Refuted);
  CHECK(verify_named(t, "r", "halves").verdict == verify::Verdict::Refuted);
  // A guard no input satisfies proves nothing: unknown, never proved.
  CHECK(verify_named(t, "r", "never").verdict != verify::Verdict::Proved);
}

TEST_CASE("a number variable (scale=?s) is drawn like a value: SDPA's meaning is tested, wrong scalings refuted") {
  // The e-graph binds `scale=?s` to the constant of a graph's SDPA node and the right side
  // uses it as an operand; the verifier must draw it, or such rules stay unknown forever.
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule meaning: scaled_dot_product_attention(?q, ?k, ?v, ?m, is_causal=false, scale=?s)\n"
        "      => matmul(softmax(matmul(?q, transpose(?k, dim0=-2, dim1=-1)) * ?s + ?m, dim=-1), ?v)\n"
        "      if dtype(?q) == f32 and dtype(?m) == f32\n"
        "  rule divided: scaled_dot_product_attention(?q, ?k, ?v, ?m, is_causal=false, scale=?s)\n"
        "      => matmul(softmax(matmul(?q, transpose(?k, dim0=-2, dim1=-1)) / ?s + ?m, dim=-1), ?v)\n"
        "      if dtype(?q) == f32 and dtype(?m) == f32\n"
        "  rule unscaled: scaled_dot_product_attention(?q, ?k, ?v, ?m, is_causal=false, scale=?s)\n"
        "      => matmul(softmax(matmul(?q, transpose(?k, dim0=-2, dim1=-1)) + ?m, dim=-1), ?v)\n"
        "      if dtype(?q) == f32 and dtype(?m) == f32\n"
        "  rule boolean_mask_added: scaled_dot_product_attention(?q, ?k, ?v, ?m, is_causal=false, scale=?s)\n"
        "      => matmul(softmax(matmul(?q, transpose(?k, dim0=-2, dim1=-1)) * ?s + ?m, dim=-1), ?v)\n"
        "      if dtype(?q) == f32\n"
        "}\n");
  auto meaning = verify_named(t, "r", "meaning");
  CHECK(meaning.verdict == verify::Verdict::Tested);
  for (const char* wrong : {"divided", "unscaled", "boolean_mask_added"}) {
    auto report = verify_named(t, "r", wrong);
    CHECK_MESSAGE(report.verdict == verify::Verdict::Refuted, wrong);
    if (std::string(wrong) != "boolean_mask_added") CHECK(report.counterexample.find("?s = ") != std::string::npos);
  }
}

TEST_CASE("a rhs that does not type at the rule's dtypes is refuted, though f64 evaluation would run it") {
  // `where` of two numbers is f32; SDPA at bf16 takes a bool or bf16 mask only. Evaluated in
  // f64 both sides run, so only typing at the instance's dtypes sees the broken rhs.
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule f32_mask_at_bf16: scaled_dot_product_attention(?q, ?k, ?v, ?m, is_causal=false, scale=?s)\n"
        "      => scaled_dot_product_attention(?q, ?k, ?v, where(?m, 0, -3.3895313892515355e38), is_causal=false, scale=?s)\n"
        "      if dtype(?m) == bool and dtype(?q) == bf16 and dtype(?k) == bf16 and dtype(?v) == bf16\n"
        "  rule bf16_mask_at_bf16: scaled_dot_product_attention(?q, ?k, ?v, ?m, is_causal=false, scale=?s)\n"
        "      => scaled_dot_product_attention(?q, ?k, ?v, cast(where(?m, 0, -3.3895313892515355e38), dtype=bf16), is_causal=false, scale=?s)\n"
        "      if dtype(?m) == bool and dtype(?q) == bf16 and dtype(?k) == bf16 and dtype(?v) == bf16\n"
        "}\n");
  auto wrong = verify_named(t, "r", "f32_mask_at_bf16");
  CHECK(wrong.verdict == verify::Verdict::Refuted);
  CHECK(wrong.counterexample.find("attn_mask must be bool or the query's dtype") != std::string::npos);
  CHECK(verify_named(t, "r", "bf16_mask_at_bf16").verdict == verify::Verdict::Tested);
}

TEST_CASE("guards that fix a dim or an integer beyond the usual instance sizes still get instances") {
  // Adding `?h == 4` or `dim(?x, -1) == 8` to the proved RoPE rule made it "unknown: no shape
  // instance satisfies the guard": the search bounded dims by 5. A wrong rule pinned the same
  // way must still be refuted.
  const std::string lhs =
      "?x * cat([?c, ?c], dim=-1) + cat([-slice(?x, dim=-1, start=?h, end=?n), slice(?x, dim=-1, start=0, end=?h)], dim=-1) * cat([?s, ?s], dim=-1)";
  const std::string rhs =
      "cat([slice(?x, dim=-1, start=0, end=?h) * ?c - slice(?x, dim=-1, start=?h, end=?n) * ?s, "
      "slice(?x, dim=-1, start=?h, end=?n) * ?c + slice(?x, dim=-1, start=0, end=?h) * ?s], dim=-1)";
  const std::string swapped =
      "cat([slice(?x, dim=-1, start=0, end=?h) * ?s - slice(?x, dim=-1, start=?h, end=?n) * ?c, "
      "slice(?x, dim=-1, start=?h, end=?n) * ?s + slice(?x, dim=-1, start=0, end=?h) * ?c], dim=-1)";
  const std::string base = "dim(?x, -1) == ?n and ?n == 2 * ?h and dim(?c, -1) == ?h and shape(?c) == shape(?s)";
  testing::CapturingInterpreter t;
  t.run("ruleset r {\n"
        "  rule half_4: " + lhs + " => " + rhs + " if " + base + " and ?h == 4\n"
        "  rule width_8: " + lhs + " => " + rhs + " if " + base + " and dim(?x, -1) == 8\n"
        "  rule swapped_width_8: " + lhs + " => " + swapped + " if " + base + " and dim(?x, -1) == 8\n"
        "}\n");
  CHECK(verify_named(t, "r", "half_4").verdict == verify::Verdict::Proved);
  CHECK(verify_named(t, "r", "width_8").verdict == verify::Verdict::Proved);
  CHECK(verify_named(t, "r", "swapped_width_8").verdict == verify::Verdict::Refuted);
}

TEST_CASE("constant guards (every_row_attends, every_row_keeps, additive_mask, all_zero, distinct_indices, masks_unlisted, indexes_rows_of): values drawn to satisfy them; without them the rules are refuted") {
  // Filling masked scores with a huge negative number or with -inf gives the same softmax only
  // where a row keeps a score (else uniform against NaN): the guard is what makes each hold.
  struct MaskRule {
    const char* name;
    std::string rule, guard, query;
  };
  const std::vector<MaskRule> rules = {
      {"where_fill", "softmax(where(?m, ?x, full(shape=[], fill_value=?v, dtype=f32)), dim=-1) => softmax(masked_fill(?x, logical_not(?m), value=\"-inf\"), dim=-1)",
       "dtype(?x) == f32 and dtype(?m) == bool and ?v <= -1e30", "every_row_attends(?m)"},
      {"where_scalar_fill", "softmax(where(?m, ?x, ?v), dim=-1) => softmax(masked_fill(?x, logical_not(?m), value=\"-inf\"), dim=-1)",
       "dtype(?x) == f32 and dtype(?m) == bool and rank(?v) == 0 and is_const(?v) and ?v <= -1e30", "every_row_attends(?m)"},
      {"zero_bias", "linear(?x, ?w, ?b) => linear(?x, ?w)", "rank(?w) == 2 and rank(?b) == 1", "all_zero(?b)"},
      // A padded vocabulary: ids drawn below the unpadded table's rows, not the padded one's.
      {"padded_table", "embedding(cat([?w, ?pad], dim=-2), ?i) => embedding(?w, ?i)", "rank(?w) == 2",
       "indexes_rows_of(?i, ?w)"},
      {"masked_fill", "softmax(masked_fill(?x, ?m, value=?v), dim=-1) => softmax(masked_fill(?x, ?m, value=\"-inf\"), dim=-1)",
       "dtype(?x) == f32 and dtype(?m) == bool and ?v <= -1e30", "every_row_keeps(?m)"},
      {"additive", "softmax(?x + ?a, dim=-1) => softmax(?x + masked_fill(?a, lt(?a, 0), value=\"-inf\"), dim=-1)",
       "dtype(?x) == f32 and dtype(?a) == f32", "additive_mask(?a)"},
      // A KV cache: positions written at distinct places read back, and attention over the
      // whole cache with its unwritten slots masked (index vectors drawn distinct, masks drawn
      // true at every unlisted column).
      {"read_back", "index_select(index_copy(?x, ?i, ?s, dim=-2), ?i, dim=-2) => ?s", "rank(?x) == 3", "distinct_indices(?i)"},
      {"cache_attention",
       "matmul(softmax(masked_fill(?s, ?m, value=\"-inf\"), dim=-1), index_copy(?z, ?i, ?v, dim=-2)) => "
       "matmul(softmax(masked_fill(index_select(?s, ?i, dim=-1), index_select(?m, ?i, dim=-1), value=\"-inf\"), dim=-1), ?v)",
       "rank(?s) == 4 and rank(?z) == 4 and rank(?v) == 4 and rank(?i) == 1 and rank(?m) >= 1 and dim(?m, -1) == dim(?s, -1) and "
       "dim(?z, -2) == dim(?s, -1) and dim(?i, 0) == dim(?v, -2) and dim(?v, -2) < dim(?z, -2) and dim(?v, 0) == dim(?z, 0) and "
       "dim(?v, 1) == dim(?z, 1) and dim(?v, -1) == dim(?z, -1) and dim(?s, 0) == dim(?z, 0) and dim(?s, 1) == dim(?z, 1) and "
       "distinct_indices(?i) and every_row_keeps(?m)",
       "masks_unlisted(?m, ?i)"},
      {"cache_attention_additive",
       "matmul(softmax(?s + ?a, dim=-1), index_copy(?z, ?i, ?v, dim=-2)) => "
       "matmul(softmax(index_select(?s, ?i, dim=-1) + index_select(?a, ?i, dim=-1), dim=-1), ?v)",
       "rank(?s) == 4 and rank(?z) == 4 and rank(?v) == 4 and rank(?i) == 1 and rank(?a) >= 1 and dim(?a, -1) == dim(?s, -1) and "
       "dim(?z, -2) == dim(?s, -1) and dim(?i, 0) == dim(?v, -2) and dim(?v, -2) < dim(?z, -2) and dim(?v, 0) == dim(?z, 0) and "
       "dim(?v, 1) == dim(?z, 1) and dim(?v, -1) == dim(?z, -1) and dim(?s, 0) == dim(?z, 0) and dim(?s, 1) == dim(?z, 1) and "
       "dtype(?s) == f32 and dtype(?a) == f32 and additive_mask(?a) and distinct_indices(?i)",
       "masks_unlisted(?a, ?i)"},
  };
  std::string text = "ruleset r {\n";
  for (const auto& m : rules) {
    text += std::string("  rule ") + m.name + ": " + m.rule + " if " + m.guard + " and " + m.query + "\n";
    text += std::string("  rule ") + m.name + "_unguarded: " + m.rule + " if " + m.guard + "\n";
  }
  testing::CapturingInterpreter t;
  t.run(text + "}\n");
  verify::VerifyOptions random;
  random.method = verify::Method::Random;
  for (const auto& m : rules) {
    INFO(m.name);
    CHECK(verify_named(t, "r", m.name, random).verdict == verify::Verdict::Tested);
    auto unguarded = verify_named(t, "r", std::string(m.name) + "_unguarded", random);
    CHECK_MESSAGE(unguarded.verdict == verify::Verdict::Refuted, m.name, ": ", unguarded.detail);
    if (std::string(m.name) == "where_fill") CHECK(unguarded.counterexample.find("nan") != std::string::npos);
  }
}
