#include "egraph/constant_folding.h"

#include "egraph/egraph.h"

#include <boost/multiprecision/cpp_int.hpp>

namespace twin::egraph {

namespace {
constexpr long kMaxExponent = 256;
}

ConstantFolding::Fold ConstantFolding::fold_kind(const OpTable& ops, OpId op) const {
  if (op >= fold_by_op_.size()) {
    fold_by_op_.resize(ops.size(), Fold::None);
    fold_known_.resize(ops.size(), false);
  }
  if (!fold_known_[op]) {
    const OpInfo& info = ops.info(op);
    Fold kind = Fold::None;
    if (info.kind == OpKind::Apply) {
      if (auto it = options_.ops.find(info.name); it != options_.ops.end()) {
        std::uint32_t want = it->second == Fold::Neg ? 1 : 2;
        if (info.arity == want) kind = it->second;
      }
    }
    fold_by_op_[op] = kind;
    fold_known_[op] = true;
  }
  return fold_by_op_[op];
}

std::optional<Rational> ConstantFolding::fold(const OpTable& ops, OpId op,
                                              std::span<const Rational* const> args) const {
  switch (fold_kind(ops, op)) {
    case Fold::None:
      return std::nullopt;
    case Fold::Add:
      return *args[0] + *args[1];
    case Fold::Sub:
      return *args[0] - *args[1];
    case Fold::Mul:
      return *args[0] * *args[1];
    case Fold::Div:
      if (*args[1] == 0) return std::nullopt;
      return *args[0] / *args[1];
    case Fold::Neg:
      return -*args[0];
    case Fold::Pow: {
      const Rational& base = *args[0];
      const Rational& exponent = *args[1];
      if (!is_integer(exponent)) return std::nullopt;
      BigInt e = boost::multiprecision::numerator(exponent);
      if (e > kMaxExponent || e < -kMaxExponent) return std::nullopt;
      long n = e.convert_to<long>();
      if (base == 0 && n < 0) return std::nullopt;
      Rational result = 1;
      Rational factor = n < 0 ? Rational(1 / base) : base;
      for (long k = n < 0 ? -n : n; k > 0; k >>= 1) {
        if (k & 1) result *= factor;
        if (k > 1) factor *= factor;
      }
      return result;
    }
  }
  return std::nullopt;
}

bool ConstantFolding::join_node(const EGraph& graph, EClassId cls, OpId op, std::span<const EClassId> children) {
  const OpTable& ops = graph.ops();
  OpId implied = kNone;
  if (ops.kind(op) == OpKind::Constant) {
    implied = op;
  } else if (!children.empty() && children.size() <= 2 && fold_kind(ops, op) != Fold::None) {
    const Rational* args[2];
    for (std::size_t i = 0; i < children.size(); ++i) {
      OpId c = value_[graph.find(children[i])];
      if (c == kNone) return false;
      args[i] = &ops.info(c).constant;
    }
    auto folded = fold(ops, op, std::span<const Rational* const>(args, children.size()));
    if (!folded) return false;
    implied = graph.ops().intern_constant(*folded);
  }
  if (implied == kNone) return false;
  OpId& mine = value_[cls];
  if (mine == kNone) {
    mine = implied;
    return true;
  }
  if (mine != implied) contradiction_ = true;
  return false;
}

MergeResult ConstantFolding::merge(EClassId into, EClassId from) {
  OpId& a = value_[into];
  OpId b = value_[from];
  if (a == kNone && b != kNone) {
    a = b;
    return {true, false};
  }
  if (a != kNone && b == kNone) return {false, true};
  if (a != b) contradiction_ = true;
  return {false, false};
}

void ConstantFolding::modify(EGraph& graph, EClassId cls) {
  OpId value = value_[graph.find(cls)];
  if (value == kNone) return;
  const std::uint32_t why = graph.intern_justification("constant_fold");
  if (graph.has_op(cls, value)) {
    if (options_.prune) graph.prune_to_leaves(cls);
    return;
  }
  if (!graph.explanations_enabled()) {
    EClassId leaf = graph.add(value);
    graph.union_justified(cls, leaf, Justification{why, false});
  } else {
    // Explanations show the folding as one step on a ground term, e.g. (add 1 2) -> 3:
    // find a node of the class that folds to `value`, add that ground term (its existence
    // is explained by congruence with the node) and union it with the leaf.
    const OpTable& ops = graph.ops();
    EClassId source = kNoClass;
    std::vector<EClassId> ground;
    for (NodeId n : graph.nodes_of(graph.find(cls))) {
      OpId op = graph.node_op(n);
      auto children = graph.node_children(n);
      if (children.empty() || fold_kind(ops, op) == Fold::None) continue;
      ground.clear();
      const Rational* args[2];
      bool ok = children.size() <= 2;
      for (std::size_t i = 0; ok && i < children.size(); ++i) {
        OpId c = value_[graph.find(children[i])];
        if (c == kNone) ok = false;
        else {
          args[i] = &ops.info(c).constant;
          ground.push_back(c);
        }
      }
      if (!ok) continue;
      auto folded = fold(ops, op, std::span<const Rational* const>(args, children.size()));
      if (!folded || ops.find_constant(*folded) != value) continue;
      std::vector<EClassId> leaf_ids;
      for (OpId c : ground) leaf_ids.push_back(graph.add(c));
      source = graph.add(op, leaf_ids);
      break;
    }
    EClassId leaf = graph.add(value);
    graph.union_justified(source == kNoClass ? cls : source, leaf, Justification{why, false});
  }
  if (options_.prune) graph.prune_to_leaves(cls);
}

std::optional<OpId> ConstantFolding::constant_op(const EGraph& graph, EClassId cls) const {
  OpId v = value_[graph.find(cls)];
  if (v == kNone) return std::nullopt;
  return v;
}

std::string ConstantFolding::describe(const EGraph& graph, EClassId cls) const {
  OpId v = value_[graph.find(cls)];
  return v == kNone ? std::string() : "= " + graph.ops().display(v);
}

}  // namespace twin::egraph
