// ATen's reductions onto Twin's: mean, sum, amax, amin (dims, keepdim, an accumulation dtype),
// max/min over a dim (values and indices: amax and argmax) or over everything, argmax, the
// softmax family (_softmax's third argument is half_to_float, not a dtype), cumsum, and, written
// out in those, var/std (with their correction) and 2-norms.
#include "capture/aten/mapping_context.h"

namespace twin::capture {

namespace {

// The keepdim argument at `at`: false when absent; Unmappable when not a boolean.
bool keepdim_of(MappingContext& c, std::size_t at) {
  const AtenValue* k = c.arg(at, "keepdim");
  if (!k) return false;
  if (!k->is_bool()) throw Unmappable{"keepdim is not a boolean"};
  return k->bool_value();
}

void map_reduction(MappingContext& c) {
  const std::string& op = c.op();
  ops::Attributes at;
  if (auto d = c.arg(1, "dim")) {
    if (d->is_dtype()) at["dtype"] = dtype_attr(*dtype_of(d));  // sum(self, dtype=...)
    else at["dim"] = ints_attr(ints_of(d, "dim"));
  }
  if (c.arg(2, "keepdim")) at["keepdim"] = ops::AttrValue{keepdim_of(c, 2)};
  const bool extremum = op == "amax" || op == "amin";
  if (!extremum)
    if (auto dt = dtype_of(c.arg(3, "dtype"))) at["dtype"] = dtype_attr(*dt);
  if (extremum && !at.count("dim")) at["dim"] = ints_attr({});
  c.step(op, {c.tensor()}, at);
}

// max(x) / min(x): the greatest (least) element, amax over every dim. max(x, dim, keepdim) /
// min(...): the values (amax over that dim) and the indices (argmax). max(x, other) is the
// elementwise maximum, which Twin has no op for: opaque.
void map_max_min(MappingContext& c) {
  const bool least = c.op() == "min";
  GraphOperand x = c.tensor();
  const AtenValue* d = c.arg(1, "dim");
  if (!d || d->is_none()) {
    c.step(least ? "amin" : "amax", {x}, {{"dim", ints_attr({})}, {"keepdim", ops::AttrValue{false}}});
    return;
  }
  if (!d->is_int()) throw Unmappable{"max/min of two tensors (an elementwise maximum)"};
  const std::int64_t dim = int_of(d, "dim");
  const bool keepdim = keepdim_of(c, 2);
  c.require_outputs();
  c.result(c.step(least ? "amin" : "amax", {x}, {{"dim", ints_attr({dim})}, {"keepdim", ops::AttrValue{keepdim}}}));
  if (c.output_count() > 1)
    c.result(c.step(least ? "argmin" : "argmax", {x}, {{"dim", int_attr(dim)}, {"keepdim", ops::AttrValue{keepdim}}}));
}

// argmax(x, dim, keepdim) / argmin: over one dim; over the flattened tensor (no dim) stays opaque.
void map_arg_extremum(MappingContext& c) {
  const AtenValue* d = c.arg(1, "dim");
  if (!d || d->is_none()) throw Unmappable{"argmax over the flattened tensor"};
  c.step(c.op(), {c.tensor()}, {{"dim", int_attr(int_of(d, "dim"))}, {"keepdim", ops::AttrValue{keepdim_of(c, 2)}}});
}

// The reduced dims of var/std/norm: the `dim` argument at `at`, or every dim.
std::vector<std::int64_t> reduced_dims(MappingContext& c, GraphOperand x, std::size_t at) {
  if (auto d = c.arg(at, "dim"); d && !d->is_none()) return ints_of(d, "dim");
  std::vector<std::int64_t> all;
  for (std::size_t i = 0; i < c.type_of(x).rank(); ++i) all.push_back(static_cast<std::int64_t>(i));
  return all;
}

// var(x, dim, unbiased | correction, keepdim) and std (its square root): the mean of the
// squared deviations from the mean, times n / (n - correction) (unbiased: correction 1).
// Hand-written LayerNorms use `x.var(-1, unbiased=False)`.
void map_variance(MappingContext& c) {
  GraphOperand x = c.tensor();
  if (!ops::is_floating(c.type_of(x).dtype)) throw Unmappable{"var of a non-floating tensor"};
  std::vector<std::int64_t> dims = reduced_dims(c, x, 1);
  double correction = 1;
  if (auto u = c.arg(2, "unbiased"); u && u->is_bool()) correction = u->bool_value() ? 1 : 0;
  else if (auto k = c.call().kwargs.find("correction"); k != c.call().kwargs.end() && !k->second.is_none()) {
    if (!is_number(&k->second)) throw Unmappable{"var with a non-numeric correction"};
    correction = k->second.number();
  } else if (u && is_number(u)) {
    correction = u->number();  // var.correction positionally
  }
  const bool keepdim = keepdim_of(c, 3);
  std::int64_t n = 1;
  const auto& shape = c.type_of(x).shape;
  for (auto d : dims) {
    auto at = ops::normalize_dim(d, static_cast<std::int64_t>(shape.size()));
    if (!at) throw Unmappable{"var over a dim out of range"};
    n *= shape[static_cast<std::size_t>(*at)];
  }
  int mean = c.step("mean", {x}, {{"dim", ints_attr(dims)}, {"keepdim", ops::AttrValue{true}}});
  int deviation = c.step("sub", {x, step_result(mean)});
  int square = c.step("mul", {step_result(deviation), step_result(deviation)});
  int var = c.step("mean", {step_result(square)}, {{"dim", ints_attr(dims)}, {"keepdim", ops::AttrValue{keepdim}}});
  GraphOperand out = step_result(var);
  if (correction != 0) {
    if (n - correction <= 0) throw Unmappable{"var with no degrees of freedom"};
    out = step_result(c.step("mul", {out, scalar_operand(static_cast<double>(n) / (static_cast<double>(n) - correction), false)}));
  }
  if (c.op() == "std") c.step("sqrt", {out});
  else c.step("contiguous", {out});
}

// norm(x, p=2, dim, keepdim), linalg_vector_norm(x, ord=2, dim, keepdim) and
// frobenius_norm(x, dim, keepdim): the square root
// of the sum of squares (RMSNorms written with x.norm(...)). Other orders stay opaque.
void map_two_norm(MappingContext& c) {
  GraphOperand x = c.tensor();
  if (!ops::is_floating(c.type_of(x).dtype)) throw Unmappable{"norm of a non-floating tensor"};
  // frobenius_norm(x, dim, keepdim) has no order argument (x.norm() in TorchScript's trace).
  const std::size_t first = c.op() == "frobenius_norm" ? 1 : 2;
  if (first == 2) {
    const AtenValue* p = c.arg(1, c.op() == "norm" ? "p" : "ord");
    if (p && !p->is_none() && !(is_number(p) && p->number() == 2)) throw Unmappable{"a norm of order other than 2"};
  }
  if (c.arg(first + 2, "dtype")) throw Unmappable{"norm with a dtype"};
  std::vector<std::int64_t> dims = reduced_dims(c, x, first);
  int square = c.step("mul", {x, x});
  int sum = c.step("sum", {step_result(square)}, {{"dim", ints_attr(dims)}, {"keepdim", ops::AttrValue{keepdim_of(c, first + 1)}}});
  c.step("sqrt", {step_result(sum)});
}

void map_softmax(MappingContext& c) {
  const std::string& op = c.op();
  ops::Attributes at{{"dim", int_attr(int_of(c.arg(1, "dim"), "dim"))}};
  const AtenValue* d = op[0] == '_' ? nullptr : c.arg(2, "dtype");  // _softmax: half_to_float
  if (auto dt = dtype_of(d)) at["dtype"] = dtype_attr(*dt);
  c.step(op == "_softmax" ? "softmax" : op == "_log_softmax" ? "log_softmax" : op, {c.tensor()}, at);
}

void map_cumsum(MappingContext& c) {
  ops::Attributes at{{"dim", int_attr(int_of(c.arg(1, "dim"), "dim"))}};
  if (auto dt = dtype_of(c.arg(2, "dtype"))) at["dtype"] = dtype_attr(*dt);
  c.step("cumsum", {c.tensor()}, at);
}

}  // namespace

void register_reduction_mappings(std::vector<AtenMapping>& out) {
  add_mapping(out, {"mean"}, {"mean"}, map_reduction);
  add_mapping(out, {"sum"}, {"sum"}, map_reduction);
  add_mapping(out, {"amax"}, {"amax"}, map_reduction);
  add_mapping(out, {"amin"}, {"amin"}, map_reduction);
  add_mapping(out, {"max"}, {"amax", "argmax"}, map_max_min);
  add_mapping(out, {"min"}, {"amin", "argmin"}, map_max_min);
  add_mapping(out, {"argmax", "argmin"}, {"argmax", "argmin"}, map_arg_extremum);
  add_mapping(out, {"softmax", "_softmax"}, {"softmax"}, map_softmax);
  add_mapping(out, {"log_softmax", "_log_softmax"}, {"log_softmax"}, map_softmax);
  add_mapping(out, {"cumsum"}, {"cumsum"}, map_cumsum);
  add_mapping(out, {"var", "std"}, {"mean", "sub", "mul", "sqrt", "contiguous"}, map_variance);
  add_mapping(out, {"norm", "linalg_vector_norm", "frobenius_norm"}, {"mul", "sum", "sqrt"}, map_two_norm);
}

}  // namespace twin::capture
