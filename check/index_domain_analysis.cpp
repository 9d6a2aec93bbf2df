// Index domains as an e-class analysis (index_domain_analysis.h).
#include "check/index_domain_analysis.h"

#include "ops/op_spec.h"

#include <string>

namespace twin::check {

namespace eg = twin::egraph;

bool IndexDomainAnalysis::tighten(std::optional<std::int64_t>& slot, std::int64_t bound) {
  if (slot && *slot <= bound) return false;
  slot = bound;
  return true;
}

bool IndexDomainAnalysis::join_node(const eg::EGraph& graph, eg::EClassId cls, eg::OpId op,
                                    std::span<const eg::EClassId> children) {
  if (children.empty()) return false;
  // Most nodes have no bounded operand: look at the operand before the op's spec.
  const eg::EClassId operand = graph.find(children[0]);
  if (operand >= bounds_.size() || !bounds_[operand]) return false;
  if (!keeps_operand_values(graph, op)) return false;
  return tighten(bounds_[cls], *bounds_[operand]);
}

bool IndexDomainAnalysis::keeps_operand_values(const eg::EGraph& graph, eg::OpId op) {
  if (auto it = keeps_operand_values_.find(op); it != keeps_operand_values_.end()) return it->second;
  const eg::OpInfo& info = graph.ops().info(op);
  const ops::OpSpec* spec = info.kind == eg::OpKind::Apply ? ops::find_op(info.name) : nullptr;
  // A view moves its operand's elements; an op that copies values and takes one operand
  // (slice, select, repeat, repeat_interleave) keeps a subset of them. cat and stack take one
  // operand too, a list, whose class never has a bound; getitem's is a tuple, likewise.
  return keeps_operand_values_[op] = spec && (spec->rearranges || (spec->copies_values && spec->operands.size() == 1));
}

eg::MergeResult IndexDomainAnalysis::merge(eg::EClassId into, eg::EClassId from) {
  eg::MergeResult r;
  const std::optional<std::int64_t> b = bounds_[from];
  if (b) r.into_changed = tighten(bounds_[into], *b);
  r.from_changed = bounds_[into] != b;
  return r;
}

std::string IndexDomainAnalysis::describe(const eg::EGraph& graph, eg::EClassId cls) const {
  auto b = index_bound(graph, cls);
  return b ? "< " + std::to_string(*b) : std::string();
}

void IndexDomainAnalysis::bound_class(const eg::EGraph& graph, eg::EClassId cls, std::int64_t bound) {
  const eg::EClassId root = graph.find(cls);
  if (root >= bounds_.size()) bounds_.resize(root + 1);
  tighten(bounds_[root], bound);
}

std::optional<std::int64_t> IndexDomainAnalysis::index_bound(const eg::EGraph& graph, eg::EClassId cls) const {
  const eg::EClassId root = graph.find(cls);
  return root < bounds_.size() ? bounds_[root] : std::nullopt;
}

IndexDomainAnalysis& add_index_domain_analysis(eg::EGraph& graph) {
  auto analysis = std::make_unique<IndexDomainAnalysis>();
  IndexDomainAnalysis& ref = *analysis;
  graph.add_analysis(std::move(analysis));
  return ref;
}

}  // namespace twin::check
