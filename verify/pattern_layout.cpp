#include "verify/pattern_layout.h"

#include "ops/dtype.h"

#include "ops/op_spec.h"

#include <algorithm>
#include <set>

namespace twin::verify {

namespace eg = twin::egraph;

NodeLayout layout_of(const eg::OpTable& ops, const eg::Pattern& node) {
  const eg::OpInfo& info = ops.info(node.op);
  if (node.is_var() || info.kind != eg::OpKind::Apply)
    throw LayoutError(node.is_var() ? "?" + node.var : info.name, "not an applied op", false);
  NodeLayout layout;
  std::vector<std::string> attr_order;
  const ops::OpSpec* spec = ops::find_op(info.name);
  if (!spec) throw LayoutError(info.name, "unknown op", true);
  layout.operand_slots = static_cast<int>(spec->operands.size());
  for (const auto& a : spec->attributes) attr_order.push_back(a.name);
  std::size_t n = node.children.size();
  std::size_t positional = n - std::min(n, info.attr_names.size());
  std::set<std::string> named(info.attr_names.begin(), info.attr_names.end());
  std::size_t next_attr = 0;
  layout.child_attr.assign(n, "");
  for (std::size_t i = 0; i < n; ++i) {
    if (i >= positional) {
      layout.child_attr[i] = info.attr_names[i - positional];
      continue;
    }
    const eg::Pattern& c = node.children[i];
    bool dtype_leaf = !c.is_var() && ops.kind(c.op) == eg::OpKind::Symbol && ops::parse_dtype(ops.info(c.op).name);
    if (static_cast<int>(i) < layout.operand_slots && !dtype_leaf) continue;
    while (next_attr < attr_order.size() && named.count(attr_order[next_attr])) ++next_attr;
    if (next_attr >= attr_order.size()) {
      if (dtype_leaf) {
        layout.child_attr[i] = "dtype";
        continue;
      }
      throw LayoutError(info.name, "more arguments than the op takes", false);
    }
    layout.child_attr[i] = attr_order[next_attr++];
  }
  return layout;
}

std::int64_t attribute_integer(const egraph::OpTable& ops, const egraph::Pattern& p,
                               const std::map<std::string, std::int64_t>& integers) {
  if (p.is_var()) {
    auto it = integers.find(p.var);
    if (it == integers.end()) throw std::invalid_argument("?" + p.var + " is not an integer variable");
    return it->second;
  }
  const egraph::OpInfo& info = ops.info(p.op);
  if (info.kind == egraph::OpKind::Constant && is_integer(info.constant))
    return boost::multiprecision::numerator(info.constant).convert_to<std::int64_t>();
  if (info.kind == egraph::OpKind::Apply && info.name == "neg" && p.children.size() == 1)
    return -attribute_integer(ops, p.children[0], integers);
  throw std::invalid_argument("expected an integer attribute, got " + p.to_string(ops));
}

ops::AttrValue attribute_value(const egraph::OpTable& ops, const egraph::Pattern& p,
                               const std::map<std::string, std::int64_t>& integers) {
  if (p.is_var()) return ops::AttrValue::of_int(attribute_integer(ops, p, integers));
  const egraph::OpInfo& info = ops.info(p.op);
  switch (info.kind) {
    case egraph::OpKind::Constant: return ops::AttrValue{info.constant};
    case egraph::OpKind::String: return ops::AttrValue{info.name};
    case egraph::OpKind::Symbol:
      if (info.name == "true" || info.name == "false") return ops::AttrValue{info.name == "true"};
      if (info.name == "none" || info.name == "None") return ops::AttrValue{};
      if (auto d = ops::parse_dtype(info.name)) return ops::AttrValue{*d};
      return ops::AttrValue{info.name};
    case egraph::OpKind::Apply:
      if (info.name == "list") {
        std::vector<std::int64_t> v;
        for (const auto& c : p.children) v.push_back(attribute_integer(ops, c, integers));
        return ops::AttrValue{v};
      }
      if (info.name == "neg") return ops::AttrValue::of_int(attribute_integer(ops, p, integers));
      throw std::invalid_argument("an op in an attribute position: " + p.to_string(ops));
  }
  return {};
}

void collect_dtype_facts(const egraph::ScalarExpr& g, std::map<std::string, ops::DType>& out) {
  using SE = egraph::ScalarExpr;
  if (g.kind == SE::Kind::And) {
    for (const auto& a : g.args) collect_dtype_facts(a, out);
    return;
  }
  if (g.kind != SE::Kind::Compare || g.compare != SE::CompareOp::Eq || g.args.size() != 2) return;
  for (int side = 0; side < 2; ++side) {
    const SE& q = g.args[side];
    const SE& v = g.args[1 - side];
    if (q.kind == SE::Kind::Query && q.text == "dtype" && q.args.size() == 1 && q.args[0].kind == SE::Kind::PatternVar &&
        (v.kind == SE::Kind::String || v.kind == SE::Kind::PatternVar))
      if (auto d = ops::parse_dtype(v.text)) out[q.args[0].text] = *d;
  }
}

}  // namespace twin::verify
