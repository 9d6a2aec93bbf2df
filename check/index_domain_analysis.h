// Index domains as an e-class analysis (ops/index_domain.h): a bound b on every element of an
// integer class's value, 0 <= element < b, wherever both graphs of the check are defined.
//
// Where the bounds come from: a graph input used as an index (embedding's token ids) makes
// its graph undefined unless every element is below the bound its uses give
// (capture/index_bounds.h). `twin check` claims equivalence on the inputs where both graphs
// are defined, so the smaller of the two graphs' bounds holds for that input's leaf class
// (`bound_class`, called by the lowering before anything uses the leaf).
//
// What each node implies: an op whose every result element is an element of its one operand
// (the views, OpSpec::rearranges: reshape, unsqueeze, expand, transpose; and the one-operand
// ops that copy values: slice, select, repeat) has that operand's bound (the last token's id, `ids[:, -1]`, is
// below the vocabulary too); nothing else implies one. Merging two classes keeps the smaller
// bound: both hold of the one value. (The bounds of the inputs themselves are read through
// views only: an embedding of `ids[:, -1]` says nothing of the other ids.)
#pragma once

#include "egraph/analysis.h"
#include "egraph/egraph.h"
#include "ops/index_domain.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace twin::check {

class IndexDomainAnalysis final : public egraph::Analysis, public ops::IndexDomain {
 public:
  static constexpr std::string_view kName = ops::IndexDomain::kAnalysisName;

  std::string_view name() const override { return kName; }
  std::unique_ptr<egraph::Analysis> clone() const override { return std::make_unique<IndexDomainAnalysis>(*this); }
  void grow(std::size_t n_ids) override { bounds_.resize(n_ids); }
  bool join_node(const egraph::EGraph& graph, egraph::EClassId cls, egraph::OpId op,
                 std::span<const egraph::EClassId> children) override;
  egraph::MergeResult merge(egraph::EClassId into, egraph::EClassId from) override;
  std::string describe(const egraph::EGraph& graph, egraph::EClassId cls) const override;

  // Records that every element of `cls` is in [0, bound): a graph input's leaf, before any
  // node uses it (a later use would not see it).
  void bound_class(const egraph::EGraph& graph, egraph::EClassId cls, std::int64_t bound);
  // ops::IndexDomain: what the guard query indexes_rows_of reads.
  std::optional<std::int64_t> index_bound(const egraph::EGraph& graph, egraph::EClassId cls) const override;

 private:
  // Tighter (smaller) bounds win; true if `slot` changed.
  static bool tighten(std::optional<std::int64_t>& slot, std::int64_t bound);
  // Whether every result element of the op is its one operand's, cached by op.
  bool keeps_operand_values(const egraph::EGraph& graph, egraph::OpId op);
  std::vector<std::optional<std::int64_t>> bounds_;  // by class id; meaningful at roots
  std::map<egraph::OpId, bool> keeps_operand_values_;
};

// Registers the analysis and returns it.
IndexDomainAnalysis& add_index_domain_analysis(egraph::EGraph& graph);

}  // namespace twin::check
