#include "verify/random_evaluation.h"

#include "util/exact_rational.h"

#include "ops/op_spec.h"
#include "verify/pattern_layout.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <set>
#include <stdexcept>

namespace twin::verify::random_testing {

namespace eg = twin::egraph;
using Shape = std::vector<std::int64_t>;

ops::DType map_dtype(ops::DType d, Mode mode) {
  if (!ops::is_floating(d)) return d;
  if (mode == Mode::Real) return ops::DType::F64;
  if (mode == Mode::Ref && ops::mantissa_bits(d) < ops::mantissa_bits(ops::DType::F32)) return ops::DType::F32;
  return d;
}

bool elementwise_op(const std::string& name) {
  const ops::OpSpec* spec = ops::find_op(name);
  return spec && spec->per_element;
}

// ---- evaluating a pattern through libtorch --------------------------------------------------

ops::AttrValue Evaluator::attr_of(const eg::Pattern& p) const {
  // A number variable (`scale=?s`): its drawn value, exactly.
  if (p.is_var())
    if (auto it = values.find(p.var); it != values.end() && it->second.type().python_scalar)
      return ops::AttrValue{exact_rational(it->second.to_doubles().at(0))};
  return attribute_value(ops, p, integers);
}

ops::Tensor Evaluator::settle(const ops::Tensor& t) const {
  ops::DType d = t.dtype();
  ops::DType m = map_dtype(d, mode);
  if (m == d || t.type().python_scalar) return t;
  return t.to(m);
}

std::vector<ops::Tensor> Evaluator::eval(const eg::Pattern& p) const {
  if (p.is_var()) {
    auto it = values.find(p.var);
    if (it == values.end()) throw std::invalid_argument("?" + p.var + " has no value (not a tensor variable)");
    return {it->second};
  }
  const eg::OpInfo& info = ops.info(p.op);
  if (info.kind == eg::OpKind::Constant) {
    bool integral = ops::integral_number(info.constant);
    return {ops::Tensor::python_scalar(info.constant.convert_to<double>(), integral)};
  }
  if (info.kind != eg::OpKind::Apply) throw std::invalid_argument("a leaf in a tensor position: " + info.name);
  if (info.name == "list") {
    std::vector<ops::Tensor> out;
    for (const auto& c : p.children)
      for (auto& v : eval(c)) out.push_back(std::move(v));
    return out;
  }
  NodeLayout layout = layout_of(ops, p);
  std::vector<ops::Tensor> operands;
  std::vector<std::pair<std::string, int>> var_operands;  // variable, operand slot
  ops::Attributes attrs;
  int slot = 0;
  for (std::size_t i = 0; i < p.children.size(); ++i) {
    if (layout.child_attr[i].empty()) {
      if (auto var = rearranged_var(p.children[i])) var_operands.push_back({*var, slot});
      for (auto& v : eval(p.children[i])) operands.push_back(std::move(v));
      ++slot;
    } else {
      ops::AttrValue a = attr_of(p.children[i]);
      if (auto* d = std::get_if<ops::DType>(&a.value)) a = ops::AttrValue{map_dtype(*d, mode)};
      if (layout.child_attr[i] == "dtype")
        if (auto* s = std::get_if<std::string>(&a.value))
          if (auto d = ops::parse_dtype(*s)) a = ops::AttrValue{map_dtype(*d, mode)};
      attrs[layout.child_attr[i]] = std::move(a);
    }
  }
  if (domains) record_domains(info.name, var_operands, operands, attrs);
  std::vector<ops::Tensor> outs = ops::evaluate(info.name, operands, attrs);
  for (auto& o : outs) o = settle(o);
  return outs;
}

std::optional<std::string> Evaluator::rearranged_var(const eg::Pattern& p) const {
  if (p.is_var()) return p.var;
  const eg::OpInfo& info = ops.info(p.op);
  if (info.kind != eg::OpKind::Apply || p.children.empty()) return std::nullopt;
  const twin::ops::OpSpec* spec = twin::ops::find_op(info.name);
  if (!spec || !spec->rearranges) return std::nullopt;
  return rearranged_var(p.children[0]);
}

void Evaluator::record_domains(const std::string& op, const std::vector<std::pair<std::string, int>>& vars,
                               const std::vector<ops::Tensor>& operands, const ops::Attributes& attrs) const {
  const ops::OpSpec* spec = ops::find_op(op);
  if (!spec) return;
  for (const auto& [var, slot] : vars) {
    if (slot >= static_cast<int>(spec->domains.size())) continue;
    DomainKind k = spec->domains[slot].kind;
    VarInfo& vi = (*domains)[var];
    if (domain_rank(k) > domain_rank(vi.kind)) vi.kind = k;
    if (k == DomainKind::Index) {
      std::vector<ops::TensorType> types;
      for (const auto& o : operands) types.push_back(o.type());
      try {
        std::int64_t b = ops::index_bound(*spec, static_cast<std::size_t>(slot), types, attrs);
        if (vi.index_bound < 0 || b < vi.index_bound) vi.index_bound = b;
      } catch (const std::exception&) {
      }
    }
  }
}

// ---- comparing the sides -------------------------------------------------------------------

Comparison compare(const ops::Tensor& lhs, const ops::Tensor& rhs, double rtol, double atol, bool infinite_values) {
  Comparison c;
  Shape ls = lhs.shape(), rs = rhs.shape();
  std::vector<double> a = lhs.to_doubles(), b = rhs.to_doubles();
  // A rewrite never changes a term's shape: different shapes refute, even where the values
  // would broadcast (a scalar right side for a tensor left side).
  if (ls != rs) {
    c.shapes_differ = c.differ = true;
    return c;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isinf(a[i]) && infinite_values) {
      ++c.compared;
      if (b[i] != a[i]) {
        c.differ = true;
        if (c.where < 0 || c.max_diff != std::numeric_limits<double>::infinity()) c.where = static_cast<std::int64_t>(i);
        c.max_diff = std::numeric_limits<double>::infinity();
        c.note = "the lhs is " + std::string(a[i] > 0 ? "inf" : "-inf") + " here, the rhs is not";
      }
      continue;
    }
    if (!std::isfinite(a[i])) continue;  // outside the lhs's domain (or overflow)
    ++c.compared;
    if (!std::isfinite(b[i])) {
      c.differ = true;
      if (c.where < 0 || c.max_diff != std::numeric_limits<double>::infinity()) c.where = static_cast<std::int64_t>(i);
      c.max_diff = std::numeric_limits<double>::infinity();
      c.note = "rhs is not finite where lhs is";
      continue;
    }
    double d = std::abs(a[i] - b[i]);
    if (d > atol + rtol * std::max(std::abs(a[i]), std::abs(b[i]))) {
      c.differ = true;
      if (d > c.max_diff) c.max_diff = d, c.where = static_cast<std::int64_t>(i);
    }
  }
  return c;
}

// ---- one trial -----------------------------------------------------------------------------

Trial run_trial(const Setup& s, const Z3Instance& inst, const std::map<std::string, VarInfo>& infos,
                const std::map<std::string, std::vector<double>>& values, const RandomOptions& o) {
  Trial t;
  auto tensors = tensors_of(values, infos, [](const std::string&, ops::DType d) { return map_dtype(d, Mode::Real); });
  Evaluator ev{s.ops, Mode::Real, tensors, inst.integers};
  try {
    auto l = ev.eval(s.rule.lhs);
    if (l.size() != 1) throw std::invalid_argument("the lhs evaluates to several tensors");
    t.lhs = l[0];
  } catch (const std::exception& e) {
    t.error = e.what();  // the instance is outside the lhs's reach: no trial
    return t;
  }
  t.evaluated = true;
  try {
    auto r = ev.eval(s.rule.rhs);
    if (r.size() != 1) throw std::invalid_argument("the rhs evaluates to several tensors");
    t.rhs = r[0];
  } catch (const std::exception& e) {
    // The lhs evaluates and the rhs does not (ill-typed, a mask that is not boolean, an index
    // out of range): the rewrite would break a term that works.
    t.error = e.what();
    t.cmp.rhs_failed = t.cmp.differ = true;
    t.cmp.note = std::string("the rhs does not evaluate where the lhs does: ") + e.what();
    return t;
  }
  t.cmp = compare(t.lhs, t.rhs, o.relative_tolerance, o.absolute_tolerance, s.infinite_values);
  return t;
}

}  // namespace twin::verify::random_testing
