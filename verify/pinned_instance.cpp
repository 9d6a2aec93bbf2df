#include "verify/pinned_instance.h"

#include "ops/tensor_type.h"
#include "verify/pattern_layout.h"

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

}  // namespace

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
