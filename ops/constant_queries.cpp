// Guard queries that read a mask's constant value (constant_values.h).
#include "ops/constant_values.h"

#include "ops/shape_analysis.h"

#include <algorithm>
#include <optional>

namespace twin::ops {

const std::vector<double>* constant_elements(const egraph::EGraph& graph, egraph::EClassId cls) {
  const auto* source = dynamic_cast<const ConstantValues*>(graph.find_analysis(ConstantValues::kAnalysisName));
  return source ? source->constant_elements(graph, cls) : nullptr;
}

namespace {

using egraph::ScalarValue;

// The mask's type and elements, when its class is a known constant of rank >= 1.
struct KnownMask {
  TensorType type;
  const std::vector<double>* values = nullptr;
};

std::optional<KnownMask> known_mask(const egraph::EGraph& g, const ScalarValue& v) {
  if (v.kind != ScalarValue::Kind::Class) return std::nullopt;
  const ShapeAnalysis* shapes = g.analysis<ShapeAnalysis>();
  auto type = shapes ? shapes->type_of(g, v.cls) : std::nullopt;
  if (!type || type->rank() == 0 || type->shape.back() <= 0) return std::nullopt;
  const std::vector<double>* values = constant_elements(g, v.cls);
  if (!values || values->size() != static_cast<std::size_t>(type->numel())) return std::nullopt;
  return KnownMask{*type, values};
}

// Whether every row (a slice along the last dim) has an element for which `kept` holds.
template <class Kept>
bool every_row_has(const KnownMask& m, Kept kept) {
  const auto row = static_cast<std::size_t>(m.type.shape.back());
  for (std::size_t start = 0; start < m.values->size(); start += row) {
    bool any = false;
    for (std::size_t k = start; k < start + row && !any; ++k) any = kept((*m.values)[k]);
    if (!any) return false;
  }
  return true;
}

// The elements of a constant integer vector, when the class is one.
std::optional<std::vector<std::int64_t>> known_indices(const egraph::EGraph& g, const ScalarValue& v) {
  auto m = known_mask(g, v);
  if (!m || m->type.rank() != 1 || is_floating(m->type.dtype) || m->type.dtype == DType::Bool) return std::nullopt;
  std::vector<std::int64_t> out;
  out.reserve(m->values->size());
  for (double x : *m->values) out.push_back(static_cast<std::int64_t>(x));
  return out;
}

bool distinct_non_negative(const std::vector<std::int64_t>& indices) {
  std::vector<std::int64_t> sorted = indices;
  std::sort(sorted.begin(), sorted.end());
  return (sorted.empty() || sorted.front() >= 0) && std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end();
}

}  // namespace

void register_constant_queries(egraph::QueryRegistry& queries) {
  queries.add(
      "every_row_attends",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto m = known_mask(g, args[0]);
        return ScalarValue::of_bool(m && m->type.dtype == DType::Bool && every_row_has(*m, [](double b) { return b != 0; }));
      },
      1);
  queries.add(
      "every_row_keeps",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto m = known_mask(g, args[0]);
        return ScalarValue::of_bool(m && m->type.dtype == DType::Bool && every_row_has(*m, [](double b) { return b == 0; }));
      },
      1);
  queries.add(
      "additive_mask",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto m = known_mask(g, args[0]);
        if (!m || !is_floating(m->type.dtype)) return ScalarValue::of_bool(false);
        for (double v : *m->values)
          if (!(v == 0 || v <= kMaskedBelow)) return ScalarValue::of_bool(false);
        return ScalarValue::of_bool(every_row_has(*m, [](double v) { return v == 0; }));
      },
      1);
  queries.add(
      "all_zero",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto m = known_mask(g, args[0]);
        return ScalarValue::of_bool(m && is_floating(m->type.dtype) &&
                                    std::all_of(m->values->begin(), m->values->end(), [](double v) { return v == 0; }));
      },
      1);
  queries.add(
      "distinct_indices",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto indices = known_indices(g, args[0]);
        return ScalarValue::of_bool(indices && distinct_non_negative(*indices));
      },
      1);
  queries.add(
      "masks_unlisted",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto m = known_mask(g, args[0]);
        auto indices = known_indices(g, args[1]);
        if (!m || !indices || !(m->type.dtype == DType::Bool || is_floating(m->type.dtype))) return ScalarValue::of_bool(false);
        // Masked: true in a boolean mask (masked_fill's), at most -1e30 in an additive one.
        const bool boolean = m->type.dtype == DType::Bool;
        const auto row = static_cast<std::size_t>(m->type.shape.back());
        std::vector<bool> listed(row, false);
        for (std::int64_t i : *indices)
          if (i >= 0 && static_cast<std::size_t>(i) < row) listed[static_cast<std::size_t>(i)] = true;
        for (std::size_t k = 0; k < m->values->size(); ++k) {
          const double v = (*m->values)[k];
          if (!listed[k % row] && !(boolean ? v != 0 : v <= kMaskedBelow)) return ScalarValue::of_bool(false);
        }
        return ScalarValue::of_bool(true);
      },
      2);
}

}  // namespace twin::ops
