// Declared parameter relations (check/declared_relations.h): `relation` declarations with
// layer patterns, instantiated over a port's parameter names, checked against the reference's
// names and types, and confirmed on the values when the graphs have them.
#include "check/declared_relations.h"
#include "capture/graph.h"
#include "util/error.h"
#include "interp/interpreter.h"
#include "interp/term.h"

#include "support.h"

#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

using namespace twin;
using namespace twin::check;

namespace {

std::filesystem::path llama_dir() { return std::filesystem::path(TWIN_SOURCE_DIR) / "examples" / "llama"; }

// The conversion of examples/llama/port.py (TP = 2), declared.
const char* kLlamaRelations = R"(version 1
# examples/llama/port.py's convert_reference_state_dict, declared
relation embed_tokens.weight = embed_tokens.weight
relation norm.weight = norm.weight
relation layers.{i}.input_layernorm.weight = layers.{i}.input_layernorm.weight
relation layers.{i}.post_attention_layernorm.weight = layers.{i}.post_attention_layernorm.weight
relation layers.{i}.self_attn.qkv_proj.weight =
    cat([layers.{i}.self_attn.q_proj.weight, layers.{i}.self_attn.k_proj.weight, layers.{i}.self_attn.v_proj.weight], dim=0)
relation layers.{i}.self_attn.o_proj.shards.{r}.weight =
    slice(layers.{i}.self_attn.o_proj.weight, dim=1, start=32 * {r}, end=32 * {r} + 32)
relation layers.{i}.mlp.gate_up_proj.weight = cat([layers.{i}.mlp.gate_proj.weight, layers.{i}.mlp.up_proj.weight], dim=-2)
relation layers.{i}.mlp.down_proj.shards.{r}.weight =
    slice(layers.{i}.mlp.down_proj.weight, dim=-1, start=64 * {r}, end=64 * ({r} + 1))
relation lm_head.shards.{r}.weight = slice(lm_head.weight, dim=0, start=50 * {r}, end=50 * {r} + 50)
)";

std::vector<DeclaredRelation> declare(const std::string& text) {
  testing::TempDir dir;
  auto file = dir.write("relations.rules", text);
  InterpreterOptions options;
  options.allowed_read_dirs = {dir.path};
  Interpreter twin(options);
  twin.load_declarations(file);
  return twin.declared_relations();  // a copy: the declarations keep their source files alive
}

Error expand_error(const std::string& text, const Graph& reference, const Graph& port) {
  try {
    expand_declared_relations(declare(text), reference, port);
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected an error for:\n" << text);
  return Error(ErrorKind::Value, "");
}

std::string escape_json(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// A graph without weights: parameters by name, dtype and shape only (what `--no-weights` writes).
Graph typed_graph(const std::string& file, const std::vector<std::pair<std::string, std::string>>& parameters) {
  std::string params;
  for (const auto& [name, type] : parameters) {
    auto open = type.find('[');
    params += std::string(params.empty() ? "" : ",") + R"({"name":")" + name + R"(","dtype":")" + type.substr(0, open) +
              R"(","shape":)" + type.substr(open) + R"(,"tensor":null})";
  }
  std::string graph = R"({"format":"twin-graph","version":1,"inputs":[],"parameters":[)" + params +
                      R"(],"buffers":[],"constants":[],"nodes":[],"outputs":[]})";
  std::string header = R"({"__metadata__":{"format":"twin-graph","version":"1","graph":")" + escape_json(graph) + R"("}})";
  std::string bytes(8, '\0');
  std::uint64_t n = header.size();
  std::memcpy(bytes.data(), &n, 8);  // little-endian on every machine Twin builds on
  return Graph::parse(bytes + header, file);
}

std::string text(const ParameterRelation& r) { return r.term() ? print_term(*r.term()) : "nil"; }

}  // namespace

TEST_CASE("the example port's conversion, declared, expands to the relations inferred from the values") {
  Graph reference = Graph::load(llama_dir() / "reference.graph");
  Graph port = Graph::load(llama_dir() / "port.graph");
  auto declared = declare(kLlamaRelations);
  REQUIRE(declared.size() == 9);
  auto relations = expand_declared_relations_located(declared, reference, port);
  REQUIRE(relations.size() == 20);  // every parameter; the two RoPE caches are declared by nobody

  std::map<std::string, ParameterRelation> inferred;
  for (const auto& r : infer_parameter_relations(reference, port)) inferred[r.port] = r;
  for (const auto& e : relations) {
    INFO(describe(e.relation));
    CHECK(e.relation.confirmed);
    CHECK(e.relation.related());
    CHECK(text(e.relation) == text(inferred.at(e.relation.port)));
    CHECK(e.relation.kind == inferred.at(e.relation.port).kind);
  }
  std::map<std::string, ExpandedRelation> by_port;
  for (const auto& e : relations) by_port.emplace(e.relation.port, e);
  const auto& shard = by_port.at("layers.0.self_attn.o_proj.shards.1.weight");
  CHECK(text(shard.relation) == "slice(layers.0.self_attn.o_proj.weight, dim=1, start=32, end=64)");
  CHECK(shard.bindings == PatternBindings{{"i", "0"}, {"r", "1"}});
  CHECK(shard.pattern == "layers.{i}.self_attn.o_proj.shards.{r}.weight");
  CHECK(shard.declared_at.line == 9);
  // A negative dim is made non-negative: the term is the one the inference prints.
  CHECK(text(by_port.at("layers.1.mlp.down_proj.shards.1.weight").relation) ==
        "slice(layers.1.mlp.down_proj.weight, dim=1, start=64, end=128)");
  CHECK(relations.front().relation.port == "embed_tokens.weight");  // the port's order
}

TEST_CASE("declared relations fill in what is declared; the rest is inferred") {
  Graph reference = Graph::load(llama_dir() / "reference.graph");
  Graph port = Graph::load(llama_dir() / "port.graph");
  auto relations = declared_and_inferred_relations(
      declare("version 1\nrelation lm_head.shards.{r}.weight = slice(lm_head.weight, dim=0, start=50 * {r}, end=50 * {r} + 50)\n"),
      reference, port);
  REQUIRE(relations.size() == 22);  // 20 parameters and 2 buffers, in the port's order
  std::map<std::string, ParameterRelation> by_port;
  for (const auto& r : relations) by_port[r.port] = r;
  CHECK(by_port.at("lm_head.shards.1.weight").note.find("declared at") == 0);
  CHECK(by_port.at("layers.1.mlp.gate_up_proj.weight").kind == RelationKind::Concat);  // inferred
  CHECK(by_port.at("layers.1.mlp.gate_up_proj.weight").note.empty());
  CHECK_FALSE(by_port.at("layers.0.self_attn.rotary_emb.cos_sin_cache").related());
}

TEST_CASE("a declared relation that does not hold on the values is an error at its declaration") {
  Graph reference = Graph::load(llama_dir() / "reference.graph");
  Graph port = Graph::load(llama_dir() / "port.graph");
  // k and v swapped: the same shapes, other values.
  Error e = expand_error(
      "version 1\n\nrelation layers.{i}.self_attn.qkv_proj.weight = cat([layers.{i}.self_attn.q_proj.weight, "
      "layers.{i}.self_attn.v_proj.weight, layers.{i}.self_attn.k_proj.weight], dim=0)\n",
      reference, port);
  CHECK(e.kind() == ErrorKind::Value);
  CHECK(e.location().line == 3);
  CHECK(e.location().column == 1);
  CHECK(e.message().find("layers.0.self_attn.qkv_proj.weight (i=0)") != std::string::npos);
  CHECK(e.message().find("does not hold on the stored values") != std::string::npos);
  CHECK(e.message().find("max abs difference") != std::string::npos);
}

TEST_CASE("names, shapes and matches are checked, each error located") {
  Graph reference = Graph::load(llama_dir() / "reference.graph");
  Graph port = Graph::load(llama_dir() / "port.graph");

  SUBCASE("a reference name that does not exist names its own position") {
    Error e = expand_error("version 1\nrelation norm.weight = final_norm.weight\n", reference, port);
    CHECK(e.location().line == 2);
    CHECK(e.location().column == 24);
    CHECK(e.message().find("final_norm.weight is not a parameter or buffer of the reference") != std::string::npos);
    CHECK(e.format().find("relations.rules:2:24") != std::string::npos);
  }
  SUBCASE("after substitution too") {
    Error e = expand_error("version 1\nrelation layers.{i}.input_layernorm.weight = layer.{i}.input_layernorm.weight\n", reference, port);
    CHECK(e.location().column == 46);
    CHECK(e.message().find("layer.0.input_layernorm.weight is not") != std::string::npos);
  }
  SUBCASE("a shape that is not the port's") {
    Error e = expand_error(
        "version 1\nrelation layers.{i}.self_attn.o_proj.shards.{r}.weight =\n"
        "  slice(layers.{i}.self_attn.o_proj.weight, dim=1, start=16 * {r}, end=16 * {r} + 16)\n",
        reference, port);
    CHECK(e.location().line == 2);
    CHECK(e.message().find("has type f32[64, 16], the port tensor f32[64, 32]") != std::string::npos);
  }
  SUBCASE("a right side that does not type") {
    Error e = expand_error("version 1\nrelation norm.weight = cat([norm.weight, lm_head.weight], dim=0)\n", reference, port);
    CHECK(e.message().find("does not type") != std::string::npos);
  }
  SUBCASE("a form that is no parameter relation") {
    Error e = expand_error("version 1\nrelation norm.weight = norm.weight * 2\n", reference, port);
    CHECK(e.message().find("is not a form a parameter relation takes") != std::string::npos);
  }
  SUBCASE("a pattern that matches nothing") {
    Error e = expand_error("version 1\nrelation layers.{i}.attn.qkv.weight = layers.{i}.self_attn.q_proj.weight\n", reference, port);
    CHECK(e.location().column == 10);
    CHECK(e.message().find("matches no parameter or buffer") != std::string::npos);
  }
  SUBCASE("a placeholder binds one segment, never several") {
    Error e = expand_error("version 1\nrelation {i}.weight = norm.weight\n", reference, port);
    CHECK(e.kind() == ErrorKind::Syntax);  // a pattern starts with a name
    Error f = expand_error("version 1\nrelation layers.{i}.weight = norm.weight\n", reference, port);
    CHECK(f.message().find("matches no parameter") != std::string::npos);
  }
  SUBCASE("two declarations for one parameter") {
    Error e = expand_error(
        "version 1\nrelation norm.weight = norm.weight\nrelation norm.{w} = norm.weight\n", reference, port);
    CHECK(e.location().line == 3);
    CHECK(e.message().find("matched by two relations") != std::string::npos);
  }
  SUBCASE("a placeholder used as a number must bind digits") {
    Error e = expand_error("version 1\nrelation layers.0.{name}.weight = slice(norm.weight, dim=0, start={name}, end=64)\n",
                           reference, port);
    CHECK(e.message().find("not a number") != std::string::npos);
  }
}

TEST_CASE("without weights: names and types are checked, nothing is confirmed") {
  Graph reference = typed_graph("ref.graph", {{"layers.0.self_attn.q_proj.weight", "f32[4096,4096]"},
                                              {"layers.0.self_attn.k_proj.weight", "f32[1024,4096]"},
                                              {"layers.0.self_attn.v_proj.weight", "f32[1024,4096]"},
                                              {"layers.1.self_attn.q_proj.weight", "f32[4096,4096]"},
                                              {"layers.1.self_attn.k_proj.weight", "f32[1024,4096]"},
                                              {"layers.1.self_attn.v_proj.weight", "f32[1024,4096]"},
                                              {"lm_head.weight", "f32[32000,4096]"}});
  Graph port = typed_graph("port.graph", {{"layers.0.self_attn.qkv_proj.weight", "f32[6144,4096]"},
                                          {"layers.1.self_attn.qkv_proj.weight", "f32[6144,4096]"},
                                          {"lm_head.shards.0.weight", "f32[16000,4096]"},
                                          {"lm_head.shards.1.weight", "f32[16000,4096]"}});
  auto relations = expand_declared_relations(
      declare("version 1\n"
              "relation layers.{i}.self_attn.qkv_proj.weight = cat([layers.{i}.self_attn.q_proj.weight, "
              "layers.{i}.self_attn.k_proj.weight, layers.{i}.self_attn.v_proj.weight], dim=0)\n"
              "relation lm_head.shards.{r}.weight = slice(lm_head.weight, dim=0, start=16000 * {r}, end=16000 * ({r} + 1))\n"),
      reference, port);
  REQUIRE(relations.size() == 4);
  for (const auto& r : relations) CHECK_FALSE(r.confirmed);
  CHECK(relations[1].kind == RelationKind::Concat);
  CHECK(relations[1].parts.size() == 3);
  CHECK(relations[1].parts[2].start == 0);
  CHECK(relations[1].parts[2].end == 1024);
  CHECK(text(relations[1]) ==
        "cat([layers.1.self_attn.q_proj.weight, layers.1.self_attn.k_proj.weight, layers.1.self_attn.v_proj.weight], dim=0)");
  CHECK(text(relations[3]) == "slice(lm_head.weight, dim=0, start=16000, end=32000)");
  CHECK(describe(relations[3]).find("unconfirmed") != std::string::npos);
}

TEST_CASE("transposes, repeats and casts are relations too") {
  Graph reference = typed_graph("ref.graph", {{"c_attn.weight", "f32[64,192]"}, {"k.weight", "f32[16,64]"},
                                              {"w.weight", "f32[8,4]"}});
  Graph port = typed_graph("port.graph", {{"attn.weight", "f32[192,64]"}, {"k.weight", "f32[64,64]"},
                                          {"w.weight", "bf16[4,16]"}, {"v.weight", "f32[32,64]"}});
  auto relations = expand_declared_relations(
      declare("version 1\n"
              "relation attn.weight = transpose(c_attn.weight, dim0=-1, dim1=0)\n"
              "relation k.weight = repeat_interleave(k.weight, repeats=4, dim=0)\n"
              "relation w.weight = cast(transpose(repeat(w.weight, repeats=[2, 1]), dim0=0, dim1=1), dtype=bf16)\n"
              "relation v.weight = transpose(cat([slice(c_attn.weight, dim=1, start=0, end=16), "
              "slice(c_attn.weight, dim=1, start=64, end=80)], dim=1), dim0=0, dim1=1)\n"),
      reference, port);
  REQUIRE(relations.size() == 4);
  CHECK(relations[0].kind == RelationKind::Transpose);
  CHECK(text(relations[0]) == "transpose(c_attn.weight, dim0=0, dim1=1)");
  CHECK(relations[1].kind == RelationKind::RepeatInterleave);
  CHECK(relations[2].kind == RelationKind::Repeat);
  CHECK(relations[2].transposed);
  CHECK(relations[2].cast == ops::DType::BF16);
  CHECK(text(relations[2]) == "cast(transpose(repeat(w.weight, repeats=[2, 1]), dim0=0, dim1=1), dtype=bf16)");
  CHECK(relations[3].kind == RelationKind::Concat);
  CHECK(relations[3].transposed);
  CHECK_FALSE(relations[3].parts[1].whole);
}

TEST_CASE("a padded vocabulary is declared as a cat with zeros(shape=..., dtype=...)") {
  Graph reference = Graph::load(llama_dir() / "reference.graph");
  Graph port = Graph::load(llama_dir() / "variants" / "vllm_padded_vocab.graph");
  auto relations = expand_declared_relations(
      declare("version 1\nrelation lm_head.weight = cat([lm_head.weight, zeros(shape=[28, 64], dtype=f32)], dim=0)\n"),
      reference, port);
  REQUIRE(relations.size() == 1);
  CHECK(relations[0].confirmed);
  CHECK(relations[0].kind == RelationKind::Concat);
  CHECK(relations[0].sources == std::vector<std::string>{"lm_head.weight"});
  CHECK(text(relations[0]) == "cat([lm_head.weight, zeros(shape=[28, 64], dtype=f32)], dim=0)");

  // The padding in front does not hold on the stored values; zeros alone name no reference tensor.
  Error e = expand_error(
      "version 1\nrelation lm_head.weight = cat([zeros(shape=[28, 64], dtype=f32), lm_head.weight], dim=0)\n",
      reference, port);
  CHECK(e.message().find("does not hold on the stored values") != std::string::npos);
  Error f = expand_error(
      "version 1\nrelation lm_head.weight = cat([zeros(shape=[100, 64], dtype=f32), zeros(shape=[28, 64], dtype=f32)], dim=0)\n",
      reference, port);
  CHECK(f.message().find("at least one reference name") != std::string::npos);
  CHECK(f.location().line == 2);
}
