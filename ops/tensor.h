// Tensor values, evaluated through libtorch. A Tensor is a cheap shared handle; this header
// does not include <torch/torch.h>, and Twin's core does not link libtorch: these functions
// dispatch to the tensor backend (ops/tensor_backend.h), a module loaded the first time a
// tensor is needed (ops/backend_loader.h). If it cannot be loaded they throw twin::Error.
#pragma once

#include "ops/attributes.h"
#include "ops/op_spec.h"
#include "ops/tensor_type.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace twin::ops {

struct TensorImpl;  // the backend's tensor (ops/tensor_backend.h)

class Tensor {
 public:
  Tensor() = default;
  static Tensor from_doubles(const std::vector<double>& values, const std::vector<std::int64_t>& shape, DType dtype);
  static Tensor scalar(double value, DType dtype);  // a rank-0 tensor (takes part in promotion)
  // A python number as PyTorch wraps it (`x * 2`): rank 0, type().python_scalar is true, and
  // it does not promote a tensor of its category. Its type reports f32 (i64 when integral).
  static Tensor python_scalar(double value, bool integral = false);

  bool defined() const { return impl_ != nullptr; }
  TensorType type() const;
  std::vector<std::int64_t> shape() const;
  DType dtype() const;
  std::int64_t numel() const;
  std::vector<double> to_doubles() const;  // row-major
  Tensor to(DType dtype) const;
  std::string to_string(std::int64_t max_elements = 32) const;

  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Random values of `type` drawn from `domain` (see OperandDomain), reproducible from `seed`
// (the same seed gives the same bits on every run). Floating types: Any is standard normal,
// Positive uniform in [0.1, 4], NonZero a random sign times uniform in [0.5, 4]; integer
// types: Any in [-8, 8), Positive in [1, 8), NonZero +-[1, 8). Index: integers in
// [0, index_bound) (resolve the bound with ops::index_bound). BoolMask: fair coin flips (cast
// to `type.dtype`). A python_scalar type gives a python scalar.
Tensor random_tensor(const TensorType& type, const OperandDomain& domain, std::uint64_t seed,
                     std::int64_t index_bound = 0);

// Whose CPU kernels' rounding an evaluation reproduces. The values agree in real arithmetic;
// the last bits differ, and a replay within 1e-6 (f32) or 1e-2 (bf16) needs the right ones.
//   - Libtorch: the linked libtorch's own kernels (Debian's 1.13: reference BLAS for f32
//     products, a bf16 matmul rounded in between, bf16 elementwise ops rounded per step).
//     The numerics of graphs captured with torch 1.x, replayed bit for bit.
//   - PyTorch2: what PyTorch 2's CPU wheels compute. f32 products (linear, matmul, bmm)
//     accumulate each output along the contraction in order, with fused multiply-adds (MKL's
//     kernels); bf16/f16 products, elementwise ops (opmath) and layer_norm compute in f32 and
//     round once to the result's dtype. The numerics of graphs captured with torch >= 2.
// scaled_dot_product_attention has one evaluation (PyTorch 2's CPU kernel) in both: torch 1.x
// has no such op.
enum class Numerics { Libtorch, PyTorch2 };

// The numerics of a graph captured with this torch version ("2.11.0", "1.13.1+cpu"): PyTorch2
// from major version 2 on, else (and for an unknown version) Libtorch.
Numerics numerics_for_torch_version(const std::string& version);

// The numerics evaluate uses on this thread: Libtorch unless a NumericsScope says otherwise.
Numerics current_numerics();
class NumericsScope {
 public:
  explicit NumericsScope(Numerics numerics);
  ~NumericsScope();
  NumericsScope(const NumericsScope&) = delete;
  NumericsScope& operator=(const NumericsScope&) = delete;

 private:
  Numerics saved_;
};

// Evaluates op `name` on operands (list operands flattened in place) through libtorch, with
// the same ATen functions PyTorch calls, in the operands' dtypes (bf16 stays bf16), rounded
// as current_numerics() says.
// Attributes are completed with complete_attributes. Throws ShapeError for operands or
// attributes libtorch (or the signature) rejects, std::invalid_argument for unknown ops.
// split and chunk return several tensors, every other op one.
std::vector<Tensor> evaluate(std::string_view name, const std::vector<Tensor>& operands, const Attributes& attributes);
// Whether the libtorch backend has a kernel for the op registered as `name` (an alias counts as
// its op). tests/ops_registry_test.cpp checks that every registered op has one.
bool has_kernel(std::string_view name);
// The names the backend's kernel table holds, sorted: each must be a registered op.
std::vector<std::string> kernel_names();

// ||a - b||_2, ||a||_2, max |a - b|, computed in float64 whatever the dtypes. a and b must have
// the same shape (std::invalid_argument otherwise).
double l2_distance(const Tensor& a, const Tensor& b);
double l2_norm(const Tensor& a);
double max_abs_difference(const Tensor& a, const Tensor& b);

}  // namespace twin::ops
