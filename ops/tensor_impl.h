// Internal to ops/: the libtorch side of a Tensor handle. Only tensor.cpp and evaluate.cpp
// include this header (it pulls in ATen, ~20 s per translation unit).
#pragma once

#include "ops/tensor.h"

#include <ATen/ATen.h>

namespace twin::ops {

struct TensorImpl {
  at::Tensor tensor;
};

namespace detail {

at::ScalarType to_scalar_type(DType dtype);
DType from_scalar_type(at::ScalarType type);  // throws std::invalid_argument for other types
inline Tensor wrap(at::Tensor t) { return Tensor(std::make_shared<TensorImpl>(TensorImpl{std::move(t)})); }
inline const at::Tensor& unwrap(const Tensor& t) {
  if (!t.defined()) throw std::invalid_argument("undefined tensor");
  return t.impl()->tensor;
}
// A 0-dim tensor marked as a wrapped number: PyTorch's python scalar (f64 or i64 inside).
at::Tensor wrapped_number(double value, bool integral);

}  // namespace detail
}  // namespace twin::ops
