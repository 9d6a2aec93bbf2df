// Index domains (check/index_domain_analysis.h, ops/index_domain.h): token ids bounded by the
// vocabulary both graphs read them with, and the guard query indexes_rows_of that reads the
// bound.
#include "capture/graph.h"
#include "capture/index_bounds.h"
#include "check/graph_lowering.h"
#include "check/index_domain_analysis.h"
#include "check/tensor_values.h"
#include "compiler/guard_queries.h"
#include "egraph/egraph.h"
#include "ops/shape_analysis.h"
#include "ops/tensor.h"

#include <doctest/doctest.h>

#include <filesystem>

using namespace twin;
using namespace twin::check;
namespace eg = twin::egraph;
using ops::AttrValue;
using ops::TensorType;

namespace {

std::filesystem::path llama_dir() { return std::filesystem::path(TWIN_SOURCE_DIR) / "examples" / "llama"; }

struct Fixture {
  std::shared_ptr<eg::OpTable> ops = std::make_shared<eg::OpTable>();
  eg::EGraph graph{ops, true};
  TensorValueAnalysis* values = nullptr;
  IndexDomainAnalysis* domain = nullptr;
  std::unique_ptr<GraphLowering> lowering;
  Fixture() {
    ops::add_shape_analysis(graph);
    values = &add_tensor_value_analysis(graph);
    domain = &add_index_domain_analysis(graph);
    lowering = std::make_unique<GraphLowering>(graph, *values);
  }
  // indexes_rows_of(indices, table), as a guard evaluates it.
  bool indexes_rows_of(const LoweredValue& indices, const LoweredValue& table) {
    graph.rebuild();
    const auto& queries = compiler::guard_queries();
    const int q = queries.index_of("indexes_rows_of");
    REQUIRE(q >= 0);
    std::vector<eg::ScalarValue> args(2);
    args[0].kind = args[1].kind = eg::ScalarValue::Kind::Class;
    args[0].cls = indices.id;
    args[1].cls = table.id;
    eg::ScalarValue v = queries.function(q)(graph, args);
    return v.kind == eg::ScalarValue::Kind::Bool && v.boolean;
  }
};

}  // namespace

TEST_CASE("a bounded input indexes the rows of a table at least as long, through its views and parts") {
  Fixture f;
  LoweredValue ids = f.lowering->leaf("ids", TensorType{ops::DType::I64, {1, 8}});
  f.domain->bound_class(f.graph, ids.id, 100);
  LoweredValue vocabulary = f.lowering->leaf("w", TensorType{ops::DType::F32, {100, 4}});
  LoweredValue padded = f.lowering->leaf("w_padded", TensorType{ops::DType::F32, {128, 4}});
  LoweredValue short_table = f.lowering->leaf("w_short", TensorType{ops::DType::F32, {28, 4}});
  CHECK(f.indexes_rows_of(ids, vocabulary));
  CHECK(f.indexes_rows_of(ids, padded));
  CHECK_FALSE(f.indexes_rows_of(ids, short_table));  // ids up to 99 are not rows of 28
  // A view of the ids keeps the bound; arithmetic on them does not.
  LoweredValue flat = f.lowering->add_op("reshape", {ids}, {{"shape", AttrValue{std::vector<std::int64_t>{8}}}});
  CHECK(f.indexes_rows_of(flat, vocabulary));
  LoweredValue shifted = f.lowering->add_op("add", {ids, ids}, {});
  CHECK_FALSE(f.indexes_rows_of(shifted, padded));
  // So does a part of them: the last token's id (a decode step's input).
  LoweredValue last = f.lowering->add_op("slice", {ids}, {{"dim", AttrValue::of_int(1)}, {"start", AttrValue::of_int(7)}, {"end", AttrValue::of_int(8)}});
  CHECK(f.indexes_rows_of(last, vocabulary));
  CHECK_FALSE(f.indexes_rows_of(last, short_table));
  // An unbounded input indexes nothing as far as guards know.
  LoweredValue other = f.lowering->leaf("other_ids", TensorType{ops::DType::I64, {8}});
  CHECK_FALSE(f.indexes_rows_of(other, padded));
  // Merging keeps the tighter bound.
  f.domain->bound_class(f.graph, other.id, 200);
  f.graph.union_classes(other.id, flat.id);
  CHECK(f.indexes_rows_of(other, vocabulary));
}

TEST_CASE("a constant index vector indexes the rows its values reach") {
  Fixture f;
  LoweredValue positions = f.lowering->leaf("positions", TensorType{ops::DType::I64, {3}},
                                            ops::Tensor::from_doubles({0, 5, 27}, {3}, ops::DType::I64));
  CHECK(f.indexes_rows_of(positions, f.lowering->leaf("t", TensorType{ops::DType::F32, {28, 2}})));
  CHECK_FALSE(f.indexes_rows_of(positions, f.lowering->leaf("u", TensorType{ops::DType::F32, {27, 2}})));
}

TEST_CASE("a graph's token ids are bounded by the vocabulary its embedding reads") {
  auto ref = capture::input_index_bounds(Graph::load(llama_dir() / "reference.graph"));
  CHECK(ref.at("input_ids") == 100);
  // The padded port's tables have 128 rows: its own bound is the padded vocabulary.
  auto port = capture::input_index_bounds(Graph::load(llama_dir() / "variants" / "vllm_padded_vocab.graph"));
  CHECK(port.at("input_ids") == 128);
  CHECK(port.count("positions") == 1);
}
