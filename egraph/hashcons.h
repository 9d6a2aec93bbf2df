// The hash-cons (egg's "memo"): canonical e-node -> node id.
//
// An open-addressing table with linear probing and backward-shift deletion (no tombstones).
// It stores (hash, node id) pairs only; the caller supplies equality, because the node's
// operator and children live in the e-graph's node table. The hash is deterministic (no
// per-process seed, no pointers), so iteration-free uses of the table behave the same in
// every run.
//
// Invariant (kept by the e-graph): every live node is stored exactly once, under the hash
// of its children as they were when it was (re)inserted. A node whose children are
// canonicalized is erased under its old hash and reinserted under the new one.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace twin::egraph {

inline std::uint32_t hash_enode(std::uint32_t op, std::span<const std::uint32_t> children) {
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ (static_cast<std::uint64_t>(op) * 0xff51afd7ed558ccdull);
  for (std::uint32_t c : children) {
    h = (h ^ c) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
  }
  h ^= h >> 32;
  return static_cast<std::uint32_t>(h);
}

class HashCons {
 public:
  static constexpr std::uint32_t kEmpty = 0xffffffffu;

  std::size_t size() const { return size_; }

  template <class Equal>
  std::uint32_t find(std::uint32_t hash, Equal&& equal) const {
    if (slots_.empty()) return kEmpty;
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.node == kEmpty) return kEmpty;
      if (s.hash == hash && equal(s.node)) return s.node;
    }
  }

  void insert(std::uint32_t hash, std::uint32_t node) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();  // load factor <= 3/4
    place(hash, node);
    ++size_;
  }

  // Removes the entry for `node` stored under `hash`; returns false if it is not there.
  bool erase(std::uint32_t hash, std::uint32_t node) {
    if (slots_.empty()) return false;
    std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
      if (slots_[i].node == kEmpty) return false;
      if (slots_[i].node == node) break;
    }
    // Backward-shift: pull later entries of the probe run into the hole.
    std::size_t hole = i;
    for (std::size_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
      if (slots_[j].node == kEmpty) break;
      std::size_t home = slots_[j].hash & mask;
      bool movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --size_;
    return true;
  }

  void clear() {
    slots_.clear();
    size_ = 0;
  }

 private:
  struct Slot {
    std::uint32_t hash = 0;
    std::uint32_t node = kEmpty;
  };
  void place(std::uint32_t hash, std::uint32_t node) {
    std::size_t mask = slots_.size() - 1;
    std::size_t i = hash & mask;
    while (slots_[i].node != kEmpty) i = (i + 1) & mask;
    slots_[i] = Slot{hash, node};
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    for (const Slot& s : old)
      if (s.node != kEmpty) place(s.hash, s.node);
  }

  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace twin::egraph
