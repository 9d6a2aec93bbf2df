// The static type of a tensor: element type and shape.
#pragma once

#include "ops/dtype.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace twin::ops {

struct TensorType {
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  // A Python number written in a rule or graph (`?x * 2`): rank 0, and, as in PyTorch, it
  // does not take part in dtype promotion against a tensor of the same category.
  bool python_scalar = false;

  std::int64_t rank() const { return static_cast<std::int64_t>(shape.size()); }
  std::int64_t numel() const;
  std::string to_string() const;  // "bf16[2, 8, 64]"; a rank-0 tensor is "f32[]"
  bool operator==(const TensorType&) const = default;
};

// Parses "bf16[2, 8, 64]" (spaces optional). nullopt if malformed.
std::optional<TensorType> parse_tensor_type(const std::string& text);

}  // namespace twin::ops
