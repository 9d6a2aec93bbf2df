// The size limits of a recorded tensor: every product is checked against the limit before it
// is formed, so no shape, however large its sizes, overflows here.
#include "capture/tensor_limits.h"

namespace twin::capture {

std::size_t element_bytes(ops::DType dtype) {
  switch (dtype) {
    case ops::DType::F64: case ops::DType::I64: return 8;
    case ops::DType::F32: case ops::DType::I32: return 4;
    case ops::DType::F16: case ops::DType::BF16: return 2;
    case ops::DType::Bool: return 1;
  }
  return 8;  // unreachable: every dtype is listed; the widest is the safe answer
}

std::optional<std::string> implausible_size(const std::vector<std::int64_t>& shape, std::size_t element_size) {
  if (shape.size() > kMaxRank)
    return "rank " + std::to_string(shape.size()) + " is more than " + std::to_string(kMaxRank);
  auto text = [&] {
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
  };
  for (std::int64_t d : shape)
    if (d < 0) return "shape " + text() + " has a negative size";
  // The product skips zero sizes: an empty tensor holds nothing, but [0, 2^62, 2^62] would still
  // overflow a numel() that multiplies in order. bytes <= kMaxTensorBytes before each
  // multiplication, so bytes * size cannot overflow once the division admits it.
  std::uint64_t bytes = element_size == 0 ? 1 : element_size;
  for (std::int64_t d : shape) {
    auto size = static_cast<std::uint64_t>(d);
    if (size == 0) continue;
    if (size > kMaxTensorBytes / bytes)
      return "shape " + text() + " of " + std::to_string(element_size) + "-byte elements needs more than " +
             std::to_string(kMaxTensorBytes >> 40) + " TiB";
    bytes *= size;
  }
  return std::nullopt;
}

}  // namespace twin::capture
