#include "egraph/pattern.h"

#include <algorithm>

namespace twin::egraph {

namespace {
void collect_variables(const Pattern& p, std::vector<std::string>& out) {
  if (p.is_var()) {
    if (std::find(out.begin(), out.end(), p.var) == out.end()) out.push_back(p.var);
    return;
  }
  for (const Pattern& c : p.children) collect_variables(c, out);
}
}  // namespace

std::vector<std::string> Pattern::variables() const {
  std::vector<std::string> out;
  collect_variables(*this, out);
  return out;
}

std::size_t Pattern::node_count() const {
  if (is_var()) return 0;
  std::size_t n = 1;
  for (const Pattern& c : children) n += c.node_count();
  return n;
}

std::string Pattern::to_string(const OpTable& ops) const {
  if (is_var()) return "?" + var;
  if (children.empty() && ops.is_leaf(op)) return ops.display(op);
  std::string out = "(" + ops.display(op);
  for (const Pattern& c : children) out += " " + c.to_string(ops);
  return out + ")";
}

Pattern Pattern::from_expr(const RecExpr& expr) { return from_expr(expr, expr.root()); }

Pattern Pattern::from_expr(const RecExpr& expr, EClassId index) {
  const ENode& n = expr[index];
  std::vector<Pattern> children;
  children.reserve(n.children.size());
  for (EClassId c : n.children) children.push_back(from_expr(expr, c));
  return Node(n.op, std::move(children));
}

}  // namespace twin::egraph
