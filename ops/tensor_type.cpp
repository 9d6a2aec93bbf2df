#include "ops/tensor_type.h"

#include <cctype>

namespace twin::ops {

std::int64_t TensorType::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape) n *= d;
  return n;
}

std::string TensorType::to_string() const {
  std::string out(dtype_name(dtype));
  out += "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::optional<TensorType> parse_tensor_type(const std::string& text) {
  std::size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  skip();
  std::size_t start = i;
  while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
  auto dtype = parse_dtype(std::string_view(text).substr(start, i - start));
  if (!dtype) return std::nullopt;
  skip();
  if (i >= text.size() || text[i] != '[') return std::nullopt;
  ++i;
  TensorType type;
  type.dtype = *dtype;
  skip();
  if (i < text.size() && text[i] == ']') {
    ++i;
  } else {
    while (true) {
      skip();
      std::size_t digits = i;
      std::int64_t value = 0;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (value > (INT64_MAX - 9) / 10) return std::nullopt;
        value = value * 10 + (text[i] - '0');
        ++i;
      }
      if (i == digits) return std::nullopt;
      type.shape.push_back(value);
      skip();
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      if (i < text.size() && text[i] == ']') {
        ++i;
        break;
      }
      return std::nullopt;
    }
  }
  skip();
  if (i != text.size()) return std::nullopt;
  return type;
}

}  // namespace twin::ops
