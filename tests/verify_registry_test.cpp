// The Z3 encoding table against the op registry (ops/op_spec.h): every op validated
// symbolically has an encoding, the table names only registered ops (by their registered
// names, never an alias), and registering anything else fails loudly.
#include "ops/op_spec.h"
#include "verify/z3/op_encoding.h"
#include "verify/z3_encoding.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace twin;
using namespace twin::verify;

std::vector<SymTensor> no_encoding(encoding::EncodeCall&) { return {}; }

}  // namespace

TEST_SUITE("verify_registry") {
  TEST_CASE("every op whose validation is Symbolic has a Z3 encoding") {
    std::vector<std::string> missing;
    for (const ops::OpSpec& spec : ops::all_ops())
      if (spec.validation == ops::Validation::Symbolic && !has_z3_encoding(spec.name)) missing.push_back(spec.name);
    std::string names;
    for (const auto& n : missing) names += " " + n;
    INFO("symbolic ops without a Z3 encoding:" << names);
    CHECK(missing.empty());
  }

  TEST_CASE("the encoding table names registered ops only, by their registered names") {
    std::vector<std::string> encoded = z3_encoded_ops();
    REQUIRE_FALSE(encoded.empty());
    CHECK(std::is_sorted(encoded.begin(), encoded.end()));
    for (const auto& name : encoded) {
      INFO("encoded op: " << name);
      const ops::OpSpec* spec = ops::find_op(name);
      REQUIRE(spec != nullptr);
      CHECK(spec->name == name);
    }
  }

  TEST_CASE("random-only ops have no encoding; aliases resolve to their op's") {
    REQUIRE(ops::find_op("embedding") != nullptr);
    CHECK(ops::find_op("embedding")->validation == ops::Validation::RandomOnly);
    CHECK_FALSE(has_z3_encoding("embedding"));
    CHECK_FALSE(is_encodable("embedding"));
    // `view` is reshape and `to` is cast: the table keys the registered name only.
    CHECK_FALSE(has_z3_encoding("view"));
    CHECK_FALSE(has_z3_encoding("to"));
    CHECK(is_encodable("view"));
    CHECK(is_encodable("to"));
    CHECK_FALSE(is_encodable("no_such_op"));
  }

  TEST_CASE("registering an encoding for anything but a registered op name fails loudly") {
    encoding::EncodingTable table;
    table.add("reshape", no_encoding);
    CHECK((table.find("reshape") == &no_encoding));
    CHECK((table.find("view") == nullptr));
    CHECK_THROWS_AS(table.add("view", no_encoding), std::logic_error);        // an alias
    CHECK_THROWS_AS(table.add("no_such_op", no_encoding), std::logic_error);  // not registered
    CHECK_THROWS_AS(table.add("reshape", no_encoding), std::logic_error);     // twice
    CHECK_THROWS_AS(table.add("cast", nullptr), std::logic_error);            // no function
    CHECK(table.names() == std::vector<std::string>{"reshape"});
  }
}
