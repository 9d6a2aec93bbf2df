#include "verify/pinned_instance.h"

#include "ops/tensor_type.h"
#include "verify/pattern_layout.h"

#include <algorithm>
#include <functional>
#include <map>

namespace twin::verify {

namespace {

using SE = egraph::ScalarExpr;

// The conjuncts `shape(?x) == "[...]"` and `?k == c` (either side first).
void collect_pins(const SE& g, std::map<std::string, ops::TensorType>& shapes, std::map<std::string, std::int64_t>& ints) {
  if (g.kind == SE::Kind::And) {
    for (const auto& a : g.args) collect_pins(a, shapes, ints);
    return;
  }
  if (g.kind != SE::Kind::Compare || g.compare != SE::CompareOp::Eq || g.args.size() != 2) return;
  for (int side = 0; side < 2; ++side) {
    const SE& a = g.args[side];
    const SE& b = g.args[1 - side];
    if (a.kind == SE::Kind::Query && a.text == "shape" && a.args.size() == 1 && a.args[0].kind == SE::Kind::PatternVar &&
        b.kind == SE::Kind::String)
      if (auto t = ops::parse_tensor_type("f32" + b.text)) shapes[a.args[0].text] = *t;
    if (a.kind == SE::Kind::PatternVar && b.kind == SE::Kind::Constant && is_integer(b.number))
      ints[a.text] = boost::multiprecision::numerator(b.number).convert_to<std::int64_t>();
  }
}

bool is_var_query(const SE& e, const char* query) {
  return e.kind == SE::Kind::Query && e.text == query && e.args.size() == 1 && e.args[0].kind == SE::Kind::PatternVar;
}

// The top-level equality conjuncts of a guard.
void equalities(const SE& g, std::vector<const SE*>& out) {
  if (g.kind == SE::Kind::And) {
    for (const auto& a : g.args) equalities(a, out);
    return;
  }
  if (g.kind == SE::Kind::Compare && g.compare == SE::CompareOp::Eq && g.args.size() == 2) out.push_back(&g);
}

}  // namespace

std::vector<std::vector<std::string>> equal_shape_groups(const std::optional<SE>& guard,
                                                         const std::vector<std::string>& tensors) {
  std::map<std::string, std::string> parent;
  for (const auto& t : tensors) parent[t] = t;
  std::function<std::string(const std::string&)> find = [&](const std::string& v) {
    return parent[v] == v ? v : parent[v] = find(parent[v]);
  };
  std::vector<const SE*> eqs;
  if (guard) equalities(*guard, eqs);
  for (const SE* e : eqs)
    if (is_var_query(e->args[0], "shape") && is_var_query(e->args[1], "shape")) {
      const std::string& a = e->args[0].args[0].text;
      const std::string& b = e->args[1].args[0].text;
      if (parent.count(a) && parent.count(b)) parent[find(a)] = find(b);
    }
  std::vector<std::vector<std::string>> groups;
  std::map<std::string, std::size_t> group_of;
  for (const auto& t : tensors) {
    auto [it, added] = group_of.emplace(find(t), groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(t);
  }
  return groups;
}

std::map<std::string, int> pinned_ranks(const std::optional<SE>& guard) {
  std::map<std::string, int> ranks;
  if (!guard) return ranks;
  std::vector<const SE*> eqs;
  equalities(*guard, eqs);
  std::vector<std::string> vars;
  for (const SE* e : eqs)
    for (int side = 0; side < 2; ++side) {
      const SE& a = e->args[side];
      const SE& b = e->args[1 - side];
      if (is_var_query(a, "rank") && b.kind == SE::Kind::Constant && is_integer(b.number) && b.number >= 0 && b.number <= 8)
        ranks[a.args[0].text] = boost::multiprecision::numerator(b.number).convert_to<int>();
      if (is_var_query(a, "shape")) vars.push_back(a.args[0].text);
    }
  for (const auto& group : equal_shape_groups(guard, vars)) {
    auto pinned = std::find_if(group.begin(), group.end(), [&](const std::string& v) { return ranks.count(v) > 0; });
    if (pinned == group.end()) continue;
    int rank = ranks[*pinned];
    for (const auto& v : group) ranks.emplace(v, rank);
  }
  return ranks;
}

std::optional<Z3Instance> pinned_instance(const std::optional<SE>& guard, const std::vector<std::string>& tensors,
                                          const std::vector<std::string>& integers) {
  if (!guard || tensors.empty()) return std::nullopt;
  std::map<std::string, ops::TensorType> shapes;
  std::map<std::string, std::int64_t> ints;
  collect_pins(*guard, shapes, ints);
  std::map<std::string, ops::DType> dtypes;
  collect_dtype_facts(*guard, dtypes);
  Z3Instance instance;
  for (const auto& name : tensors) {
    auto it = shapes.find(name);
    if (it == shapes.end()) return std::nullopt;
    ops::TensorType t = it->second;
    if (auto d = dtypes.find(name); d != dtypes.end()) t.dtype = d->second;
    instance.tensors[name] = t;
  }
  for (const auto& name : integers) {
    auto it = ints.find(name);
    if (it == ints.end()) return std::nullopt;
    instance.integers[name] = it->second;
  }
  return instance;
}

std::int64_t instance_elements(const Z3Instance& instance) {
  std::int64_t total = 0;
  for (const auto& [name, type] : instance.tensors) total += type.numel();
  return total;
}

}  // namespace twin::verify
