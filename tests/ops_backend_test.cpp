// The tensor backend module (ops/backend_loader.h, ops/tensor_backend.h): what users rely on.
// libtorch is mapped the first time a tensor is needed and never before (so `twin --help` and
// `twin fmt` start fast), the module is found where docs/building.md says, and a module that
// cannot be used is an error that names every path tried, never a crash.
//
// What a child process maps is read from the dynamic loader's own report (LD_DEBUG=files
// lists every library it loads, `needed by` or `dynamically loaded by`), so these tests
// assert which libraries were loaded, never how long anything took.
#include "ops/backend_loader.h"
#include "ops/tensor.h"
#include "tests/support.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using twin::testing::Outcome;
using twin::testing::TempDir;

namespace {

const std::string kTwin = TWIN_BINARY_DIR "/twin";
const std::string kStaleModule = TWIN_BINARY_DIR "/tests/libtwin_stale_backend_fixture.so";

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// `ENV twin ARGS`, run from the source tree, standard output and error together. The caller's
// own $TWIN_TORCH_BACKEND is dropped: ENV says which module the child may use.
Outcome run_twin(const std::string& environment, const std::string& arguments) {
  REQUIRE_MESSAGE(fs::exists(kTwin), "the twin binary is not built: build the twin_cli target first");
  return twin::testing::shell("cd " + shell_quoted(TWIN_SOURCE_DIR) + " && env -u TWIN_TORCH_BACKEND " + environment + " " +
                              shell_quoted(kTwin) + " " + arguments);
}

bool maps_libtorch(const std::string& ld_debug_report) {
  return contains(ld_debug_report, "libtwin_torch") || contains(ld_debug_report, "libtorch_cpu") ||
         contains(ld_debug_report, "libc10");
}

// A script whose first statement needs tensors: loading a graph reads its weights.
fs::path graph_script(const TempDir& dir) {
  return dir.write("load.twin", "let g = load_graph(\"" TWIN_SOURCE_DIR "/examples/llama/reference.graph\")\n"
                                "print(len(g.parameters), \"parameters\")\n");
}

}  // namespace

TEST_CASE("twin --help and twin fmt start without mapping libtorch; the first tensor maps it") {
  TempDir dir;
  fs::path rules = dir.write("small.rules", "version 1\nruleset tidy {\n  rule mul_one: ?a * 1 => ?a\n}\n");

  Outcome help = run_twin("LD_DEBUG=files", "--help");
  CHECK(help.status == 0);
  CHECK(contains(help.output, "needed by"));  // the loader's report is there to read
  CHECK_FALSE(maps_libtorch(help.output));

  Outcome fmt = run_twin("LD_DEBUG=files", "fmt --check " + shell_quoted(rules.string()));
  CHECK(fmt.status == 0);
  CHECK_FALSE(maps_libtorch(fmt.output));

  // The same report shows the module, beside the executable, and libtorch once a tensor is needed.
  Outcome run = run_twin("LD_DEBUG=files", "run " + shell_quoted(graph_script(dir).string()));
  CHECK(run.status == 0);
  CHECK(contains(run.output, "21 parameters"));
  CHECK(contains(run.output, TWIN_BINARY_DIR "/libtwin_torch.so [0];  dynamically loaded by"));
  CHECK(contains(run.output, "libtorch_cpu"));
}

TEST_CASE("evaluating an op loads the backend into this process") {
  using namespace twin::ops;
  Tensor x = Tensor::from_doubles({1, 2, 3}, {3}, DType::F32);
  std::vector<Tensor> y = evaluate("add", {x, x}, {});
  REQUIRE(y.size() == 1);
  CHECK(y[0].to_doubles() == std::vector<double>{2, 4, 6});

  std::string path = loaded_tensor_backend();
  CHECK(fs::path(path).filename() == "libtwin_torch.so");
  CHECK(tensor_backend().version().rfind("libtorch ", 0) == 0);
  std::ifstream maps("/proc/self/maps");
  std::stringstream mapped;
  mapped << maps.rdbuf();
  CHECK(contains(mapped.str(), "libtorch_cpu"));
}

TEST_CASE("the backend evaluates every registered op, by its registered name") {
  using namespace twin::ops;
  // The module keeps no copy of the registry: its table is keyed by the names the core's
  // registry gives, so the two must agree op for op.
  for (const OpSpec& spec : all_ops()) CHECK_MESSAGE(tensor_backend().evaluates(spec.name), spec.name);
  CHECK_FALSE(tensor_backend().evaluates("frobnicate"));
}

TEST_CASE("the module is looked for in $TWIN_TORCH_BACKEND alone, else beside the executable, ..., the build tree") {
  using namespace twin::ops;
  const char* saved = std::getenv("TWIN_TORCH_BACKEND");
  std::string saved_value = saved ? saved : "";

  ::setenv("TWIN_TORCH_BACKEND", "/somewhere/libtwin_torch.so", 1);
  std::vector<TensorBackendCandidate> explicit_choice = tensor_backend_candidates();
  REQUIRE(explicit_choice.size() == 1);  // an explicit choice has no fallback
  CHECK(explicit_choice[0].path == "/somewhere/libtwin_torch.so");
  CHECK(explicit_choice[0].origin == "$TWIN_TORCH_BACKEND");

  ::unsetenv("TWIN_TORCH_BACKEND");
  std::vector<TensorBackendCandidate> searched = tensor_backend_candidates();
  REQUIRE(searched.size() >= 3);
  CHECK(searched[0].origin == "beside the executable");
  CHECK(fs::path(searched[0].path) == fs::read_symlink("/proc/self/exe").parent_path() / "libtwin_torch.so");
  bool build_tree = false;
  for (const auto& c : searched)
    build_tree |= c.origin == "the build tree" && fs::path(c.path) == fs::path(TWIN_BINARY_DIR) / "libtwin_torch.so";
  CHECK(build_tree);
  CHECK(searched.back().origin == "the installation prefix");

  if (saved) ::setenv("TWIN_TORCH_BACKEND", saved_value.c_str(), 1);
}

TEST_CASE("a module that cannot be used is an error naming the paths tried, not a crash") {
  TempDir dir;
  std::string script = shell_quoted(graph_script(dir).string());

  SUBCASE("a missing file") {
    std::string bogus = (dir.path / "nowhere" / "libtwin_torch.so").string();
    Outcome run = run_twin("TWIN_TORCH_BACKEND=" + shell_quoted(bogus), "run " + script);
    CHECK(run.status == 2);
    CHECK(contains(run.output, "cannot load Twin's tensor backend"));
    CHECK(contains(run.output, bogus + " ($TWIN_TORCH_BACKEND): "));
    CHECK(contains(run.output, "No such file or directory"));  // dlerror()'s words
    CHECK(contains(run.output, "Set TWIN_TORCH_BACKEND"));
    // twin check reports it too, naming the graph whose tensors needed it.
    Outcome check = run_twin("TWIN_TORCH_BACKEND=" + shell_quoted(bogus),
                         "check --ref examples/llama/reference.graph --port examples/llama/port.graph");
    CHECK(check.status == 2);
    CHECK(contains(check.output, bogus));
  }
  SUBCASE("a library that is not a backend") {
    Outcome run = run_twin("TWIN_TORCH_BACKEND=libm.so.6", "run " + script);
    CHECK(run.status == 2);
    CHECK(contains(run.output, "libm.so.6 ($TWIN_TORCH_BACKEND): not a Twin tensor backend"));
  }
  SUBCASE("a module built for another backend ABI") {
    REQUIRE(fs::exists(kStaleModule));
    Outcome run = run_twin("TWIN_TORCH_BACKEND=" + shell_quoted(kStaleModule), "run " + script);
    CHECK(run.status == 2);
    CHECK(contains(run.output, kStaleModule + " ($TWIN_TORCH_BACKEND): stale module: built by Twin 0.0.0-stale"));
    CHECK(contains(run.output, "rebuild or reinstall it"));
  }
}
