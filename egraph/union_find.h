// Union-find over e-class ids.
//
// Invariants: ids are dense and created in order by make_set(); a root is its own parent;
// link(root, other_root) makes the *first* argument the root, so the caller (the e-graph)
// decides which id survives, deterministically. find() never allocates; find_compress()
// halves paths as it walks.
#pragma once

#include <cstdint>
#include <vector>

namespace twin::egraph {

class UnionFind {
 public:
  std::uint32_t make_set() {
    parent_.push_back(static_cast<std::uint32_t>(parent_.size()));
    return parent_.back();
  }
  std::uint32_t find(std::uint32_t id) const {
    while (parent_[id] != id) id = parent_[id];
    return id;
  }
  std::uint32_t find_compress(std::uint32_t id) {
    while (parent_[id] != id) {
      parent_[id] = parent_[parent_[id]];
      id = parent_[id];
    }
    return id;
  }
  // Both arguments must be roots.
  void link(std::uint32_t root, std::uint32_t child) { parent_[child] = root; }
  std::size_t size() const { return parent_.size(); }

 private:
  std::vector<std::uint32_t> parent_;
};

}  // namespace twin::egraph
