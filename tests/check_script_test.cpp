// check_graphs(...) in scripts (interp/lib/check_library.h): a validation script runs the check
// and reads its answer as a map; bad paths are script errors, not crashes.
#include "interp/lib/check_library.h"
#include "util/error.h"
#include "support.h"

#include <doctest/doctest.h>

#include <filesystem>

using namespace twin;
using twin::testing::CapturingInterpreter;

namespace {
const std::string kLlama = std::string(TWIN_SOURCE_DIR) + "/examples/llama";

InterpreterOptions readable() {
  InterpreterOptions o;
  o.allowed_read_dirs = {TWIN_SOURCE_DIR};
  // The stdlib's verdicts as the build verified them (read, never written): without the cache
  // each check_graphs re-verifies every stdlib rule, minutes that test nothing of the script.
  o.verdict_cache = VerdictCacheAccess::ReadOnly;
  return o;
}
}  // namespace

TEST_CASE("a script checks a port and reads the verdict, the proof and the divergences") {
  CapturingInterpreter twin(readable());
  std::string out = twin.run("let r = check_graphs(\"" + kLlama + "/reference.graph\", \"" + kLlama +
                             "/port.graph\")\n"
                             "print(r.verdict)\n"
                             "assert len(r.rules_used) > 0\n"
                             "let b = check_graphs(\"" + kLlama + "/reference.graph\", \"" + kLlama +
                             "/bugs/silu_on_up.graph\")\n"
                             "print(b.verdict, b.divergences[0].module)\n");
  CHECK(out == "equivalent\nnot_equivalent layers.0.mlp.act_fn\n");
}

TEST_CASE("a graph the script may not read, or that does not exist, is a located error") {
  CapturingInterpreter twin;  // no readable directories beyond the script's own
  CHECK_THROWS_AS(twin.run("check_graphs(\"" + kLlama + "/reference.graph\", \"" + kLlama + "/port.graph\")"), Error);
  CapturingInterpreter allowed(readable());
  try {
    allowed.run("check_graphs(\"" + kLlama + "/nope.graph\", \"" + kLlama + "/port.graph\")", "s.twin");
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(e.location().line == 1);
    CHECK(e.message().find("nope.graph") != std::string::npos);
  }
}
