// Internal to ops/: how each concept file registers its OpSpecs, and the shape helpers they
// share. registry.cpp calls every register_* function once, in a fixed order (explicit calls,
// not static registrars, which a static library's linker may drop).
#pragma once

#include "ops/op_spec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace twin::ops::detail {

void register_elementwise_ops(std::vector<OpSpec>& out);
void register_reduction_ops(std::vector<OpSpec>& out);
void register_linear_algebra_ops(std::vector<OpSpec>& out);
void register_layout_ops(std::vector<OpSpec>& out);
void register_other_ops(std::vector<OpSpec>& out);

using Shape = std::vector<std::int64_t>;
using Types = std::vector<TensorType>;
using InferFn = std::function<Types(const Types&, const Attributes&)>;

[[noreturn]] void fail(const std::string& op, const std::string& why);

// PyTorch's maybe_wrap_dim: a rank-0 tensor accepts dims -1 and 0.
std::int64_t wrap_dim(const std::string& op, std::int64_t dim, std::int64_t rank);
std::string shape_string(const Shape& shape);

TensorType tensor(DType dtype, Shape shape);

// Attribute accessors for completed attributes (see complete_attributes), in
// attribute_access.cpp: the tensor backend module (ops/torch/) uses them too.
bool has_attr(const Attributes& a, const std::string& name);  // present and not none
std::int64_t attr_int(const Attributes& a, const std::string& name);
std::optional<std::int64_t> attr_opt_int(const Attributes& a, const std::string& name);
Shape attr_ints(const Attributes& a, const std::string& name);
std::optional<Shape> attr_opt_ints(const Attributes& a, const std::string& name);
bool attr_bool(const Attributes& a, const std::string& name);
std::string attr_string(const Attributes& a, const std::string& name);
DType attr_dtype(const Attributes& a, const std::string& name);
std::optional<DType> attr_opt_dtype(const Attributes& a, const std::string& name);
double attr_double(const Attributes& a, const std::string& name);

// The canonical graph form's pieces (OpSpec::canonicalize, OpSpec::is_identity).
// Each named int attribute (when not none) counted from the end of the first operand's rank,
// or of the result's (unsqueeze, stack): dim=1 of a rank-3 tensor is dim=-2.
CanonicalizeFn dims_from_end(std::vector<std::string> names, bool of_result = false);
// An `ints` attribute (when not none) counted from the end and sorted (reductions).
CanonicalizeFn sorted_dims_from_end(std::string name);
// Two dims counted from the end and put in increasing order (transpose).
CanonicalizeFn ordered_dims_from_end(std::string first, std::string second);
// An `ints` shape attribute replaced by the result's shape (reshape, expand: no -1 left).
CanonicalizeFn shape_from_result(std::string name);
// A `dtype` attribute that changes nothing (softmax(x, dtype=f32) of an f32 x, sum of an i64
// with dtype=i64) is set to none: `infer` gives the same result type without it.
CanonicalizeFn redundant_dtype(InferFn infer);
// Each piece in turn.
CanonicalizeFn all_of(std::vector<CanonicalizeFn> pieces);
IdentityFn same_shape();   // the result has the first operand's shape (and dtype)
IdentityFn same_dtype();   // the result has the first operand's dtype (cast)
IdentityFn always();       // contiguous, clone, detach
IdentityFn equal_attributes(std::string first, std::string second);  // transpose(x, d, d)

// Spec building shorthands.
OperandSpec operand(std::string name, bool optional = false);
OperandSpec list_operand(std::string name);
AttrSpec required(std::string name, AttrKind kind);
AttrSpec with_default(std::string name, AttrKind kind, AttrValue value);
AttrSpec optional_attr(std::string name, AttrKind kind);  // default none
AttrValue int_value(std::int64_t v);
AttrValue bool_value(bool b);
AttrValue string_value(std::string s);

}  // namespace twin::ops::detail
