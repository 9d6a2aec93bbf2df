// The libtorch tensor backend: the module libtwin_torch.so's TensorBackend (construction,
// conversion, reproducible random inputs that honor op domains, float64 distances; the op
// table is torch_ops.cpp) and its one exported entry point.
#include "ops/torch/torch_tensor.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/version.h>

#include <cstring>

#ifndef TWIN_VERSION
#define TWIN_VERSION "?"
#endif

namespace twin::ops::torch_backend {

at::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return at::kFloat;
    case DType::F16: return at::kHalf;
    case DType::BF16: return at::kBFloat16;
    case DType::F64: return at::kDouble;
    case DType::I64: return at::kLong;
    case DType::I32: return at::kInt;
    case DType::Bool: return at::kBool;
  }
  return at::kFloat;
}

DType from_scalar_type(at::ScalarType type) {
  switch (type) {
    case at::kFloat: return DType::F32;
    case at::kHalf: return DType::F16;
    case at::kBFloat16: return DType::BF16;
    case at::kDouble: return DType::F64;
    case at::kLong: return DType::I64;
    case at::kInt: return DType::I32;
    case at::kBool: return DType::Bool;
    default: throw std::invalid_argument(std::string("unsupported tensor dtype ") + c10::toString(type));
  }
}

at::Tensor wrapped_number(double value, bool integral) {
  at::Tensor t = integral ? at::scalar_tensor(static_cast<std::int64_t>(value), at::kLong)
                          : at::scalar_tensor(value, at::kDouble);
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

namespace {

class TorchBackend final : public TensorBackend {
 public:
  std::string version() const override { return std::string("libtorch ") + TORCH_VERSION; }

  Tensor from_doubles(const std::vector<double>& values, const std::vector<std::int64_t>& shape,
                      DType dtype) const override {
    auto n = static_cast<std::int64_t>(values.size());
    at::Tensor t = at::empty({n}, at::kDouble);
    if (n) std::memcpy(t.data_ptr<double>(), values.data(), sizeof(double) * values.size());
    return wrap(t.reshape(shape).to(to_scalar_type(dtype)));
  }

  Tensor scalar(double value, DType dtype) const override { return wrap(at::scalar_tensor(value, to_scalar_type(dtype))); }

  Tensor python_scalar(double value, bool integral) const override { return wrap(wrapped_number(value, integral)); }

  TensorType type(const Tensor& tensor) const override {
    const at::Tensor& t = unwrap(tensor);
    TensorType type;
    type.shape = t.sizes().vec();
    type.dtype = from_scalar_type(t.scalar_type());
    if (t.unsafeGetTensorImpl()->is_wrapped_number()) {
      type.python_scalar = true;
      if (is_floating(type.dtype)) type.dtype = DType::F32;
      else if (type.dtype != DType::Bool) type.dtype = DType::I64;
    }
    return type;
  }

  std::vector<double> to_doubles(const Tensor& tensor) const override {
    at::Tensor t = unwrap(tensor).to(at::kDouble).contiguous();
    const double* p = t.data_ptr<double>();
    return std::vector<double>(p, p + t.numel());
  }

  Tensor to(const Tensor& tensor, DType dtype) const override { return wrap(unwrap(tensor).to(to_scalar_type(dtype))); }

  Tensor random_tensor(const TensorType& type, const OperandDomain& domain, std::uint64_t seed,
                       std::int64_t index_bound) const override {
    using Kind = OperandDomain::Kind;
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::vector<std::int64_t> shape = type.python_scalar ? std::vector<std::int64_t>{} : type.shape;
    bool floating = is_floating(type.dtype);
    auto f32 = at::TensorOptions().dtype(at::kFloat);
    auto i64 = at::TensorOptions().dtype(at::kLong);
    at::Tensor t;
    switch (domain.kind) {
      case Kind::Any:
        if (type.dtype == DType::Bool) t = at::rand(shape, gen, f32) < 0.5;
        else t = floating ? at::randn(shape, gen, f32) : at::randint(-8, 8, shape, gen, i64);
        break;
      case Kind::Positive:
        t = floating ? at::rand(shape, gen, f32) * 3.9 + 0.1 : at::randint(1, 8, shape, gen, i64);
        break;
      case Kind::NonZero: {
        at::Tensor magnitude = floating ? at::rand(shape, gen, f32) * 3.5 + 0.5 : at::randint(1, 8, shape, gen, i64);
        at::Tensor sign = at::randint(0, 2, shape, gen, i64) * 2 - 1;
        t = magnitude * sign;
        break;
      }
      case Kind::Index:
        t = at::randint(0, std::max<std::int64_t>(index_bound, 1), shape, gen, i64);
        break;
      case Kind::BoolMask:
        t = at::rand(shape, gen, f32) < 0.5;
        break;
    }
    if (type.python_scalar) return python_scalar(t.item<double>(), !floating);
    return wrap(t.to(to_scalar_type(type.dtype)));
  }

  bool evaluates(std::string_view name) const override { return has_op(name); }
  std::vector<std::string> op_names() const override { return torch_backend::op_names(); }

  std::vector<Tensor> evaluate(std::string_view name, const std::vector<Tensor>& operands,
                               const Attributes& attributes, bool elementwise, Numerics numerics) const override {
    return evaluate_op(name, operands, attributes, elementwise, numerics);
  }

  double l2_distance(const Tensor& a, const Tensor& b) const override {
    return (unwrap(a).to(at::kDouble) - unwrap(b).to(at::kDouble)).norm().item<double>();
  }

  double l2_norm(const Tensor& a) const override { return unwrap(a).to(at::kDouble).norm().item<double>(); }

  double max_abs_difference(const Tensor& a, const Tensor& b) const override {
    const at::Tensor& x = unwrap(a);
    if (x.numel() == 0) return 0.0;
    return (x.to(at::kDouble) - unwrap(b).to(at::kDouble)).abs().max().item<double>();
  }
};

}  // namespace
}  // namespace twin::ops::torch_backend

// The module's only exported symbol (exports.map keeps every other one local, so nothing in
// here can interpose on, or be interposed by, the main image's copies of the shared helpers).
extern "C" __attribute__((visibility("default"))) const TwinTensorBackendModule* twin_tensor_backend_module() {
  static const twin::ops::torch_backend::TorchBackend backend;
  static const TwinTensorBackendModule module{twin::ops::kTensorBackendAbiVersion, TWIN_VERSION,
                                              twin::ops::tensor_backend_layout(), &backend};
  return &module;
}
