// Layout ops: they move or copy elements without arithmetic, so the output dtype is the
// input's (cat and stack promote across their list). split and chunk have several outputs;
// getitem picks one of them (or of any list).
#include "ops/op_registration.h"

#include <algorithm>
#include <set>

namespace twin::ops::detail {

namespace {

OpSpec layout(const std::string& name, std::vector<AttrSpec> attrs,
              std::function<Shape(const std::string&, const Shape&, const Attributes&)> rule) {
  OpSpec s;
  s.name = name;
  s.operands = {operand("input")};
  s.attributes = std::move(attrs);
  s.infer = [name, rule = std::move(rule)](const Types& in, const Attributes& attrs) -> Types {
    return {tensor(in[0].dtype, rule(name, in[0].shape, attrs))};
  };
  return s;
}

std::int64_t rank_of(const Shape& s) { return static_cast<std::int64_t>(s.size()); }

Shape reshape_rule(const std::string& op, const Shape& x, const Attributes& attrs) {
  Shape shape = attr_ints(attrs, "shape");
  std::int64_t numel = 1;
  for (auto d : x) numel *= d;
  std::int64_t product = 1;
  std::optional<std::size_t> infer_at;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer_at) fail(op, "only one dimension can be inferred (-1)");
      infer_at = i;
    } else if (shape[i] < 0) {
      fail(op, "invalid shape dimension " + std::to_string(shape[i]));
    } else {
      product *= shape[i];
    }
  }
  if (infer_at) {
    if (product == 0)
      fail(op, "cannot reshape a tensor of " + std::to_string(numel) + " elements into shape " + shape_string(shape) +
                   ": the unspecified dimension could be any value");
    if (numel % product != 0)
      fail(op, "shape " + shape_string(shape) + " is invalid for input of size " + std::to_string(numel));
    shape[*infer_at] = numel / product;
  } else if (product != numel) {
    fail(op, "shape " + shape_string(shape) + " is invalid for input of size " + std::to_string(numel));
  }
  return shape;
}

Shape expand_rule(const std::string& op, const Shape& x, const Attributes& attrs) {
  Shape target = attr_ints(attrs, "shape");
  if (target.size() < x.size())
    fail(op, "the number of sizes provided (" + std::to_string(target.size()) +
                 ") must be greater or equal to the number of dimensions in the tensor (" + std::to_string(x.size()) + ")");
  Shape out(target.size());
  std::size_t lead = target.size() - x.size();
  for (std::size_t i = 0; i < target.size(); ++i) {
    bool existing = i >= lead;
    std::int64_t size = existing ? x[i - lead] : 1;
    std::int64_t t = target[i];
    if (t == -1) {
      if (!existing) fail(op, "the expanded size -1 is not allowed in a leading, non-existing dimension " + std::to_string(i));
      t = size;
    }
    if (t < 0) fail(op, "invalid expanded size " + std::to_string(t));
    if (size != t && size != 1)
      fail(op, "the expanded size (" + std::to_string(t) + ") must match the existing size (" + std::to_string(size) +
                   ") at non-singleton dimension " + std::to_string(i));
    out[i] = t;
  }
  return out;
}

Types split_sizes(const std::string& op, const TensorType& x, std::int64_t dim, const Shape& sizes) {
  Types out;
  for (std::int64_t s : sizes) {
    TensorType t = tensor(x.dtype, x.shape);
    t.shape[dim] = s;
    out.push_back(t);
  }
  return out;
}

Types split_rule(const std::string& op, const TensorType& x, std::int64_t split_size, std::int64_t dim_attr) {
  if (x.rank() == 0) fail(op, "expects at least a 1-dimensional tensor");
  std::int64_t dim = wrap_dim(op, dim_attr, x.rank());
  std::int64_t size = x.shape[dim];
  if (split_size < 0) fail(op, "split_size must be non-negative, got " + std::to_string(split_size));
  if (split_size == 0 && size != 0) fail(op, "split_size can only be 0 if dimension size is 0");
  std::int64_t n = split_size == 0 ? 1 : std::max<std::int64_t>((size + split_size - 1) / split_size, 1);
  Shape sizes;
  for (std::int64_t i = 0; i < n; ++i) sizes.push_back(i + 1 < n ? split_size : size - split_size * (n - 1));
  return split_sizes(op, x, dim, sizes);
}

DType list_dtype(const Types& in) {
  Types plain = in;
  for (auto& t : plain) t.python_scalar = false;
  return result_type(plain);
}

// Sets the canonical graph form's hooks of the op just registered (OpSpec::canonicalize).
void canonical(std::vector<OpSpec>& out, CanonicalizeFn canonicalize, IdentityFn is_identity = nullptr) {
  out.back().canonicalize = std::move(canonicalize);
  out.back().is_identity = std::move(is_identity);
}

}  // namespace

void register_layout_ops(std::vector<OpSpec>& out) {
  std::size_t first = out.size();
  out.push_back(layout("transpose", {required("dim0", AttrKind::Int), required("dim1", AttrKind::Int)},
                       [](const std::string& op, const Shape& x, const Attributes& a) {
                         std::int64_t d0 = wrap_dim(op, attr_int(a, "dim0"), rank_of(x));
                         std::int64_t d1 = wrap_dim(op, attr_int(a, "dim1"), rank_of(x));
                         Shape s = x;
                         if (!s.empty()) std::swap(s[d0], s[d1]);
                         return s;
                       }));
  canonical(out, ordered_dims_from_end("dim0", "dim1"), equal_attributes("dim0", "dim1"));
  out.push_back(layout("permute", {required("dims", AttrKind::Ints)},
                       [](const std::string& op, const Shape& x, const Attributes& a) {
                         Shape dims = attr_ints(a, "dims");
                         if (dims.size() != x.size())
                           fail(op, "number of dims " + std::to_string(dims.size()) + " does not match the rank " +
                                        std::to_string(x.size()));
                         std::set<std::int64_t> seen;
                         Shape s;
                         for (auto d : dims) {
                           std::int64_t w = wrap_dim(op, d, rank_of(x));
                           if (!seen.insert(w).second) fail(op, "repeated dim " + std::to_string(w));
                           s.push_back(x[w]);
                         }
                         return s;
                       }));
  out.push_back(layout("reshape", {required("shape", AttrKind::Ints)}, reshape_rule));
  out.back().aliases = {"view"};
  canonical(out, shape_from_result("shape"), same_shape());
  out.push_back(layout("flatten",
                       {with_default("start_dim", AttrKind::Int, int_value(0)),
                        with_default("end_dim", AttrKind::Int, int_value(-1))},
                       [](const std::string& op, const Shape& x, const Attributes& a) {
                         std::int64_t start = wrap_dim(op, attr_int(a, "start_dim"), rank_of(x));
                         std::int64_t end = wrap_dim(op, attr_int(a, "end_dim"), rank_of(x));
                         if (x.empty()) return Shape{1};
                         if (start > end) fail(op, "flatten() has invalid args: start_dim cannot come after end_dim");
                         Shape s(x.begin(), x.begin() + start);
                         std::int64_t n = 1;
                         for (std::int64_t i = start; i <= end; ++i) n *= x[i];
                         s.push_back(n);
                         s.insert(s.end(), x.begin() + end + 1, x.end());
                         return s;
                       }));
  out.push_back(layout("unsqueeze", {required("dim", AttrKind::Int)},
                       [](const std::string& op, const Shape& x, const Attributes& a) {
                         std::int64_t d = wrap_dim(op, attr_int(a, "dim"), rank_of(x) + 1);
                         Shape s = x;
                         s.insert(s.begin() + d, 1);
                         return s;
                       }));
  canonical(out, dims_from_end({"dim"}, /*of_result=*/true));
  out.back().confusable = {"squeeze"};
  out.push_back(layout("squeeze", {optional_attr("dim", AttrKind::Int)},
                       [](const std::string& op, const Shape& x, const Attributes& a) {
                         Shape s;
                         if (auto dim = attr_opt_int(a, "dim")) {
                           std::int64_t d = wrap_dim(op, *dim, rank_of(x));
                           s = x;
                           if (!s.empty() && s[d] == 1) s.erase(s.begin() + d);
                         } else {
                           for (auto v : x)
                             if (v != 1) s.push_back(v);
                         }
                         return s;
                       }));
  canonical(out, dims_from_end({"dim"}));
  out.back().confusable = {"unsqueeze"};
  out.push_back(layout("expand", {required("shape", AttrKind::Ints)}, expand_rule));
  canonical(out, shape_from_result("shape"), same_shape());
  out.push_back(layout("repeat", {required("repeats", AttrKind::Ints)},
                       [](const std::string& op, const Shape& x, const Attributes& a) {
                         Shape r = attr_ints(a, "repeats");
                         if (r.size() < x.size())
                           fail(op, "number of repeats (" + std::to_string(r.size()) +
                                        ") can not be smaller than the number of dimensions (" + std::to_string(x.size()) + ")");
                         Shape s(r.size());
                         std::size_t lead = r.size() - x.size();
                         for (std::size_t i = 0; i < r.size(); ++i) {
                           if (r[i] < 0) fail(op, "repeats can not be negative");
                           s[i] = r[i] * (i >= lead ? x[i - lead] : 1);
                         }
                         return s;
                       }));
  canonical(out, nullptr, same_shape());  // every count 1
  out.push_back(layout("repeat_interleave", {required("repeats", AttrKind::Int), optional_attr("dim", AttrKind::Int)},
                       [](const std::string& op, const Shape& x, const Attributes& a) {
                         std::int64_t r = attr_int(a, "repeats");
                         if (r < 0) fail(op, "repeats can not be negative");
                         if (auto dim = attr_opt_int(a, "dim")) {
                           std::int64_t d = wrap_dim(op, *dim, rank_of(x));
                           if (x.empty()) return Shape{r};
                           Shape s = x;
                           s[d] *= r;
                           return s;
                         }
                         std::int64_t n = 1;
                         for (auto v : x) n *= v;
                         return Shape{n * r};
                       }));
  canonical(out, dims_from_end({"dim"}), same_shape());  // every count 1
  {
    OpSpec s;
    s.name = "cat";
    s.operands = {list_operand("tensors")};
    s.attributes = {with_default("dim", AttrKind::Int, int_value(0))};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      if (in.empty()) fail("cat", "expects a non-empty list of tensors");
      const TensorType* first = nullptr;
      for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i].rank() == 0)
          fail("cat", "zero-dimensional tensor (at position " + std::to_string(i) + ") cannot be concatenated");
        if (in[i].shape == Shape{0}) continue;  // legacy: empty 1-D tensors are skipped
        if (!first) first = &in[i];
      }
      DType dtype = list_dtype(in);
      if (!first) return {tensor(dtype, {0})};
      std::int64_t dim = wrap_dim("cat", attr_int(a, "dim"), first->rank());
      Shape out = first->shape;
      out[dim] = 0;
      for (std::size_t i = 0; i < in.size(); ++i) {
        const TensorType& t = in[i];
        if (t.shape == Shape{0}) continue;
        if (t.rank() != first->rank())
          fail("cat", "tensors must have the same number of dimensions: got " + std::to_string(first->rank()) + " and " +
                          std::to_string(t.rank()));
        for (std::int64_t d = 0; d < t.rank(); ++d)
          if (d != dim && t.shape[d] != first->shape[d])
            fail("cat", "sizes of tensors must match except in dimension " + std::to_string(dim) + ": " +
                            shape_string(first->shape) + " vs " + shape_string(t.shape) + " (tensor " + std::to_string(i) + ")");
        out[dim] += t.shape[dim];
      }
      return {tensor(dtype, out)};
    };
    s.canonicalize = dims_from_end({"dim"});
    s.confusable = {"stack"};
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "stack";
    s.operands = {list_operand("tensors")};
    s.attributes = {with_default("dim", AttrKind::Int, int_value(0))};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      if (in.empty()) fail("stack", "expects a non-empty list of tensors");
      for (std::size_t i = 1; i < in.size(); ++i)
        if (in[i].shape != in[0].shape)
          fail("stack", "expects each tensor to be equal size, but got " + shape_string(in[0].shape) + " at entry 0 and " +
                            shape_string(in[i].shape) + " at entry " + std::to_string(i));
      std::int64_t dim = wrap_dim("stack", attr_int(a, "dim"), in[0].rank() + 1);
      Shape out = in[0].shape;
      out.insert(out.begin() + dim, static_cast<std::int64_t>(in.size()));
      return {tensor(list_dtype(in), out)};
    };
    s.canonicalize = dims_from_end({"dim"}, /*of_result=*/true);
    s.confusable = {"cat"};
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "split";
    s.multi_output = s.outputs_are_slices = true;
    s.operands = {operand("input")};
    s.attributes = {required("split_size", AttrKind::Int), with_default("dim", AttrKind::Int, int_value(0))};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      return split_rule("split", tensor(in[0].dtype, in[0].shape), attr_int(a, "split_size"), attr_int(a, "dim"));
    };
    s.canonicalize = dims_from_end({"dim"});
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "chunk";
    s.multi_output = s.outputs_are_slices = true;
    s.operands = {operand("input")};
    s.attributes = {required("chunks", AttrKind::Int), with_default("dim", AttrKind::Int, int_value(0))};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      TensorType x = tensor(in[0].dtype, in[0].shape);
      if (x.rank() == 0) fail("chunk", "expects at least a 1-dimensional tensor");
      std::int64_t chunks = attr_int(a, "chunks");
      if (chunks <= 0) fail("chunk", "expects `chunks` to be greater than 0, got " + std::to_string(chunks));
      std::int64_t dim = wrap_dim("chunk", attr_int(a, "dim"), x.rank());
      std::int64_t size = x.shape[dim];
      std::int64_t split_size = (size + chunks - 1) / chunks;
      if (split_size == 0 && size == 0) return split_sizes("chunk", x, dim, Shape(chunks, 0));
      return split_rule("chunk", x, split_size, dim);
    };
    s.canonicalize = dims_from_end({"dim"});
    out.push_back(std::move(s));
  }
  out.push_back(layout("slice",
                       {with_default("dim", AttrKind::Int, int_value(0)), optional_attr("start", AttrKind::Int),
                        optional_attr("end", AttrKind::Int), with_default("step", AttrKind::Int, int_value(1))},
                       [](const std::string& op, const Shape& x, const Attributes& a) {
                         if (x.empty()) fail(op, "cannot be applied to a 0-dim tensor");
                         std::int64_t dim = wrap_dim(op, attr_int(a, "dim"), rank_of(x));
                         std::int64_t step = attr_int(a, "step");
                         if (step <= 0) fail(op, "slice step must be positive");
                         std::int64_t size = x[dim];
                         std::int64_t start = attr_opt_int(a, "start").value_or(0);
                         std::int64_t end = attr_opt_int(a, "end").value_or(INT64_MAX);
                         if (start < 0) start += size;
                         if (end < 0) end += size;
                         start = std::clamp<std::int64_t>(start, 0, size);
                         if (end < start) end = start;
                         else if (end > size) end = size;
                         Shape s = x;
                         s[dim] = (end - start + step - 1) / step;
                         return s;
                       }));
  // A slice's bounds resolved against the sliced dim: 0 <= start <= end <= size (`x[..., k:]`
  // traces end=2^63-1); a whole-tensor slice with step 1 is the tensor.
  canonical(out,
            all_of({dims_from_end({"dim"}),
                    [](const Types& in, const TensorType&, Attributes& a) {
                      if (in.empty() || in[0].rank() == 0) return;
                      std::int64_t size = in[0].shape[wrap_dim("slice", attr_int(a, "dim"), in[0].rank())];
                      auto bound = [&](const char* name, std::int64_t none) {
                        if (!has_attr(a, name)) return none;
                        std::int64_t v = attr_int(a, name);
                        if (v < 0) v += size;
                        return std::clamp<std::int64_t>(v, 0, size);
                      };
                      std::int64_t start = bound("start", 0), end = std::max(start, bound("end", size));
                      a["start"] = AttrValue::of_int(start);
                      a["end"] = AttrValue::of_int(end);
                    }}),
            [](const Types& in, const TensorType& out, const Attributes& a) {
              return same_shape()(in, out, a) && attr_int(a, "step") == 1;
            });
  out.push_back(layout("select", {required("dim", AttrKind::Int), required("index", AttrKind::Int)},
                       [](const std::string& op, const Shape& x, const Attributes& a) {
                         if (x.empty()) fail(op, "cannot be applied to a 0-dim tensor");
                         std::int64_t dim = wrap_dim(op, attr_int(a, "dim"), rank_of(x));
                         std::int64_t index = attr_int(a, "index");
                         if (index < -x[dim] || index >= x[dim])
                           fail(op, "index " + std::to_string(index) + " out of range for dim " + std::to_string(dim) +
                                        " of size " + std::to_string(x[dim]));
                         Shape s = x;
                         s.erase(s.begin() + dim);
                         return s;
                       }));
  canonical(out, dims_from_end({"dim"}));
  {
    OpSpec s;
    s.name = "index_select";
    s.operands = {operand("input"), operand("index")};
    s.attributes = {required("dim", AttrKind::Int)};
    OperandDomain index_domain{OperandDomain::Kind::Index, 0, 0, "dim"};
    s.domains = {OperandDomain{}, index_domain};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      const TensorType &x = in[0], &index = in[1];
      std::int64_t dim = wrap_dim("index_select", attr_int(a, "dim"), x.rank());
      if (index.rank() > 1) fail("index_select", "index must be a vector (rank <= 1), got " + shape_string(index.shape));
      if (index.dtype != DType::I64 && index.dtype != DType::I32)
        fail("index_select", "index must be i32 or i64, got " + std::string(dtype_name(index.dtype)));
      if (x.rank() == 0) {
        if (index.numel() != 1) fail("index_select", "index to a scalar can have only 1 value");
        return {tensor(x.dtype, {})};
      }
      Shape out = x.shape;
      out[dim] = index.numel();
      return {tensor(x.dtype, out)};
    };
    s.canonicalize = dims_from_end({"dim"});
    out.push_back(std::move(s));
  }
  {
    // index_copy(x, index, source, dim): x with the slices at `index` along dim replaced by
    // source's, in order (index_select's inverse; a KV cache written at its positions).
    OpSpec s;
    s.name = "index_copy";
    s.validation = Validation::RandomOnly;  // a scatter by data-dependent indices
    s.operands = {operand("input"), operand("index"), operand("source")};
    s.attributes = {required("dim", AttrKind::Int)};
    s.domains = {OperandDomain{}, OperandDomain{OperandDomain::Kind::Index, 0, 0, "dim"}, OperandDomain{}};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      const TensorType &x = in[0], &index = in[1], &source = in[2];
      if (x.rank() == 0) fail("index_copy", "cannot be applied to a 0-dim tensor");
      std::int64_t dim = wrap_dim("index_copy", attr_int(a, "dim"), x.rank());
      if (index.rank() != 1) fail("index_copy", "index must be a vector, got " + shape_string(index.shape));
      if (index.dtype != DType::I64) fail("index_copy", "index must be i64, got " + std::string(dtype_name(index.dtype)));
      Shape want = x.shape;
      want[dim] = index.shape[0];
      if (source.shape != want)
        fail("index_copy", "source must have shape " + shape_string(want) + ", got " + shape_string(source.shape));
      if (source.dtype != x.dtype) fail("index_copy", "source and input must have one dtype");
      return {tensor(x.dtype, x.shape)};
    };
    s.canonicalize = dims_from_end({"dim"});
    s.confusable = {"index_select"};
    out.push_back(std::move(s));
  }
  {
    OpSpec s;
    s.name = "getitem";
    s.operands = {list_operand("tuple")};
    s.attributes = {required("index", AttrKind::Int)};
    s.infer = [](const Types& in, const Attributes& a) -> Types {
      std::int64_t n = static_cast<std::int64_t>(in.size());
      std::int64_t i = attr_int(a, "index");
      if (i < -n || i >= n) fail("getitem", "index " + std::to_string(i) + " out of range for " + std::to_string(n) + " items");
      return {in[i < 0 ? i + n : i]};
    };
    out.push_back(std::move(s));
  }
  // Slices, gathers, concatenations and repeats: every result element is an operand's.
  for (std::size_t i = first; i < out.size(); ++i)
    for (const char* copy : {"repeat", "repeat_interleave", "cat", "stack", "split", "chunk", "slice", "select",
                             "index_select", "index_copy", "getitem"})
      if (out[i].name == copy) out[i].copies_values = true;
  // The views: their result is the operand's elements moved, values and dtype kept.
  for (std::size_t i = first; i < out.size(); ++i)
    for (const char* view : {"transpose", "permute", "reshape", "flatten", "unsqueeze", "squeeze", "expand"})
      if (out[i].name == view) out[i].rearranges = true;
}

}  // namespace twin::ops::detail
