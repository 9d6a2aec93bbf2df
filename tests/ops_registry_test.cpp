// The op registry (ops/op_spec.h) is the one home of each op: every op has the backends its
// kind requires, every backend's table names only registered ops, and no other source file
// keeps a table of op names of its own. (The Z3 side: tests/verify_registry_test.cpp; the ATen
// side: tests/capture_aten_registry_test.cpp; stdlib/ops.rules: tests/stdlib_ops_test.cpp.)
#include "ops/op_spec.h"
#include "ops/tensor.h"
#include "support.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

using namespace twin;
namespace fs = std::filesystem;

TEST_CASE("every registered op has a libtorch kernel, and every kernel is a registered op") {
  for (const ops::OpSpec& spec : ops::all_ops()) {
    CAPTURE(spec.name);
    CHECK(ops::has_kernel(spec.name));
  }
  for (const std::string& name : ops::kernel_names()) {
    CAPTURE(name);
    const ops::OpSpec* spec = ops::find_op(name);
    REQUIRE(spec != nullptr);
    CHECK(spec->name == name);  // kernels are keyed by registered names, not aliases
  }
}

TEST_CASE("every name and alias resolves to one op; aliases never shadow a registered name") {
  std::set<std::string> seen;
  for (const ops::OpSpec& spec : ops::all_ops()) {
    CAPTURE(spec.name);
    CHECK(seen.insert(spec.name).second);
    CHECK(ops::find_op(spec.name) == &spec);
    for (const auto& alias : spec.aliases) {
      CAPTURE(alias);
      CHECK(seen.insert(alias).second);
      CHECK(ops::find_op(alias) == &spec);
    }
  }
  CHECK(ops::find_op("view")->name == "reshape");
  CHECK(ops::find_op("to")->name == "cast");
}

TEST_CASE("each op's declared properties name registered ops and fit its signature") {
  for (const ops::OpSpec& spec : ops::all_ops()) {
    CAPTURE(spec.name);
    for (const auto& other : spec.confusable) {
      CAPTURE(other);
      CHECK(ops::find_op(other) != nullptr);
      CHECK(other != spec.name);
    }
    if (spec.commutative) CHECK(spec.operands.size() == 2);
    if (spec.elementwise) CHECK(spec.per_element);
    if (spec.rearranges) CHECK(spec.operands.size() >= 1);
    CHECK(spec.domains.size() <= spec.operands.size() + 1);
  }
}

TEST_CASE("the canonical graph form each op declares: dims from the end, identities dropped") {
  auto type = [](std::vector<std::int64_t> shape) { return ops::TensorType{ops::DType::F32, std::move(shape)}; };
  const ops::OpSpec* transpose = ops::find_op("transpose");
  ops::Attributes a = ops::complete_attributes(*transpose, {{"dim0", ops::AttrValue::of_int(2)}, {"dim1", ops::AttrValue::of_int(0)}});
  auto out = transpose->infer({type({2, 3, 4})}, a);
  transpose->canonicalize({type({2, 3, 4})}, out[0], a);
  CHECK(a.at("dim0").as_int() == -3);
  CHECK(a.at("dim1").as_int() == -1);
  const ops::OpSpec* cast = ops::find_op("cast");
  ops::Attributes to_f32{{"dtype", ops::AttrValue{ops::DType::F32}}};
  CHECK(cast->is_identity({type({2})}, cast->infer({type({2})}, to_f32)[0], to_f32));
  const ops::OpSpec* slice = ops::find_op("slice");
  ops::Attributes tail = ops::complete_attributes(*slice, {{"dim", ops::AttrValue::of_int(1)}, {"start", ops::AttrValue::of_int(2)}});
  auto sliced = slice->infer({type({2, 8})}, tail)[0];
  slice->canonicalize({type({2, 8})}, sliced, tail);
  CHECK(tail.at("dim").as_int() == -1);
  CHECK(tail.at("end").as_int() == 8);  // `x[:, 2:]` resolved
  CHECK_FALSE(slice->is_identity({type({2, 8})}, sliced, tail));
}

namespace {

// The places where op names are registered: the registry's family files and its kernels, the
// Z3 encodings, the ATen mappings. The e-graph engine (below the registry) folds its own
// arithmetic; tests may name ops freely.
bool registration_place(const fs::path& relative) {
  std::string p = relative.generic_string();
  for (const char* prefix : {"ops/", "verify/z3/", "capture/aten/", "egraph/", "tests/", "fuzz/", "build"})
    if (p.rfind(prefix, 0) == 0) return true;
  return false;
}

}  // namespace

TEST_CASE("no source file outside the registrations keys a table by op names") {
  std::set<std::string> names;
  for (const ops::OpSpec& spec : ops::all_ops()) {
    names.insert(spec.name);
    names.insert(spec.aliases.begin(), spec.aliases.end());
  }
  const fs::path root(TWIN_SOURCE_DIR);
  const std::regex literal("\"([a-z_]+)\"");
  std::vector<std::string> tables;
  for (const char* folder : {"bench", "capture", "check", "cli", "compiler", "interp", "util", "verify"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      if (!entry.is_regular_file()) continue;
      auto ext = entry.path().extension();
      if (ext != ".cpp" && ext != ".h") continue;
      fs::path relative = fs::relative(entry.path(), root);
      if (registration_place(relative)) continue;
      std::ifstream in(entry.path());
      std::string line;
      for (int number = 1; std::getline(in, line); ++number) {
        auto code = line.substr(0, line.find("//"));
        std::set<std::string> ops_named;
        for (std::sregex_iterator it(code.begin(), code.end(), literal), end; it != end; ++it)
          if (names.count((*it)[1])) ops_named.insert((*it)[1]);
        // Three op names in one initializer is a table of ops; a place that asks about one or
        // two ops by name is an ordinary test of which op it is.
        if (ops_named.size() >= 3) tables.push_back(relative.string() + ":" + std::to_string(number) + ": " + line);
      }
    }
  }
  for (const auto& t : tables) MESSAGE(t);
  CHECK(tables.empty());
}
