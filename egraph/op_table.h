// Operators: the vocabulary of an e-graph.
//
// Every e-node is a pair (OpId, children). An OpId names one interned operator:
//   - Apply:    an applied operator, identified by (name, arity), e.g. `add`/2, or
//               `slice`/4 whose last three children are the attributes [dim, start, end].
//               Attributes are ordinary trailing children; the table only records their
//               names so printers and the interpreter can show `dim=-1`.
//               A list operand (`cat([a, b], dim=-1)`) is the Apply op `list` of arity n.
//   - Symbol:   a leaf naming a variable such as `x`.
//   - Constant: a leaf holding an exact Rational.
//   - String:   a leaf holding a string such as "tanh".
// Each distinct leaf is its own 0-ary operator (as egg's SymbolLang does), so the e-graph
// core never looks inside a leaf: equal leaves are equal OpIds.
//
// Invariants:
//   - OpIds are dense, assigned in interning order, and never change or disappear; the
//     same sequence of intern calls yields the same ids in every process.
//   - info(id) stays valid (same address) for the table's lifetime.
//   - One table is shared (std::shared_ptr) by all e-graphs of one interpreter, so terms
//     can move between e-graphs without translation.
// Later kinds (e.g. TensorSymbol: name + dtype + shape) are new OpKind values with their own
// payload fields in OpInfo and their own intern_* function; nothing here assumes the list
// of kinds is closed except the printer's switch.
#pragma once

#include "util/rational.h"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace twin::egraph {

using OpId = std::uint32_t;

enum class OpKind : std::uint8_t { Apply, Symbol, Constant, String };

struct OpInfo {
  OpKind kind = OpKind::Apply;
  std::string name;                     // Apply: operator name; Symbol: the symbol; String: the text
  std::uint32_t arity = 0;              // 0 for every leaf
  std::vector<std::string> attr_names;  // Apply only: names of the trailing attribute children
  Rational constant = 0;                // Constant only

  bool is_leaf() const { return kind != OpKind::Apply; }
};

class OpTable {
 public:
  // Interning is idempotent. An applied operator is identified by its name, its arity and
  // its attribute names: sum(x, dim=0) and sum(x, keepdim=true) are different operators, as
  // are f(x, y) and f(x, a=y). intern_apply throws std::invalid_argument when there are more
  // attribute names than children.
  OpId intern_apply(std::string_view name, std::uint32_t arity,
                    const std::vector<std::string>& attr_names = {});
  OpId intern_symbol(std::string_view name);
  OpId intern_constant(const Rational& value);
  OpId intern_string(std::string_view text);

  std::optional<OpId> find_apply(std::string_view name, std::uint32_t arity,
                                 const std::vector<std::string>& attr_names = {}) const;
  std::optional<OpId> find_symbol(std::string_view name) const;
  std::optional<OpId> find_constant(const Rational& value) const;
  std::optional<OpId> find_string(std::string_view text) const;

  const OpInfo& info(OpId id) const { return infos_[id]; }
  OpKind kind(OpId id) const { return infos_[id].kind; }
  std::uint32_t arity(OpId id) const { return infos_[id].arity; }
  bool is_leaf(OpId id) const { return infos_[id].is_leaf(); }
  std::size_t size() const { return infos_.size(); }

  // How the operator prints in s-expressions: `add`, `x`, `-1/3`, `"tanh"`.
  std::string display(OpId id) const;

 private:
  struct RationalHash {
    std::size_t operator()(const Rational& r) const { return stable_hash(r); }
  };
  OpId push(OpInfo info);

  std::deque<OpInfo> infos_;
  // Key: name, arity, attribute names.
  std::map<std::tuple<std::string, std::uint32_t, std::vector<std::string>>, OpId> applies_;
  std::map<std::string, OpId, std::less<>> symbols_;
  std::map<std::string, OpId, std::less<>> strings_;
  std::unordered_map<Rational, OpId, RationalHash> constants_;
};

}  // namespace twin::egraph
