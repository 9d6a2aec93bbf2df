#include "egraph/enode.h"

#include <stdexcept>

namespace twin::egraph {

EClassId RecExpr::add(OpId op, std::vector<EClassId> children) {
  for (EClassId c : children)
    if (c >= nodes_.size()) throw std::out_of_range("RecExpr child does not index an earlier node");
  nodes_.push_back(ENode{op, std::move(children)});
  return static_cast<EClassId>(nodes_.size() - 1);
}

std::string RecExpr::to_string(const OpTable& ops) const {
  if (nodes_.empty()) return "()";
  return to_string(ops, root());
}

std::string RecExpr::to_string(const OpTable& ops, EClassId index) const {
  const ENode& node = nodes_[index];
  if (node.children.empty() && ops.is_leaf(node.op)) return ops.display(node.op);
  std::string out = "(" + ops.display(node.op);
  for (EClassId c : node.children) out += " " + to_string(ops, c);
  return out + ")";
}

}  // namespace twin::egraph
