// Constant folding: the built-in e-class analysis that knows a class's exact value.
//
// Data per class: the constant (an interned Constant OpId) the class is known to equal,
// or nothing. A Constant leaf implies its value; an arithmetic node implies the folded
// value of its children's constants:
//   add sub mul div (binary), neg (unary), pow (integer exponent, |exponent| <= 256).
// Division by a zero constant and 0 to a negative power imply nothing (and never throw).
// All arithmetic is exact (Rational), so 1/3 + 1/6 folds to exactly 1/2.
//
// modify(): when a class gets a constant, the constant leaf is added and unioned with the
// class (justification "constant_fold", so explanations show the folding step), as egg's
// math example does. With `prune` (off by default; the egg benchmark turns it on, as egg's
// math.rs does) the class then keeps only its leaf nodes.
//
// Two different constants meeting in one class (the host unioned 1 and 2) is a
// contradiction: the data keeps the first value and `contradiction()` reports it.
#pragma once

#include "egraph/analysis.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin::egraph {

class ConstantFolding final : public Analysis {
 public:
  enum class Fold : std::int8_t { None, Add, Sub, Mul, Div, Neg, Pow };

  struct Options {
    // Operator name -> arithmetic; the names of Apply operators that fold.
    std::map<std::string, Fold> ops = {{"add", Fold::Add}, {"sub", Fold::Sub}, {"mul", Fold::Mul},
                                       {"div", Fold::Div}, {"neg", Fold::Neg}, {"pow", Fold::Pow}};
    bool prune = false;
  };

  ConstantFolding() = default;
  explicit ConstantFolding(Options options) : options_(std::move(options)) {}

  static constexpr std::string_view kName = "constant_folding";
  std::string_view name() const override { return kName; }
  std::unique_ptr<Analysis> clone() const override { return std::make_unique<ConstantFolding>(*this); }
  void grow(std::size_t n_ids) override { value_.resize(n_ids, kNone); }
  bool join_node(const EGraph& graph, EClassId cls, OpId op, std::span<const EClassId> children) override;
  MergeResult merge(EClassId into, EClassId from) override;
  void modify(EGraph& graph, EClassId cls) override;
  std::string describe(const EGraph& graph, EClassId cls) const override;

  // The Constant OpId class `cls` (any id; it is canonicalized) is known to equal.
  std::optional<OpId> constant_op(const EGraph& graph, EClassId cls) const;
  bool contradiction() const { return contradiction_; }
  const Options& options() const { return options_; }

  // What (op, children's constants) folds to, or nothing. Public so tests and explanation
  // replays can check a folding step.
  std::optional<Rational> fold(const OpTable& ops, OpId op, std::span<const Rational* const> args) const;

 private:
  static constexpr OpId kNone = 0xffffffffu;
  Fold fold_kind(const OpTable& ops, OpId op) const;

  Options options_;
  std::vector<OpId> value_;
  mutable std::vector<Fold> fold_by_op_;  // cache of fold_kind, indexed by OpId
  mutable std::vector<bool> fold_known_;
  bool contradiction_ = false;
};

}  // namespace twin::egraph
