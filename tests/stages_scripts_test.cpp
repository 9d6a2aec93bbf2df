// The validation stages as scripts (stdlib/stages/*.twin, docs/stages.md "The stages as
// scripts"): run_stages writes the skill's files and decides from the measurements; a user's
// script can replace one stage's function; the io library writes only where the host allows.
#include "interp/lib/io_library.h"
#include "util/error.h"
#include "support.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace twin;
using twin::testing::CapturingInterpreter;
using twin::testing::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kLlama = std::string(TWIN_SOURCE_DIR) + "/examples/llama";

InterpreterOptions stages_options(const fs::path& out) {
  InterpreterOptions o;
  o.allowed_read_dirs = {TWIN_SOURCE_DIR};
  o.library_path = {fs::path(TWIN_SOURCE_DIR) / "stdlib"};
  o.allowed_write_dirs = {out};
  o.verdict_cache = VerdictCacheAccess::ReadOnly;  // the proof step reads the build's stdlib verdicts
  return o;
}

nlohmann::json read_json(const fs::path& file) {
  std::ifstream in(file);
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

std::string run_stages_source(const std::string& port, const fs::path& out, const std::string& reference = "reference.graph") {
  return "use \"std/stages/stages.twin\"\n"
         "run_stages({\"ref\": \"" + kLlama + "/" + reference + "\", \"port\": \"" + kLlama + "/" + port +
         "\", \"out\": \"" + out.string() + "\", \"quiet\": true})\n";
}

}  // namespace

TEST_CASE("run_stages on a buggy port: the skill's files, the bug's module as the primary step suspect, end to end fails") {
  TempDir dir;
  CapturingInterpreter twin(stages_options(dir.path));
  twin.run(run_stages_source("bugs/silu_on_up.graph", dir.path));
  for (const char* f : {"component_mapping.json", "results/stage2.json", "results/stage3.json", "results/teacher_forced.json",
                        "report.md", "model_tree/model_tree_source.json", "model_tree/structural_diff.json",
                        "plots/r_ratio_components.svg", "plots/r_ratio_components.csv", "plots/e2e_kl.svg"})
    CHECK_MESSAGE(fs::is_regular_file(dir.path / f), f);
  const auto s3 = read_json(dir.path / "results/stage3.json");
  REQUIRE(s3["primary"].is_object());
  CHECK(s3["primary"]["component"] == "layers.0.mlp.act_fn");
  CHECK(s3["primary"]["pattern"] == "step");
  CHECK(s3["primary"]["root_cause"].get<std::string>().find("wrong") != std::string::npos);
  CHECK(s3["primary"]["check_evidence"].get<std::string>().find("silu") != std::string::npos);
  const auto tf = read_json(dir.path / "results/teacher_forced.json");
  CHECK(tf["pass"] == false);
  CHECK(tf["conditions"]["r_p95_below_tau"] == false);
  const auto s2 = read_json(dir.path / "results/stage2.json");
  CHECK(s2["all_pass"] == false);
  CHECK(s2["tau_r"].get<double>() == doctest::Approx(1.2));
}

TEST_CASE("run_stages on the correct port: every component passes, no suspect, end to end passes") {
  TempDir dir;
  CapturingInterpreter twin(stages_options(dir.path));
  twin.run(run_stages_source("port.graph", dir.path));
  const auto s2 = read_json(dir.path / "results/stage2.json");
  CHECK(s2["all_pass"] == true);
  CHECK(read_json(dir.path / "results/stage3.json")["primary"].is_null());
  CHECK(read_json(dir.path / "results/teacher_forced.json")["pass"] == true);
  const auto mapping = read_json(dir.path / "component_mapping.json");
  bool fused = false;
  for (const auto& e : mapping)
    fused = fused || (e[1] == nlohmann::json::array({"layers.{i}.self_attn.qkv_proj"}) && e[0].size() == 3);
  CHECK(fused);
}

TEST_CASE("a padded vocabulary's port: the proof's index domain is recorded and every stage passes") {
  // examples/llama/variants/vllm_padded_vocab.py: proved on the ids below 100, which
  // proof.json says as twin check does.
  TempDir dir;
  CapturingInterpreter twin(stages_options(dir.path));
  twin.run(run_stages_source("variants/vllm_padded_vocab.graph", dir.path));
  const auto proof = read_json(dir.path / "results/proof.json");
  CHECK(proof["verdict"] == "equivalent");
  REQUIRE(proof["index_domains"].size() == 1);
  CHECK(proof["index_domains"][0]["input"] == "input_ids");
  CHECK(proof["index_domains"][0]["bound"] == 100);
  CHECK(read_json(dir.path / "results/stage2.json")["all_pass"] == true);
  CHECK(read_json(dir.path / "results/teacher_forced.json")["pass"] == true);
}

TEST_CASE("the proof beside the numbers: twin check's precision differences with their components' R") {
  // variance_bf16 computes every RMSNorm's variance in bf16: the proof names each norm
  // (equivalent in real arithmetic), and stage 3 lists them with the R of their components.
  TempDir dir;
  CapturingInterpreter twin(stages_options(dir.path));
  twin.run(run_stages_source("precision/variance_bf16.graph", dir.path, "reference.bf16.graph"));
  const auto proof = read_json(dir.path / "results/proof.json");
  CHECK(proof["verdict"] == "equivalent_real");
  const auto s3 = read_json(dir.path / "results/stage3.json");
  CHECK(s3["proof_verdict"] == "equivalent_real");
  REQUIRE(s3["precision_evidence"].is_array());
  REQUIRE(!s3["precision_evidence"].empty());
  CHECK(s3["precision_evidence"][0]["module"] == "layers.0.input_layernorm");
  CHECK(s3["precision_evidence"][0]["component"] == "layers.0.input_layernorm");
  CHECK(s3["precision_evidence"][0]["r_ratio"].is_number());
  std::ifstream report(dir.path / "report.md");
  std::stringstream text;
  text << report.rdbuf();
  CHECK(text.str().find("| `layers.0.input_layernorm` | normalization.variance_after_upcast |") != std::string::npos);
  // Stage 2 passes and end to end fails: the report reads that with the proof, as a precision
  // bug at the first norm, not as the skill's "compilation-induced divergence".
  const auto reading = text.str().substr(text.str().find("## Reading the results together"));
  CHECK(reading.find("equal only in real arithmetic") != std::string::npos);
  CHECK(reading.find("layers.0.input_layernorm") != std::string::npos);
  CHECK(reading.find("compilation-induced") == std::string::npos);
}

TEST_CASE("a difference in function below bf16 rounding: no component fails at bf16, the proof's divergence is the suspect") {
  // examples/gpt2/bugs/gelu_erf.py: the erf GELU where GPT-2 uses tanh, about 5e-4 of the
  // activations. Every component's bf16 R stays under tau_R; twin check at f32 against the f64
  // baseline finds gelu_0 in layers.0.ffn and the outputs disagree, so stage 3 names it.
  // The port's own module names map by the weights they hold, the tied lm_head included.
  TempDir dir;
  CapturingInterpreter twin(stages_options(dir.path));
  const std::string gpt2 = std::string(TWIN_SOURCE_DIR) + "/examples/gpt2";
  twin.run("use \"std/stages/stages.twin\"\nrun_stages({\"ref\": \"" + gpt2 + "/reference.graph\", \"port\": \"" + gpt2 +
           "/bugs/gelu_erf.graph\", \"out\": \"" + dir.path.string() + "\", \"quiet\": true})\n");
  const auto s3 = read_json(dir.path / "results/stage3.json");
  REQUIRE(s3["primary"].is_object());
  CHECK(s3["primary"]["component"] == "layers.0.ffn");
  CHECK(s3["primary"]["found_by"] == "proof");
  CHECK(s3["primary"]["pattern"] == "step");
  CHECK(s3["primary"]["r_ratio_bf16"].get<double>() < 1.2);
  CHECK(s3["primary"]["check_evidence"].get<std::string>().find("gelu") != std::string::npos);
  bool output_mapped = false;
  for (const auto& e : read_json(dir.path / "component_mapping.json"))
    output_mapped = output_mapped || (e[0] == nlohmann::json::array({"lm_head"}) && e[1] == nlohmann::json::array({"output"}));
  CHECK(output_mapped);
}

TEST_CASE("the proof's divergence ranks before spikes of bf16 noise when no component steps") {
  // examples/llama/bugs/rms_eps_nxd.py: every RMSNorm's eps 1e-5 for 1e-6. At bf16 no
  // component steps; one may spike just over tau_R. The proof's divergence at the first norm
  // is the primary suspect, any spike after it.
  TempDir dir;
  CapturingInterpreter twin(stages_options(dir.path));
  twin.run(run_stages_source("bugs/rms_eps_nxd.graph", dir.path));
  const auto s3 = read_json(dir.path / "results/stage3.json");
  REQUIRE(s3["primary"].is_object());
  CHECK(s3["primary"]["component"] == "layers.0.input_layernorm");
  CHECK(s3["primary"]["found_by"] == "proof");
  for (std::size_t k = 1; k < s3["suspects"].size(); ++k) CHECK(s3["suspects"][k]["pattern"] == "spike");
}

TEST_CASE("a user's script redefines one stage's function and run_stages uses it") {
  TempDir dir;
  CapturingInterpreter twin(stages_options(dir.path));
  // A stricter tau_R and a project's own root-cause wording, the rest as shipped.
  twin.run("use \"std/stages/stages.twin\"\n"
           "fn root_cause(r, tau_r) { return \"ours: R \" + format_number(r) }\n"
           "run_stages({\"ref\": \"" + kLlama + "/reference.graph\", \"port\": \"" + kLlama +
           "/bugs/silu_on_up.graph\", \"out\": \"" + dir.path.string() + "\", \"quiet\": true, \"thresholds\": {\"tau_r\": 1.1}})\n");
  const auto s3 = read_json(dir.path / "results/stage3.json");
  CHECK(s3["primary"]["root_cause"].get<std::string>().starts_with("ours: R "));
  CHECK(read_json(dir.path / "results/stage2.json")["tau_r"].get<double>() == doctest::Approx(1.1));
}

TEST_CASE("write_text writes only under an allowed directory, atomically, and not through a link") {
  TempDir dir;
  fs::create_directories(dir.path / "out");
  fs::create_directories(dir.path / "elsewhere");
  CapturingInterpreter twin(stages_options(dir.path / "out"));
  const std::string out = (dir.path / "out").string();
  twin.run("write_text(\"" + out + "/a/b.txt\", \"hello\")");
  std::ifstream in(dir.path / "out/a/b.txt");
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == "hello");
  CHECK_THROWS_WITH_AS(twin.run("write_text(\"" + (dir.path / "elsewhere/x.txt").string() + "\", \"x\")"),
                       doctest::Contains("not allowed"), Error);
  CHECK_THROWS_WITH_AS(twin.run("write_text(\"" + out + "/../elsewhere/x.txt\", \"x\")"), doctest::Contains("not allowed"), Error);
  // A link inside the allowed directory leading out of it is refused, for a directory or a file.
  fs::create_directory_symlink(dir.path / "elsewhere", dir.path / "out/link");
  CHECK_THROWS_WITH_AS(twin.run("write_text(\"" + out + "/link/x.txt\", \"x\")"), doctest::Contains("symbolic link"), Error);
  // ... and no directory is made out there on the way.
  CHECK_THROWS_WITH_AS(twin.run("write_text(\"" + out + "/link/new/x.txt\", \"x\")"), doctest::Contains("symbolic link"), Error);
  CHECK_FALSE(fs::exists(dir.path / "elsewhere/new"));
  fs::create_symlink(dir.path / "elsewhere/target.txt", dir.path / "out/file_link");
  CHECK_THROWS_WITH_AS(twin.run("write_text(\"" + out + "/file_link\", \"x\")"), doctest::Contains("symbolic link"), Error);
  CHECK_FALSE(fs::exists(dir.path / "elsewhere/x.txt"));
  CHECK_FALSE(fs::exists(dir.path / "elsewhere/target.txt"));
  // A host that grants no directory lets scripts write nothing.
  CapturingInterpreter none;
  CHECK_THROWS_AS(none.run("write_text(\"" + out + "/c.txt\", \"x\")"), Error);
}

TEST_CASE("to_json and parse_json round-trip script values; bad JSON names its line and column") {
  CapturingInterpreter twin;
  CHECK(twin.run("print(to_json({\"a\": 1/2, \"b\": [1, nil, true], \"c\": \"x\"}, indent=nil))") ==
        "{\"a\":0.5,\"b\":[1,null,true],\"c\":\"x\"}\n");
  CHECK(twin.run("let v = parse_json(\"{\\\"z\\\": 1, \\\"a\\\": [2.5, false]}\")\nprint(keys(v), v.a)") == "[\"z\", \"a\"] [2.5, false]\n");
  CHECK_THROWS_WITH_AS(twin.run("parse_json(\"{\\n  \\\"x\\\": }\")"), doctest::Contains("line 2, column"), Error);
  CHECK_THROWS_WITH_AS(twin.run("to_json({1: 2})"), doctest::Contains("map key must be a string"), Error);
}
