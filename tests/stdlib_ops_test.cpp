// stdlib/ops.rules declares the op vocabulary whose semantics are built in (ops/): the file
// and the registry must agree op for op, operand for operand, attribute for attribute.
#include "interp/evaluator.h"
#include "interp/interpreter.h"
#include "ops/op_spec.h"
#include "support.h"

#include <doctest/doctest.h>

using namespace twin;

TEST_CASE("stdlib/ops.rules declares exactly the built-in op vocabulary, with its signatures") {
  Interpreter in({.allowed_read_dirs = {TWIN_SOURCE_DIR "/stdlib"}});
  in.load_declarations(TWIN_SOURCE_DIR "/stdlib/ops.rules");
  for (const ops::OpSpec& spec : ops::all_ops()) {
    CAPTURE(spec.name);
    auto declared = in.evaluator().declared_op(spec.name);
    REQUIRE(declared != nullptr);
    const OpDecl& decl = declared->decl();
    REQUIRE(decl.operands.size() == spec.operands.size());
    for (std::size_t i = 0; i < decl.operands.size(); ++i) CHECK(decl.operands[i] == spec.operands[i].name);
    REQUIRE(decl.attributes.size() == spec.attributes.size());
    for (std::size_t i = 0; i < decl.attributes.size(); ++i) {
      CHECK(decl.attributes[i].name == spec.attributes[i].name);
      CHECK(decl.attributes[i].type == ops::attr_kind_name(spec.attributes[i].kind));
      CHECK((decl.attributes[i].default_value != nullptr) == spec.attributes[i].default_value.has_value());
    }
    CHECK(decl.body == nullptr);  // semantics bound by name, not by a body
  }
}

TEST_CASE("declaring the op vocabulary does not shadow builtin functions of the same name") {
  twin::testing::CapturingInterpreter t({.library_path = {TWIN_SOURCE_DIR "/stdlib"}});
  CHECK(t.run("use \"std/ops.rules\"\nprint(split(\"a,b\", \",\"), sqrt(4))\nprint(silu(term x))\n") ==
        "[\"a\", \"b\"] 2.0\nsilu(x)\n");
}
