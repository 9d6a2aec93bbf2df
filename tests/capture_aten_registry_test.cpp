// The ATen mapping's table (capture/aten_mapping.h) and its input, the neutral ATen call
// (capture/aten_call.h): every entry emits only ops the op registry knows, no two entries claim
// one ATen name, and a call built by hand (as a reader other than the `.graph` one builds it)
// maps as a captured one does.
#include "capture/aten_call.h"
#include "capture/aten_mapping.h"
#include "ops/op_spec.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

using namespace twin;
using namespace twin::capture;

namespace {

AtenValue tensor(const std::string& name) { return AtenValue{GraphRef{name, 0}}; }
AtenValue integer(std::int64_t v) { return AtenValue{v}; }
AtenValue number(double v) { return AtenValue{v}; }
AtenValue none() { return AtenValue{AtenValue::None{}}; }

// The values of a small hand-built graph: x, y [2, 3] f32, w [4, 3] f32, idx [2] i64.
struct Values {
  std::map<std::string, ops::TensorType> types = {{"x", {ops::DType::F32, {2, 3}}},
                                                  {"y", {ops::DType::F32, {2, 3}}},
                                                  {"w", {ops::DType::F32, {4, 3}}},
                                                  {"idx", {ops::DType::I64, {2}}}};
  Lowering lower(const AtenCall& call, const std::vector<ops::TensorType>& outputs) const {
    RecordedTypes recorded{outputs, [this](const GraphRef& ref) -> const ops::TensorType* {
                             auto it = types.find(ref.name);
                             return it == types.end() ? nullptr : &it->second;
                           }};
    return lower_aten_call(call, recorded);
  }
};

}  // namespace

TEST_CASE("every ATen mapping emits only ops the op registry knows") {
  REQUIRE(!aten_mappings().empty());
  for (const auto& m : aten_mappings()) {
    CAPTURE(m.aten_name);
    CHECK(static_cast<bool>(m.map));
    CHECK(!m.emits.empty());
    for (const auto& op : m.emits) {
      CAPTURE(op);
      CHECK_MESSAGE(ops::find_op(op) != nullptr, "aten::" << m.aten_name << " may emit " << op << ", which ops/ does not register");
    }
  }
}

TEST_CASE("no two ATen mappings claim one ATen name") {
  std::set<std::string> seen;
  for (const auto& m : aten_mappings()) {
    CAPTURE(m.aten_name);
    CHECK_MESSAGE(seen.insert(m.aten_name).second, "two entries map aten::" << m.aten_name);
    CHECK(find_aten_mapping(m.aten_name) == &m);
  }
  CHECK(find_aten_mapping("frobnicate") == nullptr);
}

TEST_CASE("the mapping covers the ops the examples' captures use") {
  for (const char* name : {"linear", "embedding", "mul", "add", "pow", "mean", "rsqrt", "to", "view", "transpose",
                           "matmul", "softmax", "cat", "slice", "neg", "silu", "split", "chunk", "unsqueeze", "arange",
                           "triu", "masked_fill", "expand", "reshape", "contiguous", "_to_copy", "split_with_sizes"})
    CHECK_MESSAGE(find_aten_mapping(name) != nullptr, "no mapping for aten::" << name);
}

TEST_CASE("an ATen op's qualified name is taken apart into name, overload and in-place") {
  auto add = parse_aten_op_name("aten::add_.Tensor");
  REQUIRE(add);
  CHECK(add->name == "add");
  CHECK(add->overload == "Tensor");
  CHECK(add->in_place);
  auto linear = parse_aten_op_name("aten::linear");
  REQUIRE(linear);
  CHECK(linear->name == "linear");
  CHECK(linear->overload.empty());
  CHECK(!linear->in_place);
  CHECK(parse_aten_op_name("aten::__and__")->name == "__and__");
  CHECK(!parse_aten_op_name("prim::ListConstruct"));
}

TEST_CASE("a call's arguments are read by position, else by keyword; none counts as absent") {
  AtenCall call{"softmax", "int", false, {tensor("x"), integer(-1), none()}, {{"dtype", AtenValue{AtenValue::DType{ops::DType::F32, "f32"}}}}};
  REQUIRE(call.get(1, "dim"));
  CHECK(call.get(1, "dim")->int_value() == -1);
  REQUIRE(call.get(2, "dtype"));
  CHECK(call.get(2, "dtype")->is_dtype());
  CHECK(call.get(3, "half_to_float") == nullptr);
  CHECK(number(-std::numeric_limits<double>::infinity()).to_string() == R"({"float":"-inf"})");
  CHECK(AtenValue{AtenValue::List{integer(1), integer(8)}}.to_string() == "[1,8]");
}

TEST_CASE("a call built by hand maps onto Twin's ops") {
  Values values;
  const std::vector<ops::TensorType> out23{{ops::DType::F32, {2, 3}}};

  SUBCASE("linear without a bias") {
    auto l = values.lower(AtenCall{"linear", "", false, {tensor("x"), tensor("w"), none()}, {}},
                          {{ops::DType::F32, {2, 4}}});
    REQUIRE(!l.opaque);
    REQUIRE(l.steps.size() == 1);
    CHECK(l.steps[0].op == "linear");
    CHECK(l.steps[0].operands.size() == 2);
  }
  SUBCASE("add with alpha multiplies first") {
    auto l = values.lower(AtenCall{"add", "Tensor", false, {tensor("x"), tensor("y")}, {{"alpha", number(0.5)}}}, out23);
    REQUIRE(l.steps.size() == 2);
    CHECK(l.steps[0].op == "mul");
    CHECK(l.steps[1].op == "add");
    CHECK(l.steps[1].operands[1].kind == GraphOperand::Kind::Step);
  }
  SUBCASE("a dtype given as a c10::ScalarType code") {
    auto l = values.lower(AtenCall{"to", "dtype", false, {tensor("x"), integer(15)}, {}}, {{ops::DType::BF16, {2, 3}}});
    REQUIRE(l.steps.size() == 1);
    CHECK(l.steps[0].op == "cast");
    CHECK(l.steps[0].attributes.at("dtype") == ops::AttrValue{ops::DType::BF16});
  }
  SUBCASE("split_with_sizes by a list: one slice per recorded output") {
    auto l = values.lower(
        AtenCall{"split_with_sizes", "", false, {tensor("x"), AtenValue{AtenValue::List{integer(1), integer(2)}}, integer(1)}, {}},
        {{ops::DType::F32, {2, 1}}, {ops::DType::F32, {2, 2}}});
    REQUIRE(!l.opaque);
    CHECK(l.steps.size() == 2);
    CHECK(l.results == std::vector<std::pair<int, int>>{{0, 0}, {1, 0}});
  }
  SUBCASE("a non-finite fill becomes the attribute \"-inf\"") {
    auto l = values.lower(AtenCall{"masked_fill", "Scalar", false,
                                   {tensor("x"), tensor("idx"), number(-std::numeric_limits<double>::infinity())}, {}},
                          out23);
    REQUIRE(l.steps.size() == 1);
    CHECK(l.steps[0].attributes.at("value") == ops::AttrValue{std::string("-inf")});
  }
  SUBCASE("movedim and a permute that swaps two dims lower as the transpose they are") {
    values.types["h"] = {ops::DType::F32, {1, 8, 4, 16}};
    auto moved = values.lower(AtenCall{"movedim", "int", false, {tensor("h"), integer(1), integer(2)}, {}},
                              {{ops::DType::F32, {1, 4, 8, 16}}});
    REQUIRE(!moved.opaque);
    REQUIRE(moved.steps.size() == 1);
    CHECK(moved.steps[0].op == "transpose");
    CHECK(moved.steps[0].attributes.at("dim0") == ops::AttrValue::of_int(1));
    CHECK(moved.steps[0].attributes.at("dim1") == ops::AttrValue::of_int(2));
    // movedim(h, 0, -1): dim 0 goes last, the others keep their order: permute(1, 2, 3, 0).
    auto rotated = values.lower(AtenCall{"movedim", "int", false, {tensor("h"), integer(0), integer(-1)}, {}},
                                {{ops::DType::F32, {8, 4, 16, 1}}});
    REQUIRE(rotated.steps.size() == 1);
    CHECK(rotated.steps[0].op == "permute");
    CHECK(rotated.steps[0].attributes.at("dims") == ops::AttrValue{std::vector<std::int64_t>{1, 2, 3, 0}});
    auto swap = values.lower(
        AtenCall{"permute", "", false, {tensor("h"), AtenValue{AtenValue::List{integer(0), integer(2), integer(1), integer(3)}}}, {}},
        {{ops::DType::F32, {1, 4, 8, 16}}});
    REQUIRE(swap.steps.size() == 1);
    CHECK(swap.steps[0].op == "transpose");
    auto repeated = values.lower(
        AtenCall{"movedim", "intlist", false,
                 {tensor("h"), AtenValue{AtenValue::List{integer(0), integer(0)}}, AtenValue{AtenValue::List{integer(1), integer(2)}}}, {}},
        {{ops::DType::F32, {1, 8, 4, 16}}});
    CHECK(repeated.opaque);
  }
  SUBCASE("cat leaves out operands that are empty along its dim") {
    // vLLM's cat((x_rot, x_pass), -1) with x_pass = x[..., head_size:], empty.
    values.types["empty"] = {ops::DType::F32, {2, 0}};
    auto one = values.lower(AtenCall{"cat", "", false, {AtenValue{AtenValue::List{tensor("x"), tensor("empty")}}, integer(-1)}, {}},
                            out23);
    REQUIRE(one.steps.size() == 1);
    CHECK(one.steps[0].op == "contiguous");
    REQUIRE(one.steps[0].operands.size() == 1);
    CHECK(one.steps[0].operands[0].ref.name == "x");
    auto two = values.lower(
        AtenCall{"cat", "", false, {AtenValue{AtenValue::List{tensor("x"), tensor("empty"), tensor("y")}}, integer(1)}, {}},
        {{ops::DType::F32, {2, 6}}});
    REQUIRE(two.steps.size() == 1);
    CHECK(two.steps[0].op == "cat");
    CHECK(two.steps[0].operands.size() == 2);
  }
  SUBCASE("what the mapping does not handle is opaque, with the reason") {
    auto unknown = values.lower(AtenCall{"frobnicate", "", false, {tensor("x")}, {}}, out23);
    CHECK(unknown.opaque);
    CHECK(unknown.opaque_reason == "Twin has no mapping for this op");
    CHECK(unknown.steps.empty());
    // Truncating division has no Twin op (floor division does: floor_divide).
    auto trunc = values.lower(AtenCall{"div", "Tensor_mode", false, {tensor("x"), tensor("y"), AtenValue{std::string("trunc")}}, {}},
                              out23);
    CHECK(trunc.opaque);
    CHECK(trunc.opaque_reason == R"(div with rounding_mode "trunc")");
    auto floor = values.lower(AtenCall{"div", "Tensor_mode", false, {tensor("x"), tensor("y"), AtenValue{std::string("floor")}}, {}},
                              out23);
    CHECK_FALSE(floor.opaque);
    REQUIRE(floor.steps.size() == 1);
    CHECK(floor.steps[0].op == "floor_divide");
    auto outputs = values.lower(AtenCall{"neg", "", false, {tensor("x")}, {}}, {out23[0], out23[0]});
    CHECK(outputs.opaque);
    CHECK(outputs.opaque_reason == "records 2 outputs, the mapping gives 1");
    auto dtype = values.lower(AtenCall{"to", "", false, {tensor("x"), AtenValue{AtenValue::DType{std::nullopt, "complex64"}}}, {}},
                              out23);
    CHECK(dtype.opaque);
    CHECK(dtype.opaque_reason == R"(unknown dtype {"dtype":"complex64"})");
  }
}
