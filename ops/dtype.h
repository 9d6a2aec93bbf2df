// Element types of tensors, named as the language names them: f32 f16 bf16 f64 i64 i32 bool.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace twin::ops {

enum class DType { F32, F16, BF16, F64, I64, I32, Bool };

std::string_view dtype_name(DType dtype);                  // "bf16"
std::optional<DType> parse_dtype(std::string_view name);   // "bf16" -> BF16; also torch names "bfloat16", "float32"
bool is_floating(DType dtype);
// Bits of mantissa precision (fraction bits + 1): f64 53, f32 24, bf16 8, f16 11; integers 0.
int mantissa_bits(DType dtype);
// The result type of a binary op on these operand types (PyTorch's type promotion for tensors
// of the same category; floating beats integer; wider beats narrower).
DType promote(DType a, DType b);

}  // namespace twin::ops
