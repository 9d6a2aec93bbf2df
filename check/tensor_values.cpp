#include "check/tensor_values.h"

#include "ops/op_spec.h"
#include "ops/shape_analysis.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace twin::check {

namespace eg = twin::egraph;

namespace {

std::size_t mix(std::size_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

std::shared_ptr<TensorValueAnalysis::Value> make_value(const ops::Tensor& t) {
  auto v = std::make_shared<TensorValueAnalysis::Value>();
  v->tensor = t;
  v->elements = t.to_doubles();
  std::size_t h = mix(0, static_cast<std::uint64_t>(t.dtype()) + (t.type().python_scalar ? 1000 : 0));
  for (std::int64_t d : t.shape()) h = mix(h, static_cast<std::uint64_t>(d));
  for (double x : v->elements) {
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    h = mix(h, bits);
  }
  v->hash = h;
  return v;
}

bool same_value(const TensorValueAnalysis::Value& a, const TensorValueAnalysis::Value& b) {
  if (a.is_tuple || b.is_tuple) return false;
  if (a.tensor.dtype() != b.tensor.dtype() || a.tensor.shape() != b.tensor.shape()) return false;
  if (a.tensor.type().python_scalar != b.tensor.type().python_scalar) return false;
  return a.elements.size() == b.elements.size() &&
         std::memcmp(a.elements.data(), b.elements.data(), a.elements.size() * sizeof(double)) == 0;
}

std::size_t type_hash(const ops::Tensor& t) {
  std::size_t h = mix(0, static_cast<std::uint64_t>(t.dtype()));
  for (std::int64_t d : t.shape()) h = mix(h, static_cast<std::uint64_t>(d));
  return h;
}

// One unit in the last place of |x| in `dtype` (f32, bf16, f16, f64).
double ulp(double x, ops::DType dtype) {
  int mantissa = dtype == ops::DType::BF16 ? 8 : dtype == ops::DType::F16 ? 11 : dtype == ops::DType::F64 ? 53 : 24;
  int min_exponent = dtype == ops::DType::BF16 ? -126 : dtype == ops::DType::F16 ? -14 : dtype == ops::DType::F64 ? -1022 : -126;
  int e = x == 0 ? min_exponent : std::max(std::ilogb(x), min_exponent);
  return std::ldexp(1.0, e - (mantissa - 1));
}

// Every element within one ulp of the other's (in the dtype), non-finite ones equal.
bool within_one_ulp(const TensorValueAnalysis::Value& a, const TensorValueAnalysis::Value& b) {
  if (a.is_tuple || b.is_tuple || a.tensor.dtype() != b.tensor.dtype() || a.tensor.shape() != b.tensor.shape()) return false;
  ops::DType d = a.tensor.dtype();
  if (!ops::is_floating(d) || a.elements.size() != b.elements.size()) return false;
  for (std::size_t i = 0; i < a.elements.size(); ++i) {
    double x = a.elements[i], y = b.elements[i];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      if (!(x == y || (std::isnan(x) && std::isnan(y)))) return false;
      continue;
    }
    if (std::abs(x - y) > std::min(ulp(x, d), ulp(y, d))) return false;
  }
  return true;
}

}  // namespace

void TensorValueAnalysis::set_leaf_value(eg::OpId symbol, const ops::Tensor& value) { leaves_[symbol] = value; }

const TensorValueAnalysis::Value* TensorValueAnalysis::value(const eg::EGraph& graph, eg::EClassId cls) const {
  eg::EClassId root = graph.find(cls);
  return root < data_.size() ? data_[root].get() : nullptr;
}

std::optional<TensorValueAnalysis::Value> TensorValueAnalysis::implied(const eg::EGraph& graph, eg::OpId op,
                                                                       std::span<const eg::EClassId> children) const {
  const eg::OpInfo& info = graph.ops().info(op);
  switch (info.kind) {
    case eg::OpKind::Symbol: {
      auto it = leaves_.find(op);
      if (it == leaves_.end()) return std::nullopt;
      auto v = make_value(it->second);
      v->stored = true;
      return *v;
    }
    case eg::OpKind::Constant:
      return *make_value(ops::Tensor::python_scalar(to_double(info.constant), ops::integral_number(info.constant)));
    case eg::OpKind::String:
      return std::nullopt;
    case eg::OpKind::Apply:
      break;
  }
  if (info.name == "list") {
    Value v;
    v.is_tuple = true;
    v.stored = true;
    for (eg::EClassId c : children) {
      const Value* cv = value(graph, c);
      if (!cv || cv->is_tuple) return std::nullopt;
      v.tuple.push_back(cv->tensor);
      v.stored = v.stored && cv->stored;
    }
    return v;
  }
  std::vector<const Value*> operand_values;
  std::optional<ops::Tensor> out =
      evaluate_apply(graph, op, children, [&](eg::EClassId c) -> std::optional<std::vector<ops::Tensor>> {
        const Value* cv = value(graph, c);
        if (!cv) return std::nullopt;
        operand_values.push_back(cv);
        return cv->is_tuple ? cv->tuple : std::vector<ops::Tensor>{cv->tensor};
      });
  if (!out || out->numel() > max_elements_) return std::nullopt;
  auto v = make_value(*out);
  // Stored when the op copies values and every operand whose elements it copies (those of the
  // result's dtype: not an index or a condition) is stored.
  v->stored = ops::find_op(info.name)->copies_values;
  for (const Value* cv : operand_values) {
    ops::DType d = cv->is_tuple ? (cv->tuple.empty() ? out->dtype() : cv->tuple[0].dtype()) : cv->tensor.dtype();
    if (d == out->dtype() && !cv->stored) v->stored = false;
  }
  return *v;
}

std::optional<ops::Tensor> evaluate_apply(
    const eg::EGraph& graph, eg::OpId op, std::span<const eg::EClassId> children,
    const std::function<std::optional<std::vector<ops::Tensor>>(eg::EClassId)>& operand) {
  const eg::OpInfo& info = graph.ops().info(op);
  const ops::OpSpec* spec = ops::find_op(info.name);
  if (info.kind != eg::OpKind::Apply || !spec || spec->multi_output) return std::nullopt;
  const auto* shapes = graph.analysis<ops::ShapeAnalysis>();
  if (!shapes) return std::nullopt;
  std::size_t named = std::min(info.attr_names.size(), children.size());
  std::size_t n_operands = children.size() - named;
  ops::Attributes attributes;
  for (std::size_t i = 0; i < named; ++i) {
    const auto& d = shapes->data(graph, children[n_operands + i]);
    if (!d.attr) return std::nullopt;
    attributes[info.attr_names[i]] = *d.attr;
  }
  std::vector<ops::Tensor> operands;
  for (std::size_t i = 0; i < n_operands; ++i) {
    std::optional<std::vector<ops::Tensor>> tensors = operand(children[i]);
    if (!tensors) return std::nullopt;
    operands.insert(operands.end(), tensors->begin(), tensors->end());
  }
  try {
    std::vector<ops::Tensor> out = ops::evaluate(info.name, operands, attributes);
    if (out.size() != 1) return std::nullopt;
    return out[0];
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool TensorValueAnalysis::join_node(const eg::EGraph& graph, eg::EClassId cls, eg::OpId op,
                                    std::span<const eg::EClassId> children) {
  if (cls < data_.size() && data_[cls]) return false;  // a class has one value: the first one known
  std::optional<Value> v = implied(graph, op, children);
  if (!v) return false;
  data_[cls] = std::make_shared<const Value>(std::move(*v));
  return true;
}

eg::MergeResult TensorValueAnalysis::merge(eg::EClassId into, eg::EClassId from) {
  eg::MergeResult r;
  if (!data_[into] && data_[from]) {
    data_[into] = data_[from];
    r.into_changed = true;
  } else if (data_[into] && !data_[from]) {
    r.from_changed = true;
  }
  return r;
}

void TensorValueAnalysis::modify(eg::EGraph& graph, eg::EClassId cls) {
  eg::EClassId root = graph.find(cls);
  const Value* v = root < data_.size() ? data_[root].get() : nullptr;
  if (!v || v->is_tuple || v->tensor.type().python_scalar) return;  // scalars: constant folding's job
  auto [begin, end] = by_hash_.equal_range(v->hash);
  for (auto it = begin; it != end; ++it) {
    eg::EClassId other = graph.find(it->second);
    if (other == root) return;
    const Value* ov = other < data_.size() ? data_[other].get() : nullptr;
    if (ov && same_value(*v, *ov)) {
      ++value_unions_;
      graph.union_classes(root, other, "equal_constant_values");
      return;
    }
  }
  by_hash_.emplace(v->hash, root);
  if (!ops::is_floating(v->tensor.dtype())) return;
  std::size_t type = type_hash(v->tensor);
  auto [first, last] = by_type_.equal_range(type);
  for (auto it = first; it != last; ++it) {
    eg::EClassId other = graph.find(it->second);
    if (other == root) continue;
    const Value* ov = other < data_.size() ? data_[other].get() : nullptr;
    if (ov && ov->stored != v->stored && within_one_ulp(*v, *ov)) {
      ++value_unions_;
      graph.union_classes(root, other, "equal_constant_values_within_1_ulp");
      return;
    }
  }
  by_type_.emplace(type, root);
}

std::string TensorValueAnalysis::describe(const eg::EGraph& graph, eg::EClassId cls) const {
  const Value* v = value(graph, cls);
  if (!v) return {};
  return v->is_tuple ? "constant tuple" : "constant " + v->tensor.type().to_string();
}

TensorValueAnalysis& add_tensor_value_analysis(eg::EGraph& graph) {
  auto analysis = std::make_unique<TensorValueAnalysis>();
  TensorValueAnalysis& ref = *analysis;
  graph.add_analysis(std::move(analysis));
  return ref;
}

}  // namespace twin::check
