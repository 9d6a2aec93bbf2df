// The canonical form graphs are lowered into (check/graph_lowering.h), and constants unioned
// by value (check/tensor_values.h): what lets a rule written once match every traced form.
#include "check/graph_lowering.h"
#include "check/tensor_values.h"
#include "compiler/canonical_form.h"
#include "egraph/egraph.h"
#include "ops/shape_analysis.h"
#include "ops/tensor.h"

#include <doctest/doctest.h>

#include <limits>

using namespace twin;
using namespace twin::check;
namespace eg = twin::egraph;
using ops::AttrValue;
using ops::TensorType;

namespace {

struct Fixture {
  std::shared_ptr<eg::OpTable> ops = std::make_shared<eg::OpTable>();
  eg::EGraph graph{ops, true};
  TensorValueAnalysis* values = nullptr;
  std::unique_ptr<GraphLowering> lowering;
  Fixture() {
    ops::add_shape_analysis(graph);
    values = &add_tensor_value_analysis(graph);
    graph.enable_explanations();
    lowering = std::make_unique<GraphLowering>(graph, *values);
  }
  LoweredValue x(std::vector<std::int64_t> shape, ops::DType dtype = ops::DType::F32) {
    return lowering->leaf("x", TensorType{dtype, std::move(shape)});
  }
  std::string show(const LoweredValue& v) { return graph.term_of(v.id).to_string(*ops); }
};

AttrValue i(std::int64_t v) { return AttrValue::of_int(v); }

}  // namespace

TEST_CASE("dims are counted from the end and transpose names its dims in order") {
  Fixture f;
  LoweredValue x = f.x({2, 3, 4});
  LoweredValue a = f.lowering->add_op("transpose", {x}, {{"dim0", i(2)}, {"dim1", i(1)}});
  LoweredValue b = f.lowering->add_op("transpose", {x}, {{"dim0", i(-2)}, {"dim1", i(-1)}});
  CHECK(a.id == b.id);
  CHECK(f.show(a).find("-2 -1") != std::string::npos);
  CHECK(a.type->shape == std::vector<std::int64_t>{2, 4, 3});
  // unsqueeze counts against the result's rank: dim 0 of a rank-3 result is -3.
  LoweredValue u = f.lowering->add_op("unsqueeze", {f.x({3, 4})}, {{"dim", i(0)}});
  LoweredValue v = f.lowering->add_op("unsqueeze", {f.x({3, 4})}, {{"dim", i(-3)}});
  CHECK(u.id == v.id);
  // Reduction dims become a sorted list.
  LoweredValue m1 = f.lowering->add_op("mean", {x}, {{"dim", AttrValue{std::vector<std::int64_t>{2, 0}}}});
  LoweredValue m2 = f.lowering->add_op("mean", {x}, {{"dim", AttrValue{std::vector<std::int64_t>{-3, -1}}}});
  CHECK(m1.id == m2.id);
}

TEST_CASE("identities are not added, and slice bounds are resolved") {
  Fixture f;
  LoweredValue x = f.x({2, 8});
  CHECK(f.lowering->add_op("cast", {x}, {{"dtype", AttrValue{ops::DType::F32}}}).id == x.id);
  CHECK(f.lowering->add_op("cast", {x}, {{"dtype", AttrValue{ops::DType::BF16}}}).id != x.id);
  CHECK(f.lowering->add_op("contiguous", {x}, {}).id == x.id);
  CHECK(f.lowering->add_op("reshape", {x}, {{"shape", AttrValue{std::vector<std::int64_t>{2, -1}}}}).id == x.id);
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  CHECK(f.lowering->add_op("slice", {x}, {{"dim", i(1)}, {"start", i(0)}, {"end", i(max)}}).id == x.id);
  // x[..., 4:] traced with end = 2^63 - 1 is the same node as slice(end=8).
  LoweredValue tail = f.lowering->add_op("slice", {x}, {{"dim", i(1)}, {"start", i(4)}, {"end", i(max)}});
  LoweredValue same = f.lowering->add_op("slice", {x}, {{"dim", i(-1)}, {"start", i(-4)}, {"end", i(8)}});
  CHECK(tail.id == same.id);
  CHECK(tail.type->shape == std::vector<std::int64_t>{2, 4});
  // A reshape's -1 is resolved.
  LoweredValue r = f.lowering->add_op("reshape", {x}, {{"shape", AttrValue{std::vector<std::int64_t>{4, -1}}}});
  CHECK(f.show(r).find("(list 4 4)") != std::string::npos);
}

TEST_CASE("chunk and split become slices") {
  Fixture f;
  LoweredValue x = f.x({2, 8});
  auto pieces = f.lowering->add_pieces("chunk", x, {{"chunks", i(2)}, {"dim", i(-1)}});
  REQUIRE(pieces.size() == 2);
  CHECK(pieces[1].id == f.lowering->add_op("slice", {x}, {{"dim", i(1)}, {"start", i(4)}, {"end", i(8)}}).id);
}

TEST_CASE("a rule's pattern, in the compiler's canonical form, is the lowered form's node") {
  Fixture f;
  eg::OpTable& ops = *f.ops;
  compiler::CanonicalForm form;
  auto var = [](const char* name) {
    auto t = std::make_shared<Term>();
    t->kind = TermKind::Var;
    t->name = name;
    return TermPtr(t);
  };
  // slice(?x, dim=-1, end=?k, start=0): put in declared order, step filled in.
  TermPtr slice =
      make_apply("slice", {var("x")}, {{"dim", make_constant(-1)}, {"end", var("k")}, {"start", make_constant(0)}});
  eg::Pattern c = compiler::to_pattern(*form.canonical(slice), ops);
  LoweredValue s = f.lowering->add_op("slice", {f.x({2, 8})}, {{"dim", i(1)}, {"start", i(0)}, {"end", i(4)}});
  CHECK(c.op == f.graph.class_nodes(s.id)[0].op);
  CHECK(c.to_string(ops) == "(slice ?x -1 0 ?k 1)");
  // A single dim for an `ints` attribute is a one-element list.
  TermPtr mean = make_apply("mean", {var("x")}, {{"dim", make_constant(-1)}, {"keepdim", make_symbol("true")}});
  CHECK(compiler::to_pattern(*form.canonical(mean), ops).to_string(ops) == "(mean ?x (list -1) true none)");
}

TEST_CASE("constants with the same bits are unioned; anything reading a parameter is not a constant") {
  Fixture f;
  TensorType t{ops::DType::F32, {2, 2}};
  ops::Tensor ones = ops::Tensor::from_doubles({1, 1, 1, 1}, {2, 2}, ops::DType::F32);
  LoweredValue a = f.lowering->leaf("a@reference", t, ones);
  LoweredValue b = f.lowering->leaf("b@port", t, ops::Tensor::from_doubles({0.5, 0.5, 0.5, 0.5}, {2, 2}, ops::DType::F32));
  LoweredValue twice_b = f.lowering->add_op("mul", {b, {f.graph.add(f.ops->intern_constant(2)), TensorType{ops::DType::I64, {}, true}}}, {});
  f.graph.rebuild();
  CHECK(f.graph.find(twice_b.id) == f.graph.find(a.id));  // 2 * 0.5 == 1, bit for bit
  CHECK(f.values->value_unions() == 1);
  // Different values stay apart, and so do different dtypes with the same numbers.
  LoweredValue c = f.lowering->leaf("c@port", t, ops::Tensor::from_doubles({1, 1, 1, 2}, {2, 2}, ops::DType::F32));
  LoweredValue d = f.lowering->leaf("d@port", TensorType{ops::DType::BF16, {2, 2}}, ones.to(ops::DType::BF16));
  LoweredValue w = f.lowering->leaf("w", t);  // a parameter: an unknown
  LoweredValue w_plus = f.lowering->add_op("add", {w, a}, {});
  f.graph.rebuild();
  CHECK(f.graph.find(c.id) != f.graph.find(a.id));
  CHECK(f.graph.find(d.id) != f.graph.find(a.id));
  CHECK(f.values->value(f.graph, w_plus.id) == nullptr);
  CHECK(f.values->value(f.graph, a.id) != nullptr);
}
