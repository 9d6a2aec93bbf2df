// The guard query indexes_rows_of (index_domain.h).
#include "ops/constant_values.h"
#include "ops/index_domain.h"
#include "ops/shape_analysis.h"

#include <algorithm>

namespace twin::ops {

namespace {

using egraph::ScalarValue;

std::optional<std::int64_t> known_bound(const egraph::EGraph& g, egraph::EClassId cls) {
  const auto* domain = dynamic_cast<const IndexDomain*>(g.find_analysis(IndexDomain::kAnalysisName));
  return domain ? domain->index_bound(g, cls) : std::nullopt;
}

}  // namespace

void register_index_queries(egraph::QueryRegistry& queries) {
  queries.add(
      "indexes_rows_of",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        if (args[0].kind != ScalarValue::Kind::Class || args[1].kind != ScalarValue::Kind::Class)
          return ScalarValue::of_bool(false);
        const ShapeAnalysis* shapes = g.analysis<ShapeAnalysis>();
        auto indices = shapes ? shapes->type_of(g, args[0].cls) : std::nullopt;
        auto table = shapes ? shapes->type_of(g, args[1].cls) : std::nullopt;
        if (!indices || !table || table->rank() == 0 || is_floating(indices->dtype) || indices->dtype == DType::Bool)
          return ScalarValue::of_bool(false);
        const std::int64_t rows = table->shape[0];
        if (const std::vector<double>* values = constant_elements(g, args[0].cls))
          return ScalarValue::of_bool(std::all_of(values->begin(), values->end(), [rows](double v) {
            return v >= 0 && v < static_cast<double>(rows);
          }));
        auto bound = known_bound(g, args[0].cls);
        return ScalarValue::of_bool(bound && *bound <= rows);
      },
      2);
}

}  // namespace twin::ops
