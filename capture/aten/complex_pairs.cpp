// Complex tensors as real pairs (complex_pairs.h): the rewrite of one ATen call.
#include "capture/aten/complex_pairs.h"

#include <set>

namespace twin::capture {
namespace {

using V = AtenValue;

const std::set<std::string> kAliases = {"view_as_complex", "view_as_real", "clone", "contiguous", "alias", "detach"};
const std::set<std::string> kReshapes = {"view", "reshape", "_unsafe_view"};
const std::set<std::string> kDimOps = {"slice", "select", "unsqueeze"};

ops::TensorType without_pair_dim(ops::TensorType t) {
  if (!t.shape.empty()) t.shape.pop_back();
  return t;
}

}  // namespace

std::optional<GraphRef> rewrite_complex_call(const AtenCall& call, const ops::TensorType& result,
                                             const PairsContext& context, std::string& why) {
  const std::string& op = call.name;
  const V* self = call.get(0, "self");
  if (kAliases.count(op)) {
    if (!self || !self->is_tensor()) return why = op + " without a tensor argument", std::nullopt;
    return self->tensor();
  }
  if (kReshapes.count(op)) {
    const V* shape = call.get(1, "size");
    if (!shape) shape = call.get(1, "shape");
    if (!self || !self->is_tensor() || !shape || !shape->is_list())
      return why = op + " of a complex tensor without a static shape", std::nullopt;
    V::List pairs_shape = shape->list();
    pairs_shape.push_back(V{std::int64_t{2}});
    return context.emit(AtenCall{"reshape", "", false, {*self, V{pairs_shape}}, {}}, result);
  }
  if (kDimOps.count(op)) {
    if (!self || !self->is_tensor() || !context.is_pairs(self->tensor()))
      return why = op + " of a real tensor into a complex one", std::nullopt;
    AtenCall real = call;
    real.kwargs.clear();
    real.args.resize(std::max<std::size_t>(call.args.size(), 2), V{V::None{}});
    // Keyword arguments move to their positions: slice(self, dim, start, end, step),
    // select(self, dim, index), unsqueeze(self, dim).
    const std::vector<std::string> names = op == "slice" ? std::vector<std::string>{"self", "dim", "start", "end", "step"}
                                           : op == "select" ? std::vector<std::string>{"self", "dim", "index"}
                                                            : std::vector<std::string>{"self", "dim"};
    real.args.resize(std::max(real.args.size(), names.size()), V{V::None{}});
    for (std::size_t i = 0; i < names.size(); ++i)
      if (const V* v = call.get(i, names[i])) real.args[i] = *v;
    while (real.args.size() > 1 && real.args.back().is_none()) real.args.pop_back();
    std::int64_t dim = 0;
    if (real.args.size() > 1) {
      if (!real.args[1].is_int()) return why = op + " of a complex tensor with a dim that is not a number", std::nullopt;
      dim = real.args[1].int_value();
    }
    // A dim counted from the end moves one further: the pair dim is last. (unsqueeze's -1 is
    // after the last dim of the complex tensor: -2 of its pairs.)
    if (dim < 0) dim -= 1;
    if (real.args.size() > 1) real.args[1] = V{dim};
    else real.args.push_back(V{dim});
    real.in_place = false;
    return context.emit(std::move(real), result);
  }
  if (op == "mul") {
    const V* other = call.get(1, "other");
    if (!self || !other || !self->is_tensor() || !other->is_tensor() || !context.is_pairs(self->tensor()) ||
        !context.is_pairs(other->tensor()))
      return why = "mul of a complex tensor and a real value (only complex times complex is rewritten)", std::nullopt;
    const ops::TensorType part = without_pair_dim(result);
    auto piece = [&](const GraphRef& pairs, std::int64_t index) {
      return context.emit(AtenCall{"select", "int", false, {V{pairs}, V{std::int64_t{-1}}, V{index}}, {}},
                          without_pair_dim(context.type_of(pairs)));
    };
    auto binary = [&](const char* name, const GraphRef& a, const GraphRef& b) {
      return context.emit(AtenCall{name, "Tensor", false, {V{a}, V{b}}, {}}, part);
    };
    const GraphRef a = piece(self->tensor(), 0), b = piece(self->tensor(), 1);
    const GraphRef c = piece(other->tensor(), 0), d = piece(other->tensor(), 1);
    const GraphRef real = binary("sub", binary("mul", a, c), binary("mul", b, d));
    const GraphRef imag = binary("add", binary("mul", a, d), binary("mul", b, c));
    return context.emit(AtenCall{"stack", "", false, {V{V::List{V{real}, V{imag}}}, V{std::int64_t{-1}}}, {}}, result);
  }
  if (op == "polar") {
    const V* abs = call.get(0, "abs");
    const V* angle = call.get(1, "angle");
    if (!abs || !angle || !abs->is_tensor() || !angle->is_tensor()) return why = "polar without two tensors", std::nullopt;
    const ops::TensorType part = without_pair_dim(result);
    auto unary = [&](const char* name, const GraphRef& x) { return context.emit(AtenCall{name, "", false, {V{x}}, {}}, part); };
    auto times = [&](const GraphRef& x, const GraphRef& y) {
      return context.emit(AtenCall{"mul", "Tensor", false, {V{x}, V{y}}, {}}, part);
    };
    const GraphRef real = times(abs->tensor(), unary("cos", angle->tensor()));
    const GraphRef imag = times(abs->tensor(), unary("sin", angle->tensor()));
    return context.emit(AtenCall{"stack", "", false, {V{V::List{V{real}, V{imag}}}, V{std::int64_t{-1}}}, {}}, result);
  }
  why = "aten::" + op + " on a complex tensor: Twin holds complex tensors as real pairs and rewrites only "
        "view_as_complex, view_as_real, view, reshape, slice, select, unsqueeze, mul and polar";
  return std::nullopt;
}

}  // namespace twin::capture
