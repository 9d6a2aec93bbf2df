// Reductions: sum mean amax amin over `dim` (one dim or a list; none or [] reduces every
// dim), with `keepdim`; argmax and argmin, the index of the first greatest (least) element
// along one `dim` (i64); softmax and log_softmax along one `dim`, optionally computing in `dtype`;
// cumsum, the running sum along one `dim`.
#include "ops/op_registration.h"

#include <map>
#include <set>

namespace twin::ops::detail {

namespace {

// The shape of reducing `dims` (empty: all) of `shape`.
Shape reduce_shape(const std::string& op, const Shape& shape, const Shape& dims, bool keepdim) {
  std::int64_t rank = static_cast<std::int64_t>(shape.size());
  std::set<std::int64_t> reduced;
  for (std::int64_t d : dims) {
    std::int64_t w = wrap_dim(op, d, rank);
    if (!reduced.insert(w).second) fail(op, "dim " + std::to_string(w) + " appears multiple times in the list of dims");
  }
  if (rank == 0) return {};
  Shape out;
  for (std::int64_t i = 0; i < rank; ++i) {
    bool r = dims.empty() || reduced.count(i);
    if (!r) out.push_back(shape[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

OpSpec reduction(const std::string& name) {
  OpSpec s;
  s.name = name;
  s.operands = {operand("input")};
  if (name == "amax" || name == "amin") {
    s.attributes = {with_default("dim", AttrKind::Ints, AttrValue{std::vector<std::int64_t>{}}),
                    with_default("keepdim", AttrKind::Bool, bool_value(false))};
  } else {
    s.attributes = {optional_attr("dim", AttrKind::Ints), with_default("keepdim", AttrKind::Bool, bool_value(false)),
                    optional_attr("dtype", AttrKind::DType)};
  }
  s.infer = [name](const Types& in, const Attributes& attrs) -> Types {
    const TensorType& x = in[0];
    Shape dims = attr_opt_ints(attrs, "dim").value_or(Shape{});
    TensorType out;
    out.shape = reduce_shape(name, x.shape, dims, attr_bool(attrs, "keepdim"));
    out.dtype = x.dtype;
    if (name == "sum") {
      if (auto d = attr_opt_dtype(attrs, "dtype")) out.dtype = *d;
      else if (!is_floating(x.dtype)) out.dtype = DType::I64;
    } else if (name == "mean") {
      out.dtype = attr_opt_dtype(attrs, "dtype").value_or(x.dtype);
      if (!is_floating(out.dtype))
        fail(name, "could not infer output dtype: needs a floating dtype, got " + std::string(dtype_name(out.dtype)));
    }
    return {out};
  };
  return s;
}

// argmax/argmin(x, dim, keepdim): indices (i64) along one dim. Ties go to the first index,
// as in PyTorch; indices have no real-arithmetic meaning, so these are random-tested only.
OpSpec arg_extremum(const std::string& name) {
  OpSpec s;
  s.name = name;
  s.operands = {operand("input")};
  s.attributes = {required("dim", AttrKind::Int), with_default("keepdim", AttrKind::Bool, bool_value(false))};
  s.validation = Validation::RandomOnly;
  s.infer = [name](const Types& in, const Attributes& attrs) -> Types {
    const TensorType& x = in[0];
    if (x.rank() > 0 && x.numel() == 0) fail(name, "an empty tensor has no extremum");
    TensorType out;
    out.shape = reduce_shape(name, x.shape, {attr_int(attrs, "dim")}, attr_bool(attrs, "keepdim"));
    out.dtype = DType::I64;
    return {out};
  };
  return s;
}

OpSpec softmax_like(const std::string& name) {
  OpSpec s;
  s.name = name;
  s.operands = {operand("input")};
  s.attributes = {required("dim", AttrKind::Int), optional_attr("dtype", AttrKind::DType)};
  s.infer = [name](const Types& in, const Attributes& attrs) -> Types {
    TensorType out = in[0];
    out.python_scalar = false;
    wrap_dim(name, attr_int(attrs, "dim"), out.rank());
    out.dtype = attr_opt_dtype(attrs, "dtype").value_or(out.dtype);
    if (!is_floating(out.dtype)) fail(name, "does not accept " + std::string(dtype_name(out.dtype)) + " (it needs a floating dtype)");
    return {out};
  };
  return s;
}

}  // namespace

void register_reduction_ops(std::vector<OpSpec>& out) {
  // `confusable`: the ops a port writes by mistake in the op's place (bench/mutants).
  const std::map<std::string, std::vector<std::string>> confusable = {
      {"sum", {"mean", "amax"}}, {"mean", {"sum"}}, {"amax", {"sum", "amin"}}, {"amin", {"amax"}},
      {"argmax", {"argmin"}}, {"argmin", {"argmax"}}, {"softmax", {"log_softmax"}}, {"log_softmax", {"softmax"}}};
  for (const char* name : {"sum", "mean", "amax", "amin"}) {
    out.push_back(reduction(name));
    out.back().canonicalize = all_of({sorted_dims_from_end("dim"), redundant_dtype(out.back().infer)});
    out.back().confusable = confusable.at(name);
  }
  for (const char* name : {"argmax", "argmin"}) {
    out.push_back(arg_extremum(name));
    out.back().canonicalize = dims_from_end({"dim"});
    out.back().confusable = confusable.at(name);
  }
  {
    // cumsum(x, dim, dtype): the shape kept; integers and bools sum as i64 unless `dtype`.
    OpSpec s;
    s.name = "cumsum";
    s.operands = {operand("input")};
    s.attributes = {required("dim", AttrKind::Int), optional_attr("dtype", AttrKind::DType)};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      TensorType out = tensor(in[0].dtype, in[0].shape);
      wrap_dim("cumsum", attr_int(a, "dim"), out.rank());
      if (auto d = attr_opt_dtype(a, "dtype")) out.dtype = *d;
      else if (!is_floating(out.dtype)) out.dtype = DType::I64;
      return {out};
    };
    s.canonicalize = all_of({dims_from_end({"dim"}), redundant_dtype(s.infer)});
    s.confusable = {"sum"};
    out.push_back(std::move(s));
  }
  for (const char* name : {"softmax", "log_softmax"}) {
    out.push_back(softmax_like(name));
    out.back().canonicalize = all_of({dims_from_end({"dim"}), redundant_dtype(out.back().infer)});
    out.back().confusable = confusable.at(name);
  }
}

}  // namespace twin::ops::detail
