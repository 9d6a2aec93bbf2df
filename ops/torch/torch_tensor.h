// Internal to the libtorch backend module (ops/torch/): the libtorch side of a Tensor handle.
// Only the module's translation units include this header (it pulls in ATen, ~20 s each).
//
// Every TensorImpl in the process is a TorchTensor: this module is the only backend, and the
// core passes back only handles it made (ops/tensor_backend.h), so unwrap's static_cast is
// safe.
#pragma once

#include "ops/tensor_backend.h"

#include <ATen/ATen.h>

#include <stdexcept>

namespace twin::ops::torch_backend {

struct TorchTensor final : TensorImpl {
  explicit TorchTensor(at::Tensor t) : tensor(std::move(t)) {}
  at::Tensor tensor;
};

at::ScalarType to_scalar_type(DType dtype);
DType from_scalar_type(at::ScalarType type);  // throws std::invalid_argument for other types
inline Tensor wrap(at::Tensor t) { return Tensor(std::make_shared<TorchTensor>(std::move(t))); }
inline const at::Tensor& unwrap(const Tensor& t) {
  if (!t.defined()) throw std::invalid_argument("undefined tensor");
  return static_cast<const TorchTensor&>(*t.impl()).tensor;
}
// A 0-dim tensor marked as a wrapped number: PyTorch's python scalar (f64 or i64 inside).
at::Tensor wrapped_number(double value, bool integral);

// The op table (torch_ops.cpp): TensorBackend::evaluates and TensorBackend::evaluate.
bool has_op(std::string_view name);
std::vector<std::string> op_names();
std::vector<Tensor> evaluate_op(std::string_view name, const std::vector<Tensor>& operands,
                                const Attributes& attributes, bool elementwise, Numerics numerics);

}  // namespace twin::ops::torch_backend
