// The sizes a captured file may record for one tensor: what the graph reader
// (capture/graph_reader.cpp) and the safetensors container (capture/safetensors.h) both admit
// before anything is allocated or multiplied further.
//
// A file is written by anyone, so a recorded shape is a claim, not a fact. Twin computes with
// recorded shapes (the lowering reads them, shape inference multiplies them, the runner
// compares against them), so each one is bounded first:
//   - the rank is at most kMaxRank (64; PyTorch's tensors have fewer dims than that);
//   - no size is negative;
//   - the element count and the byte count, computed with overflow checks, fit in a machine's
//     memory: at most kMaxTensorBytes (1 TiB, more than any machine Twin runs on holds in one
//     tensor; a recorded size past it is corrupt metadata, not a model).
// Once admitted, the product of any of its sizes (numel() included) cannot overflow an int64.
#pragma once

#include "ops/dtype.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace twin::capture {

inline constexpr std::size_t kMaxRank = 64;
inline constexpr std::uint64_t kMaxTensorBytes = std::uint64_t(1) << 40;

// The bytes one element of a Twin dtype takes in memory (bool: 1).
std::size_t element_bytes(ops::DType dtype);

// Why a tensor of `shape` with `element_size`-byte elements cannot be held in memory ("rank
// 10000 is more than 64", "[1099511627776] of 4-byte elements needs more than 1 TiB");
// nullopt when it can.
std::optional<std::string> implausible_size(const std::vector<std::int64_t>& shape, std::size_t element_size);

}  // namespace twin::capture
