// The Tensor handle API of ops/tensor.h, dispatched to the tensor backend (libtorch, in the
// module libtwin_torch.so that ops/backend_loader.cpp loads on first use). What needs no
// tensor library is done here, once, for every backend: argument checks, the registry lookup
// and attribute completion of evaluate, formatting.
#include "ops/tensor.h"

#include "ops/backend_loader.h"

#include <cctype>
#include <sstream>
#include <stdexcept>

namespace twin::ops {

namespace {

// Every backend call takes defined tensors only (ops/tensor_backend.h). A defined tensor was
// made by the backend, so this never loads it: an undefined one is reported as such.
const TensorBackend& backend_for(const Tensor& t) {
  if (!t.defined()) throw std::invalid_argument("undefined tensor");
  return tensor_backend();
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* what) {
  TensorType x = a.type(), y = b.type();
  if (x.shape != y.shape)
    throw std::invalid_argument(std::string(what) + ": shapes differ: " + x.to_string() + " vs " + y.to_string());
}

}  // namespace

Tensor Tensor::from_doubles(const std::vector<double>& values, const std::vector<std::int64_t>& shape, DType dtype) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  if (n != static_cast<std::int64_t>(values.size()))
    throw std::invalid_argument("from_doubles: " + std::to_string(values.size()) + " values for " +
                                std::to_string(n) + " elements");
  return tensor_backend().from_doubles(values, shape, dtype);
}

Tensor Tensor::scalar(double value, DType dtype) { return tensor_backend().scalar(value, dtype); }

Tensor Tensor::python_scalar(double value, bool integral) { return tensor_backend().python_scalar(value, integral); }

TensorType Tensor::type() const { return backend_for(*this).type(*this); }
std::vector<std::int64_t> Tensor::shape() const { return type().shape; }
DType Tensor::dtype() const { return type().dtype; }
std::int64_t Tensor::numel() const { return type().numel(); }
std::vector<double> Tensor::to_doubles() const { return backend_for(*this).to_doubles(*this); }
Tensor Tensor::to(DType dtype) const { return backend_for(*this).to(*this, dtype); }

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
  std::int64_t n = type.python_scalar ? 1 : type.numel();
  if (domain.kind == OperandDomain::Kind::Index && index_bound <= 0 && n > 0)
    throw std::invalid_argument("random_tensor: an Index domain needs a positive bound, got " +
                                std::to_string(index_bound));
  return tensor_backend().random_tensor(type, domain, seed, index_bound);
}

bool has_kernel(std::string_view name) {
  const OpSpec* spec = find_op(name);
  return spec && tensor_backend().evaluates(spec->name);
}

std::vector<std::string> kernel_names() { return tensor_backend().op_names(); }

namespace {
thread_local Numerics tls_numerics = Numerics::Libtorch;
}

Numerics numerics_for_torch_version(const std::string& version) {
  std::size_t digits = 0;
  while (digits < version.size() && std::isdigit(static_cast<unsigned char>(version[digits]))) ++digits;
  if (digits == 0 || digits > 4) return Numerics::Libtorch;
  return std::stoi(version.substr(0, digits)) >= 2 ? Numerics::PyTorch2 : Numerics::Libtorch;
}

Numerics current_numerics() { return tls_numerics; }
NumericsScope::NumericsScope(Numerics numerics) : saved_(tls_numerics) { tls_numerics = numerics; }
NumericsScope::~NumericsScope() { tls_numerics = saved_; }

std::vector<Tensor> evaluate(std::string_view name, const std::vector<Tensor>& operands, const Attributes& attributes) {
  const OpSpec* spec = find_op(name);
  if (!spec || !tensor_backend().evaluates(spec->name)) throw std::invalid_argument("unknown op: " + std::string(name));
  bool has_list = false;
  std::size_t required_count = 0;
  for (const auto& o : spec->operands) {
    has_list |= o.is_list;
    if (!o.optional) ++required_count;
  }
  if (!has_list && (operands.size() < required_count || operands.size() > spec->operands.size()))
    throw ShapeError(spec->name + ": expects " + std::to_string(required_count) + " to " +
                     std::to_string(spec->operands.size()) + " operands, got " + std::to_string(operands.size()));
  Attributes completed = complete_attributes(*spec, attributes);
  for (const Tensor& t : operands) backend_for(t);
  return tensor_backend().evaluate(spec->name, operands, completed, spec->elementwise, tls_numerics);
}

double l2_distance(const Tensor& a, const Tensor& b) {
  check_same_shape(a, b, "l2_distance");
  return tensor_backend().l2_distance(a, b);
}

double l2_norm(const Tensor& a) { return backend_for(a).l2_norm(a); }

double max_abs_difference(const Tensor& a, const Tensor& b) {
  check_same_shape(a, b, "max_abs_difference");
  return tensor_backend().max_abs_difference(a, b);
}

}  // namespace twin::ops
