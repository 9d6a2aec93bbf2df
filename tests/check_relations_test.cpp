// Parameter relations (check/parameter_relations.h): how a port's weights are computed from the
// reference's, inferred from the values and confirmed bit for bit.
#include "check/parameter_relations.h"
#include "capture/graph.h"
#include "interp/term.h"
#include "ops/tensor.h"

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

using namespace twin;
using namespace twin::check;

namespace {

std::filesystem::path llama_dir() { return std::filesystem::path(TWIN_SOURCE_DIR) / "examples" / "llama"; }

// Values 0.5, 1.5, 2.5 ... offset by `seed`, so that no two test tensors share values.
ops::Tensor distinct(const std::vector<std::int64_t>& shape, double seed, ops::DType dtype = ops::DType::F32) {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  std::vector<double> v(n);
  for (std::int64_t i = 0; i < n; ++i) v[i] = seed * 1000 + i + 0.5;
  return ops::Tensor::from_doubles(v, shape, dtype);
}

ops::Tensor eval1(const char* op, std::vector<ops::Tensor> in, ops::Attributes a) { return ops::evaluate(op, in, a).at(0); }

ops::Attributes ints(std::initializer_list<std::pair<const char*, std::int64_t>> items) {
  ops::Attributes a;
  for (const auto& [k, v] : items) a[k] = ops::AttrValue::of_int(v);
  return a;
}

std::map<std::string, ParameterRelation> by_port(const std::vector<ParameterRelation>& relations) {
  std::map<std::string, ParameterRelation> out;
  for (const auto& r : relations) out[r.port] = r;
  return out;
}

std::size_t find_port(const std::vector<NamedTensor>& port, const std::string& name) {
  for (std::size_t i = 0; i < port.size(); ++i)
    if (port[i].name == name) return i;
  FAIL("no port tensor " << name);
  return 0;
}

std::string term_text(const ParameterRelation& r) { return r.term() ? print_term(*r.term()) : std::string("nil"); }

}  // namespace

TEST_CASE("the shipped llama port: every parameter is related to the reference's, exactly") {
  Graph reference = Graph::load(llama_dir() / "reference.graph");
  Graph port = Graph::load(llama_dir() / "port.graph");
  auto start = std::chrono::steady_clock::now();
  auto relations = infer_parameter_relations(reference, port);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("inferred " << relations.size() << " relations in " << seconds << " s");
  CHECK(seconds < 5.0);
  REQUIRE(relations.size() == port.parameters().size() + port.buffers().size());

  std::map<std::string, int> kinds;
  for (const auto& r : relations) {
    ++kinds[relation_kind_name(r.kind)];
    if (r.is_buffer) continue;
    INFO(describe(r));
    CHECK(r.related());
    CHECK(r.confirmed);
  }
  auto rel = by_port(relations);

  for (int layer = 0; layer < 2; ++layer) {
    const std::string p = "layers." + std::to_string(layer) + ".";
    const auto& qkv = rel.at(p + "self_attn.qkv_proj.weight");
    CHECK(qkv.kind == RelationKind::Concat);
    CHECK(qkv.dim == 0);
    CHECK(qkv.sources == std::vector<std::string>{p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
                                                  p + "self_attn.v_proj.weight"});
    CHECK(term_text(qkv) == "cat([" + p + "self_attn.q_proj.weight, " + p + "self_attn.k_proj.weight, " + p +
                                "self_attn.v_proj.weight], dim=0)");

    const auto& gate_up = rel.at(p + "mlp.gate_up_proj.weight");
    CHECK(gate_up.kind == RelationKind::Concat);
    CHECK(gate_up.dim == 0);
    CHECK(gate_up.sources == std::vector<std::string>{p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"});

    for (int rank = 0; rank < 2; ++rank) {
      const auto& o = rel.at(p + "self_attn.o_proj.shards." + std::to_string(rank) + ".weight");
      CHECK(o.kind == RelationKind::Slice);
      CHECK(o.sources == std::vector<std::string>{p + "self_attn.o_proj.weight"});
      CHECK(o.dim == 1);
      CHECK(o.start == 32 * rank);
      CHECK(o.end == 32 * (rank + 1));
      const auto& down = rel.at(p + "mlp.down_proj.shards." + std::to_string(rank) + ".weight");
      CHECK(down.kind == RelationKind::Slice);
      CHECK(down.sources == std::vector<std::string>{p + "mlp.down_proj.weight"});
      CHECK(down.dim == 1);
      CHECK(down.start == 64 * rank);
      CHECK(down.end == 64 * (rank + 1));
    }
    CHECK(term_text(rel.at(p + "mlp.down_proj.shards.1.weight")) ==
          "slice(" + p + "mlp.down_proj.weight, dim=1, start=64, end=128)");
    for (const char* norm : {"input_layernorm.weight", "post_attention_layernorm.weight"}) {
      const auto& r = rel.at(p + norm);
      CHECK(r.kind == RelationKind::Equal);
      CHECK(r.sources == std::vector<std::string>{p + norm});  // ties go to the same name
    }
  }
  for (int rank = 0; rank < 2; ++rank) {
    const auto& head = rel.at("lm_head.shards." + std::to_string(rank) + ".weight");
    CHECK(head.kind == RelationKind::Slice);
    CHECK(head.sources == std::vector<std::string>{"lm_head.weight"});
    CHECK(head.dim == 0);
    CHECK(head.start == 50 * rank);
    CHECK(head.end == 50 * (rank + 1));
  }
  CHECK(rel.at("embed_tokens.weight").kind == RelationKind::Equal);
  CHECK(rel.at("embed_tokens.weight").sources == std::vector<std::string>{"embed_tokens.weight"});
  CHECK(rel.at("norm.weight").kind == RelationKind::Equal);
  CHECK(term_text(rel.at("norm.weight")) == "norm.weight");

  // The RoPE cache is computed from inv_freq (cos and sin), not converted: no relation.
  const auto& cache = rel.at("layers.0.self_attn.rotary_emb.cos_sin_cache");
  CHECK(cache.is_buffer);
  CHECK_FALSE(cache.related());
  CHECK(describe(cache).find("unrelated") != std::string::npos);

  std::string summary;
  for (const auto& [k, n] : kinds) summary += k + "=" + std::to_string(n) + " ";
  MESSAGE(summary);
}

TEST_CASE("a perturbed reference tensor breaks exactly the relations that use it") {
  Graph reference = Graph::load(llama_dir() / "reference.graph");
  Graph port = Graph::load(llama_dir() / "port.graph");
  auto ref = graph_tensors(reference);
  for (auto& t : ref) {
    if (t.name != "layers.1.self_attn.k_proj.weight" && t.name != "lm_head.weight") continue;
    auto values = t.value.to_doubles();
    values[values.size() / 2 + 3] += 1.0;  // one value, in the middle (inside lm_head's second shard)
    t.value = ops::Tensor::from_doubles(values, t.value.shape(), t.value.dtype());
  }
  auto rel = by_port(infer_relations(ref, graph_tensors(port)));
  CHECK_FALSE(rel.at("layers.1.self_attn.qkv_proj.weight").related());
  CHECK(rel.at("layers.0.self_attn.qkv_proj.weight").kind == RelationKind::Concat);
  CHECK(rel.at("lm_head.shards.0.weight").kind == RelationKind::Slice);
  CHECK_FALSE(rel.at("lm_head.shards.1.weight").related());
  CHECK(describe(rel.at("lm_head.shards.1.weight")).find("unrelated") != std::string::npos);
}

TEST_CASE("transpose, duplication and concatenation of slices on small tensors") {
  ops::Tensor w = distinct({6, 4}, 1);
  ops::Tensor k = distinct({2, 3}, 2);
  ops::Tensor a = distinct({4, 4}, 3), b = distinct({4, 4}, 4);
  std::vector<NamedTensor> ref = {{"w", w}, {"k", k}, {"a", a}, {"b", b}};
  std::vector<NamedTensor> port = {
      {"wt", eval1("transpose", {w}, ints({{"dim0", 0}, {"dim1", 1}}))},
      {"k_interleaved", eval1("repeat_interleave", {k}, ints({{"repeats", 3}, {"dim", 0}}))},
      {"k_tiled", [&] {
         ops::Attributes at;
         at["repeats"] = ops::AttrValue{std::vector<std::int64_t>{1, 2}};
         return eval1("repeat", {k}, at);
       }()},
      {"w_chunk", eval1("slice", {w}, ints({{"dim", 0}, {"start", 2}, {"end", 4}}))},
      // a tensor-parallel shard of a fused weight: cat of the first halves
      {"ab_shard", eval1("cat", {eval1("slice", {a}, ints({{"dim", 0}, {"start", 0}, {"end", 2}})),
                                 eval1("slice", {b}, ints({{"dim", 0}, {"start", 0}, {"end", 2}}))},
                         ints({{"dim", 0}}))},
      {"ba", eval1("cat", {b, a}, ints({{"dim", 1}}))},
      {"w_bf16", w.to(ops::DType::BF16)},  // a checkpoint converted to bf16
      {"c_attn", eval1("cat", {eval1("transpose", {a}, ints({{"dim0", 0}, {"dim1", 1}})),
                               eval1("transpose", {b}, ints({{"dim0", 0}, {"dim1", 1}}))},
                       ints({{"dim", 1}}))},  // GPT-2's Conv1D: [in, 3 * out]
      {"ab_bf16", eval1("cat", {a.to(ops::DType::BF16), b.to(ops::DType::BF16)}, ints({{"dim", 0}}))},
      {"fresh", distinct({6, 4}, 9)},
  };
  auto rel = by_port(infer_relations(ref, port));

  CHECK(rel.at("wt").kind == RelationKind::Transpose);
  CHECK(term_text(rel.at("wt")) == "transpose(w, dim0=0, dim1=1)");
  CHECK(rel.at("k_interleaved").kind == RelationKind::RepeatInterleave);
  CHECK(rel.at("k_interleaved").repeats == 3);
  CHECK(term_text(rel.at("k_interleaved")) == "repeat_interleave(k, repeats=3, dim=0)");
  CHECK(rel.at("k_tiled").kind == RelationKind::Repeat);
  CHECK(rel.at("k_tiled").dim == 1);
  CHECK(term_text(rel.at("k_tiled")) == "repeat(k, repeats=[1, 2])");
  CHECK(rel.at("w_chunk").kind == RelationKind::Slice);
  CHECK(rel.at("w_chunk").start == 2);
  CHECK(rel.at("w_chunk").end == 4);
  CHECK(rel.at("ab_shard").kind == RelationKind::Concat);
  CHECK(term_text(rel.at("ab_shard")) == "cat([slice(a, dim=0, start=0, end=2), slice(b, dim=0, start=0, end=2)], dim=0)");
  CHECK(rel.at("ba").kind == RelationKind::Concat);
  CHECK(term_text(rel.at("ba")) == "cat([b, a], dim=1)");
  CHECK(rel.at("w_bf16").kind == RelationKind::Equal);
  CHECK(rel.at("w_bf16").cast == ops::DType::BF16);
  CHECK(term_text(rel.at("w_bf16")) == "cast(w, dtype=bf16)");
  CHECK(term_text(rel.at("ab_bf16")) == "cast(cat([a, b], dim=0), dtype=bf16)");
  CHECK(rel.at("wt").cast == std::nullopt);
  CHECK(rel.at("c_attn").kind == RelationKind::Concat);
  CHECK(rel.at("c_attn").transposed);
  CHECK(term_text(rel.at("c_attn")) == "transpose(cat([a, b], dim=0), dim0=0, dim1=1)");
  CHECK_FALSE(rel.at("fresh").related());
  for (const auto& [name, r] : rel) {
    INFO(describe(r));
    CHECK(r.confirmed == r.related());
  }

  // A relation is only ever returned confirmed; confirm_relation rejects a wrong one.
  ParameterRelation wrong = rel.at("w_chunk");
  wrong.start = 1;
  wrong.end = 3;
  CHECK_FALSE(confirm_relation(wrong, ref, port[find_port(port, "w_chunk")].value));
  CHECK(confirm_relation(rel.at("w_chunk"), ref, port[find_port(port, "w_chunk")].value));
  ParameterRelation uncast = rel.at("w_bf16");
  uncast.cast.reset();
  CHECK_FALSE(confirm_relation(uncast, ref, port[find_port(port, "w_bf16")].value));  // the bits differ without the cast

  // A port tensor captured without weights has no relation.
  auto none = infer_relations(ref, {{"meta", ops::Tensor()}});
  REQUIRE(none.size() == 1);
  CHECK_FALSE(none[0].related());
  CHECK(none[0].note.find("no stored value") != std::string::npos);
}

TEST_CASE("a port captured at bf16 is the f32 reference's weights cast to bf16") {
  Graph reference = Graph::load(llama_dir() / "reference.graph");
  Graph port = Graph::load(llama_dir() / "precision" / "variance_bf16.graph");
  for (const auto& r : infer_parameter_relations(reference, port)) {
    INFO(describe(r));
    CHECK(r.kind == RelationKind::Equal);
    CHECK(r.sources == std::vector<std::string>{r.port});
    CHECK(r.confirmed);
    if (!r.is_buffer) {
      CHECK(r.cast == ops::DType::BF16);
      CHECK(term_text(r) == "cast(" + r.port + ", dtype=bf16)");
    }
  }
}

TEST_CASE("a head's rows permuted from RoPE pairs to halves (HF's Llama converter) is one grouped transpose, not a cat of rows") {
  // Meta's q rows per head come in pairs (2i, 2i+1); HF's converter reorders them as halves:
  // w.view(heads, 2, d/2, n).transpose(1, 2) read from the other side. 2 heads, head dim 8.
  ops::Tensor wq = distinct({16, 4}, 5);
  auto permuted = [&](std::int64_t a, std::int64_t b) {
    ops::Attributes in, back;
    in["shape"] = ops::AttrValue{std::vector<std::int64_t>{2, a, b, 4}};
    back["shape"] = ops::AttrValue{std::vector<std::int64_t>{16, 4}};
    ops::Tensor t = eval1("reshape", {wq}, in);
    t = eval1("transpose", {t}, ints({{"dim0", 1}, {"dim1", 2}}));
    return eval1("reshape", {t}, back);
  };
  std::vector<NamedTensor> ref = {{"q_proj", wq}};
  std::vector<NamedTensor> port = {{"wq_meta", permuted(2, 4)}, {"wq_hf_again", permuted(4, 2)}};
  auto rel = by_port(infer_relations(ref, port));
  const auto& meta = rel.at("wq_meta");
  CHECK(meta.kind == RelationKind::GroupedTranspose);
  CHECK(meta.confirmed);
  CHECK(term_text(meta) == "reshape(transpose(reshape(q_proj, shape=[2, 2, 4, -1]), dim0=1, dim1=2), shape=[16, -1])");
  CHECK(rel.at("wq_hf_again").kind == RelationKind::GroupedTranspose);
  CHECK(rel.at("wq_hf_again").group_a == 4);
}

TEST_CASE("a fused qkv weight whose q and k parts are in Meta's row order is a cat of grouped transposes and v") {
  // gpt-fast's `wqkv` from a converter that kept Meta's RoPE rows: [q (pairs), k (pairs), v].
  ops::Tensor wq = distinct({16, 4}, 5), wk = distinct({8, 4}, 200), wv = distinct({8, 4}, 400);
  auto pairs = [&](const ops::Tensor& w, std::int64_t heads) {
    const std::int64_t rows = w.shape()[0];
    ops::Attributes in, back;
    in["shape"] = ops::AttrValue{std::vector<std::int64_t>{heads, 2, rows / heads / 2, 4}};
    back["shape"] = ops::AttrValue{std::vector<std::int64_t>{rows, 4}};
    ops::Tensor t = eval1("reshape", {w}, in);
    t = eval1("transpose", {t}, ints({{"dim0", 1}, {"dim1", 2}}));
    return eval1("reshape", {t}, back);
  };
  ops::Attributes cat0 = ints({{"dim", 0}});
  ops::Tensor fused = ops::evaluate("cat", {pairs(wq, 2), pairs(wk, 1), wv}, cat0).at(0);
  std::vector<NamedTensor> ref = {{"q_proj", wq}, {"k_proj", wk}, {"v_proj", wv}};
  auto rel = by_port(infer_relations(ref, {{"wqkv", fused}}));
  const auto& r = rel.at("wqkv");
  CHECK(r.kind == RelationKind::Concat);
  CHECK(r.confirmed);
  REQUIRE(r.parts.size() == 3);
  CHECK(r.parts[0].groups == 2);
  CHECK(r.parts[1].groups == 1);
  CHECK(r.parts[2].groups == 0);
  CHECK(term_text(r) ==
        "cat([reshape(transpose(reshape(q_proj, shape=[2, 2, 4, -1]), dim0=1, dim1=2), shape=[16, -1]), "
        "reshape(transpose(reshape(k_proj, shape=[1, 2, 4, -1]), dim0=1, dim1=2), shape=[8, -1]), v_proj], dim=0)");
}

TEST_CASE("a vocabulary padded with zero rows is a cat of the weight and a block of zeros") {
  ops::Tensor w = distinct({5, 4}, 1);
  ops::Attributes zero_rows;
  zero_rows["shape"] = ops::AttrValue{std::vector<std::int64_t>{3, 4}};
  ops::Tensor zeros = eval1("zeros", {}, zero_rows);
  // A reference whose middle rows are zero: a slice of it runs longer than the zeros alone.
  ops::Tensor gappy = eval1("cat", {distinct({1, 4}, 2), zeros, distinct({1, 4}, 3)}, ints({{"dim", 0}}));
  ops::Tensor negative_zeros = eval1("neg", {zeros}, {});
  std::vector<NamedTensor> ref = {{"lm_head.weight", w}, {"gappy", gappy}};
  std::vector<NamedTensor> port = {
      {"lm_head.weight", eval1("cat", {w, zeros}, ints({{"dim", 0}}))},               // vLLM's ParallelLMHead
      {"padded_first", eval1("cat", {zeros, w}, ints({{"dim", 0}}))},                 // the padding in front
      {"bf16", eval1("cat", {w, zeros}, ints({{"dim", 0}})).to(ops::DType::BF16)},   // and converted to bf16
      {"gappy_tail", eval1("slice", {gappy}, ints({{"dim", 0}, {"start", 0}, {"end", 4}}))},
      {"all_zero", eval1("cat", {zeros, zeros}, ints({{"dim", 0}}))},
      {"minus_zero", eval1("cat", {w, negative_zeros}, ints({{"dim", 0}}))},
  };
  auto rel = by_port(infer_relations(ref, port));
  CHECK(rel.at("lm_head.weight").kind == RelationKind::Concat);
  CHECK(term_text(rel.at("lm_head.weight")) == "cat([lm_head.weight, zeros(shape=[3, 4], dtype=f32)], dim=0)");
  CHECK(rel.at("lm_head.weight").sources == std::vector<std::string>{"lm_head.weight"});  // the zeros have no source
  CHECK(term_text(rel.at("padded_first")) == "cat([zeros(shape=[3, 4], dtype=f32), lm_head.weight], dim=0)");
  // The zeros are written in the sources' dtype, inside the cast.
  CHECK(term_text(rel.at("bf16")) == "cast(cat([lm_head.weight, zeros(shape=[3, 4], dtype=f32)], dim=0), dtype=bf16)");
  CHECK(term_text(rel.at("gappy_tail")) == "slice(gappy, dim=0, start=0, end=4)");
  // No reference tensor is involved in zeros alone; -0 is not +0 bit for bit.
  CHECK_FALSE(rel.at("all_zero").related());
  CHECK_FALSE(rel.at("minus_zero").related());
  for (const auto& [name, r] : rel) {
    INFO(describe(r));
    CHECK(r.confirmed == r.related());
  }
  // A block of zeros of another size does not confirm.
  ParameterRelation wrong = rel.at("lm_head.weight");
  wrong.parts.at(1).zero_shape = {2, 4};
  wrong.parts.at(1).end = 2;
  CHECK_FALSE(confirm_relation(wrong, ref, port[find_port(port, "lm_head.weight")].value));
}
