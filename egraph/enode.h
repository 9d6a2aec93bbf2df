// E-nodes and RecExprs: how terms are written down outside the e-graph.
//
// An ENode is an operator applied to child e-classes: (OpId, children). Inside the e-graph
// nodes live in a compact table (see egraph.h); this value type is what the API hands in
// and out.
//
// A RecExpr is a term written as a flat vector of nodes whose children index *earlier*
// entries of the same vector (like egg's RecExpr); the last entry is the root. It is how
// terms are added to an e-graph and how extraction and explanations return terms.
// Invariant: for every node at position i, every child index is < i.
#pragma once

#include "egraph/op_table.h"

#include <cstdint>
#include <string>
#include <vector>

namespace twin::egraph {

using EClassId = std::uint32_t;
inline constexpr EClassId kNoClass = 0xffffffffu;

struct ENode {
  OpId op = 0;
  std::vector<EClassId> children;  // class ids; in a RecExpr, indices of earlier entries

  bool operator==(const ENode&) const = default;
  auto operator<=>(const ENode&) const = default;
};

class RecExpr {
 public:
  // Appends a node whose children index earlier entries; returns its index.
  // Throws std::out_of_range when a child does not index an earlier entry.
  EClassId add(OpId op, std::vector<EClassId> children = {});
  EClassId add(ENode node) { return add(node.op, std::move(node.children)); }

  const std::vector<ENode>& nodes() const { return nodes_; }
  const ENode& operator[](EClassId i) const { return nodes_[i]; }
  std::size_t size() const { return nodes_.size(); }
  bool empty() const { return nodes_.empty(); }
  EClassId root() const { return static_cast<EClassId>(nodes_.size() - 1); }

  // S-expression text of the subterm at `index` (default: the root): `(add x 1)`.
  std::string to_string(const OpTable& ops) const;
  std::string to_string(const OpTable& ops, EClassId index) const;

  bool operator==(const RecExpr&) const = default;

 private:
  std::vector<ENode> nodes_;
};

}  // namespace twin::egraph
