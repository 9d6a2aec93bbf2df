#include "ops/dtype.h"

namespace twin::ops {

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::F64: return "f64";
    case DType::I64: return "i64";
    case DType::I32: return "i32";
    case DType::Bool: return "bool";
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
  if (name == "f32" || name == "float32" || name == "float") return DType::F32;
  if (name == "f16" || name == "float16" || name == "half") return DType::F16;
  if (name == "bf16" || name == "bfloat16") return DType::BF16;
  if (name == "f64" || name == "float64" || name == "double") return DType::F64;
  if (name == "i64" || name == "int64" || name == "long") return DType::I64;
  if (name == "i32" || name == "int32" || name == "int") return DType::I32;
  if (name == "bool") return DType::Bool;
  return std::nullopt;
}

bool is_floating(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 || dtype == DType::F64;
}

int mantissa_bits(DType dtype) {
  switch (dtype) {
    case DType::F64: return 53;
    case DType::F32: return 24;
    case DType::F16: return 11;
    case DType::BF16: return 8;
    default: return 0;
  }
}

DType promote(DType a, DType b) {
  if (a == b) return a;
  auto rank = [](DType d) {
    switch (d) {
      case DType::Bool: return 0;
      case DType::I32: return 1;
      case DType::I64: return 2;
      case DType::BF16: return 3;
      case DType::F16: return 3;
      case DType::F32: return 5;
      case DType::F64: return 6;
    }
    return 0;
  };
  // bf16 with f16 promotes to f32, as in PyTorch.
  if ((a == DType::BF16 && b == DType::F16) || (a == DType::F16 && b == DType::BF16)) return DType::F32;
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace twin::ops
