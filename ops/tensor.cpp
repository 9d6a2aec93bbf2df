// Tensor handles over libtorch: construction, conversion, reproducible random inputs that
// honor op domains, and float64 distances.
#include "ops/tensor_impl.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cstring>
#include <sstream>
#include <stdexcept>

namespace twin::ops {

namespace detail {

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

}  // namespace detail

using namespace detail;

Tensor Tensor::from_doubles(const std::vector<double>& values, const std::vector<std::int64_t>& shape, DType dtype) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  if (n != static_cast<std::int64_t>(values.size()))
    throw std::invalid_argument("from_doubles: " + std::to_string(values.size()) + " values for " +
                                std::to_string(n) + " elements");
  at::Tensor t = at::empty({n}, at::kDouble);
  if (n) std::memcpy(t.data_ptr<double>(), values.data(), sizeof(double) * values.size());
  return wrap(t.reshape(shape).to(to_scalar_type(dtype)));
}

Tensor Tensor::scalar(double value, DType dtype) { return wrap(at::scalar_tensor(value, to_scalar_type(dtype))); }

Tensor Tensor::python_scalar(double value, bool integral) { return wrap(wrapped_number(value, integral)); }

TensorType Tensor::type() const {
  const at::Tensor& t = unwrap(*this);
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

std::vector<std::int64_t> Tensor::shape() const { return unwrap(*this).sizes().vec(); }
DType Tensor::dtype() const { return type().dtype; }
std::int64_t Tensor::numel() const { return unwrap(*this).numel(); }

std::vector<double> Tensor::to_doubles() const {
  at::Tensor t = unwrap(*this).to(at::kDouble).contiguous();
  const double* p = t.data_ptr<double>();
  return std::vector<double>(p, p + t.numel());
}

Tensor Tensor::to(DType dtype) const { return wrap(unwrap(*this).to(to_scalar_type(dtype))); }

std::string Tensor::to_string(std::int64_t max_elements) const {
  std::ostringstream out;
  out << type().to_string() << " [";
  auto values = to_doubles();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (static_cast<std::int64_t>(i) >= max_elements) {
      out << ", ...";
      break;
    }
    out << (i ? ", " : "") << values[i];
  }
  out << "]";
  return out.str();
}

Tensor random_tensor(const TensorType& type, const OperandDomain& domain, std::uint64_t seed, std::int64_t index_bound) {
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
    case Kind::Index: {
      std::int64_t n = 1;
      for (auto d : shape) n *= d;
      if (index_bound <= 0 && n > 0)
        throw std::invalid_argument("random_tensor: an Index domain needs a positive bound, got " +
                                    std::to_string(index_bound));
      t = at::randint(0, std::max<std::int64_t>(index_bound, 1), shape, gen, i64);
      break;
    }
    case Kind::BoolMask:
      t = at::rand(shape, gen, f32) < 0.5;
      break;
  }
  if (type.python_scalar) {
    bool integral = !floating;
    return Tensor::python_scalar(t.item<double>(), integral);
  }
  return wrap(t.to(to_scalar_type(type.dtype)));
}

namespace {
std::pair<at::Tensor, at::Tensor> as_f64_pair(const Tensor& a, const Tensor& b, const char* what) {
  const at::Tensor &x = unwrap(a), &y = unwrap(b);
  if (x.sizes() != y.sizes())
    throw std::invalid_argument(std::string(what) + ": shapes differ: " + a.type().to_string() + " vs " +
                                b.type().to_string());
  return {x.to(at::kDouble), y.to(at::kDouble)};
}
}  // namespace

double l2_distance(const Tensor& a, const Tensor& b) {
  auto [x, y] = as_f64_pair(a, b, "l2_distance");
  return (x - y).norm().item<double>();
}

double l2_norm(const Tensor& a) { return unwrap(a).to(at::kDouble).norm().item<double>(); }

double max_abs_difference(const Tensor& a, const Tensor& b) {
  auto [x, y] = as_f64_pair(a, b, "max_abs_difference");
  if (x.numel() == 0) return 0.0;
  return (x - y).abs().max().item<double>();
}

}  // namespace twin::ops
