// The op registry: every tensor op Twin knows is declared once, here, with its signature
// (tensor operands, attributes with defaults), its aliases, its shape and dtype inference, the
// input domain random testing draws from, and how rules over it are validated. The backends
// register against these entries from their own layers, keyed by the op's registered name:
//   - evaluation through libtorch (ops/torch/torch_ops.cpp, in the backend module behind the
//     Tensor handle: ops/tensor_backend.h);
//   - the Z3 encoding (verify/, one file per op family), required when validation is Symbolic;
//   - the ATen mapping that turns captured nodes into these ops (capture/).
// tests/ops_registry_test.cpp enumerates the registry and fails when an op lacks a backend its
// validation kind requires, or when a backend's table names an op that is not registered.
// docs/ops.md's table is `twin ops --markdown`, and a test keeps them the same.
//
// Conventions (PyTorch's): dims may be negative (-1 is the last); binary elementwise ops
// broadcast; `linear(x, w[, b])` is x @ w^T + b with w of shape [out, in]; `cast(x, dtype)`
// takes the dtype as its trailing child, the attribute `dtype`; `cat` and `stack` take one list
// operand. See docs/ops.md for the table of every op, its attributes and their defaults.
#pragma once

#include "ops/attributes.h"
#include "ops/tensor_type.h"

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace twin::ops {

// Thrown by shape inference when operands do not fit the op (message says why).
class ShapeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class AttrKind { Int, Float, Bool, String, DType, Ints };
// The kind's name as stdlib/ops.rules declares it and `twin ops` prints it: "int", "float",
// "bool", "str", "dtype", "ints".
const char* attr_kind_name(AttrKind kind);

struct AttrSpec {
  std::string name;
  AttrKind kind = AttrKind::Int;
  std::optional<AttrValue> default_value;  // nullopt: required
};

struct OperandSpec {
  std::string name;
  bool is_list = false;  // cat, stack: a list of tensors
  bool optional = false; // linear's bias
};

// The values random testing may draw for an operand.
struct OperandDomain {
  enum class Kind {
    Any,        // any finite value
    Positive,   // > 0 (rsqrt, log, sqrt, pow's base with a fractional exponent)
    NonZero,    // != 0 (div's divisor)
    Index,      // integers in [0, bound): bound = dim `bound_dim` of operand `bound_operand`
    BoolMask,   // booleans
  } kind = Kind::Any;
  int bound_operand = -1;
  std::int64_t bound_dim = 0;
  // When set, the bound dim is this (integer) attribute's value instead of bound_dim
  // (index_select's `dim`).
  std::string bound_dim_attr;
};

// How rules over an op are validated (verify/rule_verifier.h).
enum class Validation {
  Symbolic,    // Z3 over concrete shapes: the op must have a Z3 encoding
  RandomOnly,  // constraint-aware random testing only (gathers, data-dependent indexing)
};

enum class OpFamily { Elementwise, Reduction, LinearAlgebra, Layout, Other };
const char* family_name(OpFamily family);  // "elementwise", "reduction", ...

// The canonical form of lowered graphs (check/graph_lowering.h), declared with each op so a
// new op brings its own. After its attributes are completed and its result type inferred,
// `canonicalize` rewrites the attributes so that equal calls are written alike (a dim counted
// from the end, a transpose's two dims in order, a slice's bounds resolved); `is_identity`
// says whether the call returns its first operand unchanged (a cast to its own dtype, a
// reshape to its own shape, contiguous), so the lowering does not add it. Both throw
// ShapeError for a dim out of range. Each is a definition, not a rule: both spellings denote
// the same value.
using CanonicalizeFn =
    std::function<void(const std::vector<TensorType>& operands, const TensorType& result, Attributes& attributes)>;
using IdentityFn =
    std::function<bool(const std::vector<TensorType>& operands, const TensorType& result, const Attributes& attributes)>;

struct OpSpec {
  std::string name;
  OpFamily family = OpFamily::Other;  // set by the registry from the file that registers it
  // Other names rules and graphs may use for this op (`view` for reshape); the registry
  // resolves them, and the compiler's canonical form uses `name`.
  std::vector<std::string> aliases;
  std::string summary;  // one line for docs/ops.md and `twin ops`
  std::vector<OperandSpec> operands;
  std::vector<AttrSpec> attributes;
  // Output types from operand types (list operands flattened in place) and attributes.
  // Most ops have one output; split and chunk have several. Throws ShapeError.
  std::function<std::vector<TensorType>(const std::vector<TensorType>&, const Attributes&)> infer;
  std::vector<OperandDomain> domains;  // per operand (empty: Any for all)
  Validation validation = Validation::Symbolic;
  // Elementwise arithmetic: the result at each position depends only on the operands at that
  // position (after broadcasting). Python numbers in, a python number out.
  bool elementwise = false;
  // split, chunk, topk, sort: the result is a tuple of tensors (even of one), read with getitem.
  bool multi_output = false;
  // split and chunk: each output is a slice of the input along `dim`, consecutive (graph
  // lowering writes them as slices).
  bool outputs_are_slices = false;
  bool commutative = false;  // f(a, b) = f(b, a) for two operands (add, mul)
  // Each result element depends only on the operand elements at its position: elementwise
  // arithmetic, casts, copies (contiguous, clone, detach). Set for every elementwise op.
  bool per_element = false;
  // The result is the first operand's elements moved or copied, values and dtype kept
  // (reshape, transpose, squeeze, expand, contiguous...): what holds of the operand's values
  // (an index domain, a mask) holds of the result's.
  bool rearranges = false;
  // Every result element is an element of an operand, bit for bit: slices, gathers,
  // concatenations, repeats, `where` (and every op that `rearranges`). A value computed only
  // by such ops from stored tensors holds the stored bits (check/tensor_values.h).
  bool copies_values = false;
  // Ops a port writes by mistake in this one's place (sum for mean, tril for triu): the
  // mutations bench/mutants derives, and the near misses a gap diagnosis may name.
  std::vector<std::string> confusable;
  CanonicalizeFn canonicalize;  // may be empty: the attributes are canonical as completed
  IdentityFn is_identity;       // may be empty: never an identity
};

// The op registered under `name` or under one of its aliases; nullptr when none is.
const OpSpec* find_op(std::string_view name);
// Every registered op, in registration order (by family: elementwise, reductions, linear
// algebra, layout, others).
const std::vector<OpSpec>& all_ops();
const char* validation_name(Validation validation);  // "symbolic", "random only"

// Fills in default attribute values and checks kinds; throws ShapeError naming the problem.
// Conversions: an Ints attribute accepts one integer (`dim=-1` -> [-1]); a DType attribute
// accepts a dtype name string; a Float attribute accepts "inf", "-inf" and "nan" strings.
// An attribute whose default is none (monostate) is optional and may be given as none.
Attributes complete_attributes(const OpSpec& spec, const Attributes& given);

// The bound of the Index domain of operand `operand` (dim bound_dim or the attribute
// bound_dim_attr of operand bound_operand). Throws ShapeError when it does not resolve.
std::int64_t index_bound(const OpSpec& spec, std::size_t operand, const std::vector<TensorType>& operands,
                         const Attributes& attributes);

// PyTorch's result_type over operands: dimensioned tensors beat zero-dim tensors, which beat
// python scalars, unless a lower group is of a higher category (bool < integer < floating).
// A python float scalar counts as the default dtype f32, a python int as i64.
DType result_type(const std::vector<TensorType>& operands);
// PyTorch's broadcasting of two shapes; throws ShapeError when they do not broadcast.
std::vector<std::int64_t> broadcast_shapes(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b);
// The type of a python number written in a rule: f32 (or i64 when `integral`), rank 0.
TensorType python_scalar_type(bool integral);
// Whether a number written in a rule or a graph is a python int: an integer int64 holds.
// Twin's numbers are exact, so `-3.4028234663852886e38` (torch.finfo(torch.float32).min written
// out) is an integer too large for int64, which PyTorch cannot hold as one: it is a float.
bool integral_number(const Rational& value);

// A number's value or a special float spelled as a string ("inf", "-inf", "nan").
double attribute_double(const AttrValue& value);

}  // namespace twin::ops
