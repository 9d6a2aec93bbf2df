// The tensor backend: the one narrow interface through which Twin reaches libtorch.
//
// libtorch's static initializers cost about half a second, which every `twin --help` and
// `twin fmt` would pay if Twin linked it. So Twin's core (twin_ops and everything above it)
// does not link libtorch at all: the translation units that include ATen live in a separate
// module, libtwin_torch.so (ops/torch/), which ops/backend_loader.cpp dlopens the first time
// a tensor is needed. This header is all the two sides share; it includes no torch header.
//
// Division of labour:
//   - the core keeps the op registry (find_op, complete_attributes), checks operand counts,
//     completes attributes, validates arguments that need no tensor library (shapes of a
//     from_doubles, index bounds), and turns the handle API of ops/tensor.h into calls here;
//   - the backend only computes: it evaluates an op by its registered name with completed
//     attributes, so the module holds no copy of the registry (its static table exists only
//     in the main image).
//
// Invariants across the boundary:
//   - every Tensor the core passes to a backend function is defined and was made by this
//     backend (a TensorImpl only ever comes from the module, and only one module is loaded);
//   - the module is never unloaded, so the TensorImpl destructors and shared_ptr control
//     blocks it created stay valid for the life of the process;
//   - errors cross as C++ exceptions: ShapeError where operands or attributes do not fit
//     an op, std::invalid_argument for an op the backend cannot evaluate. Both sides are built
//     by the same compiler against the same libstdc++, which matches exception types by name,
//     so a ShapeError thrown in the module is caught as ShapeError in the core even though
//     each image has its own copy of its type_info;
//   - both sides are built from the same headers: kTensorBackendAbiVersion and
//     tensor_backend_layout() let the loader refuse a module built from other ones (a stale
//     build tree, a mismatched installation) before calling anything in it.
#pragma once

#include "ops/attributes.h"
#include "ops/op_spec.h"
#include "ops/tensor.h"
#include "ops/tensor_type.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace twin::ops {

// The backend's side of a Tensor handle (the module derives its own, holding an at::Tensor).
// Destroyed through this virtual destructor, wherever the last handle goes.
struct TensorImpl {
  virtual ~TensorImpl() = default;
};

// What a backend computes. The functions mirror ops/tensor.h, which documents their
// semantics; the core has already validated what it can (see the file comment).
class TensorBackend {
 public:
  // The tensor library behind it, e.g. "libtorch 1.13.1".
  virtual std::string version() const = 0;

  virtual Tensor from_doubles(const std::vector<double>& values, const std::vector<std::int64_t>& shape,
                              DType dtype) const = 0;  // values.size() is the shape's element count
  virtual Tensor scalar(double value, DType dtype) const = 0;
  virtual Tensor python_scalar(double value, bool integral) const = 0;
  virtual TensorType type(const Tensor& tensor) const = 0;
  virtual std::vector<double> to_doubles(const Tensor& tensor) const = 0;
  virtual Tensor to(const Tensor& tensor, DType dtype) const = 0;
  // index_bound is positive whenever domain is Index and the shape has elements.
  virtual Tensor random_tensor(const TensorType& type, const OperandDomain& domain, std::uint64_t seed,
                               std::int64_t index_bound) const = 0;

  // Whether evaluate knows op `name` (a registered name, never an alias).
  virtual bool evaluates(std::string_view name) const = 0;
  // Every op evaluate knows, sorted (tests/ops_registry_test.cpp: each is a registered op).
  virtual std::vector<std::string> op_names() const = 0;
  // Op `name` (registered name) on operands whose count fits its signature, with completed
  // attributes. `elementwise` is the registry's OpSpec::elementwise: python numbers in, a
  // python number out. `numerics`: whose kernels' rounding to reproduce (ops/tensor.h).
  virtual std::vector<Tensor> evaluate(std::string_view name, const std::vector<Tensor>& operands,
                                       const Attributes& attributes, bool elementwise, Numerics numerics) const = 0;

  // In float64; a and b have the same shape.
  virtual double l2_distance(const Tensor& a, const Tensor& b) const = 0;
  virtual double l2_norm(const Tensor& a) const = 0;
  virtual double max_abs_difference(const Tensor& a, const Tensor& b) const = 0;

 protected:
  ~TensorBackend() = default;  // a backend lives as long as its module, which is never unloaded
};

// Bump whenever TensorBackend, TensorImpl or TensorBackendModule change in any way (a
// function added, removed, reordered or re-typed): a module built before the change is then
// refused with a message instead of being called through a mismatched vtable.
inline constexpr std::uint32_t kTensorBackendAbiVersion = 3;

// A fingerprint of the layouts of the types passed by value or reference across the
// boundary: a safety net under kTensorBackendAbiVersion, not a replacement for bumping it. It
// catches a change that alters a size (a field added to AttrValue, OperandDomain or
// TensorType; the other std::string ABI), not one that only reorders fields.
constexpr std::uint32_t tensor_backend_layout() {
#ifdef _GLIBCXX_USE_CXX11_ABI
  constexpr std::size_t kStringAbi = _GLIBCXX_USE_CXX11_ABI;  // std::string's two layouts
#else
  constexpr std::size_t kStringAbi = 2;
#endif
  std::uint32_t h = 2166136261u;  // FNV-1a over the sizes and alignments
  for (std::size_t v : {sizeof(AttrValue), alignof(AttrValue), sizeof(Attributes), sizeof(Rational),
                        sizeof(TensorType), sizeof(OperandDomain), sizeof(Tensor), sizeof(std::string),
                        sizeof(std::vector<Tensor>), sizeof(DType), kStringAbi}) {
    h = (h ^ static_cast<std::uint32_t>(v)) * 16777619u;
  }
  return h;
}

}  // namespace twin::ops

// What the module's one exported function returns. A plain C struct: its first two fields
// keep their place in every version, so the loader can read them from any module, stale or
// not, before it trusts the rest.
struct TwinTensorBackendModule {
  std::uint32_t abi_version;  // the module's kTensorBackendAbiVersion
  const char* twin_version;   // the Twin version the module was built with, for messages
  std::uint32_t layout;       // the module's tensor_backend_layout()
  const twin::ops::TensorBackend* backend;
};

// The module's only exported symbol (ops/torch/exports.map), looked up by this name:
//   extern "C" const TwinTensorBackendModule* twin_tensor_backend_module();
inline constexpr const char* kTensorBackendEntryPoint = "twin_tensor_backend_module";
using TwinTensorBackendEntry = const TwinTensorBackendModule* (*)();
