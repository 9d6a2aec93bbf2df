// The op vocabulary of Llama-family graphs: for each op, its signature (tensor operands and
// attributes), its shape and dtype inference, and the input domain random testing draws from.
// Evaluation through libtorch lives in evaluate.h (behind the Tensor handle); Z3 encodings
// live in verify/. All three are keyed by the op's name.
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

struct OpSpec {
  std::string name;
  std::vector<OperandSpec> operands;
  std::vector<AttrSpec> attributes;
  // Output types from operand types (list operands flattened in place) and attributes.
  // Most ops have one output; split and chunk have several. Throws ShapeError.
  std::function<std::vector<TensorType>(const std::vector<TensorType>&, const Attributes&)> infer;
  std::vector<OperandDomain> domains;  // per operand (empty: Any for all)
  // True for ops whose result is exactly representable in real arithmetic from Z3's point of
  // view (informational; verify/ decides by its own table).
  bool elementwise = false;
  // split and chunk: the result is a tuple of tensors (even of one), read with getitem.
  bool multi_output = false;
};

const OpSpec* find_op(std::string_view name);
const std::vector<OpSpec>& all_ops();

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

// A number's value or a special float spelled as a string ("inf", "-inf", "nan").
double attribute_double(const AttrValue& value);

}  // namespace twin::ops
