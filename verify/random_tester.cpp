// Constraint-aware random testing of a rewrite rule (real arithmetic, float64) and the
// judgement of its numerics (bf16 deployment against an fp32 reference). See
// verify/random_tester.h for the contract and docs/verification.md ("Random testing",
// "Numerics") for the definitions.
//
// Choices made here:
//   - Shapes come from find_instances (the Z3 checker's shape solver); integer attribute
//     variables (?k) take the instance's values.
//   - Inputs are drawn with a splitmix64 generator of our own (bit-identical on every
//     platform), in the order the lhs first mentions the variables. Each variable's
//     distribution honours the lhs ops' operand domains (Positive, NonZero, Index with its
//     bound resolved on the instance, BoolMask) and the guard's elementwise value constraints
//     between a variable and a constant (`?x > 0`, `?x <= 3`, `?x != 0`).
//   - A compound argument of a Positive op (rsqrt(mean(x*x) + eps)) is not steered: an lhs
//     element that comes out non-finite is outside the lhs's domain and is not compared; a
//     draw with no comparable element counts as skipped (RandomVerdict::skipped).
//   - Sides are compared elementwise: |lhs - rhs| <= atol + rtol * max(|lhs|, |rhs|). A rhs
//     that is not finite where the lhs is, or a shape mismatch (a scalar side included: a
//     rewrite never changes a term's shape), refutes.
//   - Numerics pools every trial's elements into one Frobenius norm per side before taking
//     the ratio (see judge_numerics below for why).
#include "verify/random_tester.h"

#include "ops/op_spec.h"
#include "ops/tensor.h"
#include "verify/pattern_layout.h"
#include "verify/z3_checker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

namespace twin::verify {

namespace eg = twin::egraph;
using Shape = std::vector<std::int64_t>;
using SE = eg::ScalarExpr;

const char* random_status_name(RandomStatus status) {
  switch (status) {
    case RandomStatus::Passed: return "passed";
    case RandomStatus::Refuted: return "refuted";
    case RandomStatus::Unknown: return "unknown";
  }
  return "unknown";
}

const char* numerics_name(Numerics numerics) {
  switch (numerics) {
    case Numerics::Exact: return "exact";
    case Numerics::WithinBaseline: return "within bf16 baseline";
    case Numerics::ChangesPrecision: return "changes precision";
    case Numerics::Unknown: return "unknown";
  }
  return "unknown";
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---- deterministic random numbers ----------------------------------------------------------

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0) {
  std::uint64_t s = a ^ 0x5851f42d4c957f2dULL;
  splitmix(s);
  s ^= b * 0x2545f4914f6cdd1dULL;
  splitmix(s);
  s ^= c * 0x9e3779b97f4a7c15ULL;
  return splitmix(s);
}

struct Rng {
  std::uint64_t state;
  explicit Rng(std::uint64_t seed) : state(seed) {}
  double uniform() { return static_cast<double>(splitmix(state) >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {  // Box-Muller
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  std::int64_t integer(std::int64_t lo, std::int64_t hi) {  // [lo, hi)
    if (hi <= lo) return lo;
    return lo + static_cast<std::int64_t>(splitmix(state) % static_cast<std::uint64_t>(hi - lo));
  }
};

// ---- what the guard and the ops say about a variable's values -------------------------------

struct ValueConstraint {
  std::optional<double> lo, hi;
  bool lo_strict = false, hi_strict = false;
  std::vector<double> excluded;

  void lower(double v, bool strict) {
    if (!lo || v > *lo || (v == *lo && strict)) lo = v, lo_strict = strict;
  }
  void upper(double v, bool strict) {
    if (!hi || v < *hi || (v == *hi && strict)) hi = v, hi_strict = strict;
  }
  bool admits(double v) const {
    if (!std::isfinite(v)) return false;
    if (lo && (v < *lo || (lo_strict && v == *lo))) return false;
    if (hi && (v > *hi || (hi_strict && v == *hi))) return false;
    for (double e : excluded)
      if (v == e) return false;
    return true;
  }
};

using DomainKind = ops::OperandDomain::Kind;

struct VarInfo {
  ops::TensorType type;            // the instance's type (dtype from guard or domain hints)
  DomainKind kind = DomainKind::Any;
  std::int64_t index_bound = -1;   // Index: the smallest bound seen
  ValueConstraint constraint;      // guard + op domain
};

std::optional<double> constant_of(const SE& e) {
  if (e.kind == SE::Kind::Constant) return e.number.convert_to<double>();
  if (e.kind == SE::Kind::Neg && e.args.size() == 1)
    if (auto v = constant_of(e.args[0])) return -*v;
  return std::nullopt;
}

// Elementwise value constraints `?x op c` (either order) among the guard's conjuncts.
void collect_value_constraints(const SE& g, std::map<std::string, ValueConstraint>& out) {
  if (g.kind == SE::Kind::And) {
    for (const auto& a : g.args) collect_value_constraints(a, out);
    return;
  }
  if (g.kind != SE::Kind::Compare || g.args.size() != 2) return;
  SE::CompareOp op = g.compare;
  const SE* v = &g.args[0];
  std::optional<double> c = constant_of(g.args[1]);
  if (v->kind != SE::Kind::PatternVar || !c) {
    v = &g.args[1];
    c = constant_of(g.args[0]);
    if (v->kind != SE::Kind::PatternVar || !c) return;
    switch (op) {  // c op ?x  ->  ?x op' c
      case SE::CompareOp::Lt: op = SE::CompareOp::Gt; break;
      case SE::CompareOp::Le: op = SE::CompareOp::Ge; break;
      case SE::CompareOp::Gt: op = SE::CompareOp::Lt; break;
      case SE::CompareOp::Ge: op = SE::CompareOp::Le; break;
      default: break;
    }
  }
  ValueConstraint& vc = out[v->text];
  switch (op) {
    case SE::CompareOp::Gt: vc.lower(*c, true); break;
    case SE::CompareOp::Ge: vc.lower(*c, false); break;
    case SE::CompareOp::Lt: vc.upper(*c, true); break;
    case SE::CompareOp::Le: vc.upper(*c, false); break;
    case SE::CompareOp::Ne: vc.excluded.push_back(*c); break;
    case SE::CompareOp::Eq: vc.lower(*c, false), vc.upper(*c, false); break;
  }
}

int domain_rank(DomainKind k) {
  switch (k) {
    case DomainKind::Any: return 0;
    case DomainKind::NonZero: return 1;
    case DomainKind::Positive: return 2;
    case DomainKind::Index: return 3;
    case DomainKind::BoolMask: return 4;
  }
  return 0;
}

// ---- evaluating a pattern through libtorch --------------------------------------------------

enum class Mode {
  Real,  // floating tensors in f64, casts to floating dtypes become casts to f64
  Low,   // as written (deployment precision)
  Ref,   // as written, but every floating dtype narrower than f32 becomes f32
};

ops::DType map_dtype(ops::DType d, Mode mode) {
  if (!ops::is_floating(d)) return d;
  if (mode == Mode::Real) return ops::DType::F64;
  if (mode == Mode::Ref && ops::mantissa_bits(d) < ops::mantissa_bits(ops::DType::F32)) return ops::DType::F32;
  return d;
}

bool elementwise_op(const std::string& name) {
  static const std::set<std::string> extra = {"cast", "to", "contiguous", "clone", "detach"};
  if (extra.count(name)) return true;
  const ops::OpSpec* spec = ops::find_op(name);
  return spec && spec->elementwise;
}

struct Evaluator {
  const eg::OpTable& ops;
  Mode mode;
  const std::map<std::string, ops::Tensor>& values;
  const std::map<std::string, std::int64_t>& integers;
  // When set, records each variable operand's domain (kind, index bound).
  std::map<std::string, VarInfo>* domains = nullptr;

  ops::AttrValue attr_of(const eg::Pattern& p) const { return attribute_value(ops, p, integers); }

  ops::Tensor settle(const ops::Tensor& t) const {
    ops::DType d = t.dtype();
    ops::DType m = map_dtype(d, mode);
    if (m == d || t.type().python_scalar) return t;
    return t.to(m);
  }

  std::vector<ops::Tensor> eval(const eg::Pattern& p) const {
    if (p.is_var()) {
      auto it = values.find(p.var);
      if (it == values.end()) throw std::invalid_argument("?" + p.var + " has no value (not a tensor variable)");
      return {it->second};
    }
    const eg::OpInfo& info = ops.info(p.op);
    if (info.kind == eg::OpKind::Constant) {
      bool integral = is_integer(info.constant);
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

  // The variable an operand is, or only rearranges (squeeze(?i), reshape(?i), ...): an op's
  // domain for the operand (indices in range, positive values, masks) applies to every element
  // of the variable, since these rearrangements keep all of its elements (a slice, which drops
  // some, is not one: drawing the dropped ones from the domain would narrow the test).
  std::optional<std::string> rearranged_var(const eg::Pattern& p) const {
    if (p.is_var()) return p.var;
    const eg::OpInfo& info = ops.info(p.op);
    static const char* kRearrangements[] = {"squeeze", "unsqueeze", "reshape", "transpose", "permute", "expand",
                                            "contiguous", "clone", "detach"};
    if (info.kind != eg::OpKind::Apply || p.children.empty()) return std::nullopt;
    if (std::find(std::begin(kRearrangements), std::end(kRearrangements), info.name) == std::end(kRearrangements))
      return std::nullopt;
    return rearranged_var(p.children[0]);
  }

  void record_domains(const std::string& op, const std::vector<std::pair<std::string, int>>& vars,
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
};

// ---- an instance with its variables' information --------------------------------------------

struct Setup {
  const eg::Rewrite& rule;
  const eg::OpTable& ops;
  std::vector<std::string> tensor_vars;  // lhs order
  std::map<std::string, ValueConstraint> guard_constraints;
  std::map<std::string, ops::DType> guard_dtypes;
  bool infinite_values = false;  // the lhs writes an infinite constant ("-inf"): see compare
};

bool writes_infinity(const eg::OpTable& ops, const eg::Pattern& p) {
  if (p.is_var()) return false;
  const eg::OpInfo& info = ops.info(p.op);
  if (info.kind == eg::OpKind::String || info.kind == eg::OpKind::Symbol)
    return info.name == "inf" || info.name == "+inf" || info.name == "-inf";
  for (const auto& c : p.children)
    if (writes_infinity(ops, c)) return true;
  return false;
}

Setup make_setup(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Instance& any_instance) {
  Setup s{rule, ops, {}, {}, {}, false};
  if (rule.guard) {
    collect_value_constraints(*rule.guard, s.guard_constraints);
    collect_dtype_facts(*rule.guard, s.guard_dtypes);
  }
  s.infinite_values = writes_infinity(ops, rule.lhs);
  for (const auto& v : rule.lhs.variables())
    if (any_instance.tensors.count(v)) s.tensor_vars.push_back(v);
  return s;
}

// Variable information on one instance: domains from a pass over the lhs with placeholder
// inputs (ones, zeros for integer and bool tensors), merged with the guard's constraints.
std::map<std::string, VarInfo> var_infos(const Setup& s, const Z3Instance& inst) {
  std::map<std::string, VarInfo> infos;
  std::map<std::string, ops::Tensor> placeholders;
  for (const auto& [name, type] : inst.tensors) {
    infos[name].type = type;
    std::vector<double> v(static_cast<std::size_t>(type.numel()), ops::is_floating(type.dtype) ? 1.0 : 0.0);
    placeholders[name] = ops::Tensor::from_doubles(v, type.shape, map_dtype(type.dtype, Mode::Real));
  }
  Evaluator ev{s.ops, Mode::Real, placeholders, inst.integers, &infos};
  try {
    ev.eval(s.rule.lhs);
  } catch (const std::exception&) {
    // Reported when the instance is evaluated for real.
  }
  for (auto& [name, vi] : infos) {
    if (vi.type.dtype == ops::DType::Bool) vi.kind = DomainKind::BoolMask;
    if (auto it = s.guard_constraints.find(name); it != s.guard_constraints.end()) vi.constraint = it->second;
    if (vi.kind == DomainKind::Positive) vi.constraint.lower(0, true);
    if (vi.kind == DomainKind::NonZero) vi.constraint.excluded.push_back(0);
  }
  return infos;
}

// One value of a variable; nullopt when the constraints could not be met.
double draw_value(const VarInfo& vi, Rng& rng) {
  const ValueConstraint& c = vi.constraint;
  bool floating = ops::is_floating(vi.type.dtype);
  if (vi.kind == DomainKind::BoolMask || vi.type.dtype == ops::DType::Bool) return rng.uniform() < 0.5 ? 1.0 : 0.0;
  if (vi.kind == DomainKind::Index) return static_cast<double>(rng.integer(0, std::max<std::int64_t>(vi.index_bound, 1)));
  for (int attempt = 0; attempt < 64; ++attempt) {
    double v;
    if (c.lo && c.hi) {
      double lo = *c.lo, hi = *c.hi;
      v = floating ? lo + (hi - lo) * rng.uniform() : static_cast<double>(rng.integer(static_cast<std::int64_t>(std::ceil(lo)),
                                                                                       static_cast<std::int64_t>(std::floor(hi)) + 1));
    } else if (c.lo) {
      v = floating ? *c.lo + 0.1 + 3.9 * rng.uniform() : std::ceil(*c.lo) + static_cast<double>(rng.integer(0, 8));
    } else if (c.hi) {
      v = floating ? *c.hi - 0.1 - 3.9 * rng.uniform() : std::floor(*c.hi) - static_cast<double>(rng.integer(0, 8));
    } else if (!c.excluded.empty()) {
      double sign = rng.uniform() < 0.5 ? -1.0 : 1.0;
      v = floating ? sign * (0.5 + 3.5 * rng.uniform()) : sign * static_cast<double>(rng.integer(1, 8));
    } else {
      v = floating ? rng.normal() : static_cast<double>(rng.integer(-8, 8));
    }
    if (c.admits(v)) return v;
  }
  throw std::runtime_error("could not draw a value satisfying the guard");
}

std::map<std::string, std::vector<double>> draw_inputs(const Setup& s, const Z3Instance& inst,
                                                       const std::map<std::string, VarInfo>& infos, std::uint64_t seed) {
  std::map<std::string, std::vector<double>> out;
  std::uint64_t k = 0;
  for (const auto& name : s.tensor_vars) {
    const VarInfo& vi = infos.at(name);
    Rng rng(mix_seed(seed, ++k));
    std::vector<double> v(static_cast<std::size_t>(vi.type.numel()));
    for (auto& x : v) x = draw_value(vi, rng);
    out[name] = std::move(v);
  }
  return out;
}

std::map<std::string, ops::Tensor> tensors_of(const std::map<std::string, std::vector<double>>& values,
                                              const std::map<std::string, VarInfo>& infos,
                                              const std::function<ops::DType(const std::string&, ops::DType)>& dtype) {
  std::map<std::string, ops::Tensor> out;
  for (const auto& [name, v] : values) {
    const VarInfo& vi = infos.at(name);
    out[name] = ops::Tensor::from_doubles(v, vi.type.shape, dtype(name, vi.type.dtype));
  }
  return out;
}

// ---- comparing the sides -------------------------------------------------------------------

struct Comparison {
  bool rhs_failed = false;  // the rhs did not evaluate where the lhs did
  bool shapes_differ = false;
  bool differ = false;
  std::int64_t compared = 0;  // lhs elements that were finite
  double max_diff = 0;
  std::int64_t where = -1;
  std::string note;
};

// `infinite_values`: the rule writes an infinite constant (masked_fill's value="-inf"), so an
// infinite lhs element is a value of the lhs, to be matched by the same infinity; otherwise an
// lhs element that is not finite is outside the lhs's domain (log(0), 1/0) and not compared.
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

// ---- printing ------------------------------------------------------------------------------

std::string number_text(double v, int digits) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string tensor_text(const std::vector<double>& v, const Shape& shape, int digits, std::size_t limit = 64) {
  if (shape.empty()) return v.empty() ? "[]" : number_text(v[0], digits);
  std::string out;
  std::size_t emitted = 0;
  std::function<void(std::size_t, std::size_t)> rec = [&](std::size_t dim, std::size_t offset) {
    out += "[";
    std::size_t stride = 1;
    for (std::size_t d = dim + 1; d < shape.size(); ++d) stride *= static_cast<std::size_t>(shape[d]);
    for (std::int64_t i = 0; i < shape[dim]; ++i) {
      if (i) out += ", ";
      if (emitted >= limit) {
        out += "...";
        break;
      }
      if (dim + 1 == shape.size()) {
        out += number_text(v[offset + static_cast<std::size_t>(i)], digits);
        ++emitted;
      } else {
        rec(dim + 1, offset + static_cast<std::size_t>(i) * stride);
      }
    }
    out += "]";
  };
  rec(0, 0);
  return out;
}

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string index_text(std::int64_t flat, const Shape& shape) {
  if (shape.empty()) return "[]";
  Shape idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_text(idx);
}

// ---- one trial -----------------------------------------------------------------------------

struct Trial {
  bool evaluated = false;  // the lhs evaluated (then the rhs did too, or cmp.rhs_failed)
  std::string error;       // why the lhs, or the rhs, did not evaluate
  ops::Tensor lhs, rhs;
  Comparison cmp;
};

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

bool fails(const Trial& t) { return t.evaluated && t.cmp.differ; }

std::size_t total_numel(const Z3Instance& inst) {
  std::size_t n = 0;
  for (const auto& [name, t] : inst.tensors) n += static_cast<std::size_t>(t.numel());
  return n;
}

struct Failure {
  Z3Instance inst;
  std::map<std::string, VarInfo> infos;
  std::map<std::string, std::vector<double>> values;
  Trial trial;
};

// Rounds inputs to a coarse grid while the trial still fails (readable counterexamples).
void simplify_values(const Setup& s, Failure& f, const RandomOptions& o) {
  for (double step : {1.0, 0.5, 0.25, 0.125, 1.0 / 64}) {
    auto candidate = f.values;
    bool changed = false;
    for (auto& [name, v] : candidate) {
      const VarInfo& vi = f.infos.at(name);
      if (!ops::is_floating(vi.type.dtype)) continue;
      for (auto& x : v) {
        double r = std::round(x / step) * step + 0.0;  // + 0.0: no -0
        if (r != x && vi.constraint.admits(r)) x = r, changed = true;
      }
    }
    if (!changed) continue;
    Trial t = run_trial(s, f.inst, f.infos, candidate, o);
    if (fails(t)) {
      f.values = std::move(candidate);
      f.trial = std::move(t);
      return;
    }
  }
}

std::string describe(const Failure& f, const std::string& origin) {
  std::ostringstream out;
  out << "instance: ";
  bool first = true;
  for (const auto& [name, vi] : f.infos) {
    out << (first ? "" : ", ") << "?" << name << ": " << vi.type.to_string();
    first = false;
  }
  for (const auto& [name, v] : f.inst.integers) out << (first ? "" : ", ") << "?" << name << " = " << v, first = false;
  out << "  (evaluated in float64)";
  if (!origin.empty()) out << "  (" << origin << ")";
  out << "\n";
  for (const auto& [name, v] : f.values) out << "  ?" << name << " = " << tensor_text(v, f.infos.at(name).type.shape, 6) << "\n";
  Shape ls = f.trial.lhs.shape();
  out << "  lhs = " << tensor_text(f.trial.lhs.to_doubles(), ls, 10) << "\n";
  if (f.trial.cmp.rhs_failed) {
    out << "  rhs: " << f.trial.cmp.note << "\n";
    return out.str();
  }
  Shape rs = f.trial.rhs.shape();
  out << "  rhs = " << tensor_text(f.trial.rhs.to_doubles(), rs, 10) << "\n";
  if (f.trial.cmp.shapes_differ)
    out << "  shapes differ: lhs " << shape_text(ls) << ", rhs " << shape_text(rs) << "\n";
  else
    out << "  max |lhs - rhs| = " << number_text(f.trial.cmp.max_diff, 4) << " at "
        << index_text(f.trial.cmp.where, ls.size() >= rs.size() ? ls : rs)
        << (f.trial.cmp.note.empty() ? "" : " (" + f.trial.cmp.note + ")") << "\n";
  return out.str();
}

RandomCounterexample structured(const Failure& f) {
  RandomCounterexample c;
  for (const auto& [name, vi] : f.infos) {
    ops::TensorType t = vi.type;
    t.dtype = map_dtype(t.dtype, Mode::Real);
    c.types[name] = t;
  }
  c.inputs = f.values;
  c.integers = f.inst.integers;
  c.lhs_shape = f.trial.lhs.shape();
  c.lhs = f.trial.lhs.to_doubles();
  if (!f.trial.cmp.rhs_failed) {  // else the rhs has no value: empty
    c.rhs_shape = f.trial.rhs.shape();
    c.rhs = f.trial.rhs.to_doubles();
  }
  return c;
}

// ---- exhaustive 16-bit sweeps --------------------------------------------------------------

float bf16_to_float(std::uint16_t bits) {
  std::uint32_t u = static_cast<std::uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

double f16_to_double(std::uint16_t h) {
  int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
  double v;
  if (exp == 0) v = std::ldexp(frac, -24);
  else if (exp == 31) v = frac ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else v = std::ldexp(1024 + frac, exp - 25);
  return sign ? -v : v;
}

// Every finite value of a 16-bit float dtype that the variable admits, ascending bit order.
std::vector<double> all_values(ops::DType dtype, const VarInfo& vi) {
  std::vector<double> out;
  for (std::uint32_t b = 0; b < 65536; ++b) {
    double v = dtype == ops::DType::BF16 ? static_cast<double>(bf16_to_float(static_cast<std::uint16_t>(b)))
                                         : f16_to_double(static_cast<std::uint16_t>(b));
    if (!std::isfinite(v) || !vi.constraint.admits(v)) continue;
    if (v == 0 && std::signbit(v) && vi.constraint.lo) continue;
    out.push_back(v);
  }
  return out;
}

// One tensor variable, every op elementwise (dtype casts included): the input space of a
// 16-bit variable is small enough to sweep.
bool sweepable(const Setup& s) {
  if (s.tensor_vars.size() != 1) return false;
  std::function<bool(const eg::Pattern&)> ok = [&](const eg::Pattern& p) {
    if (p.is_var()) return true;
    const eg::OpInfo& info = s.ops.info(p.op);
    if (info.is_leaf()) return true;
    if (!elementwise_op(info.name)) return false;
    NodeLayout layout;
    try {
      layout = layout_of(s.ops, p);
    } catch (const std::exception&) {
      return false;
    }
    for (std::size_t i = 0; i < p.children.size(); ++i)
      if (layout.child_attr[i].empty() && !ok(p.children[i])) return false;
    return true;
  };
  return ok(s.rule.lhs) && ok(s.rule.rhs);
}

// The instances to test: find_instances, or nothing.
std::vector<Z3Instance> instances_for(const eg::Rewrite& rule, const eg::OpTable& ops, int count, std::int64_t max_dim) {
  Z3Options zo;
  zo.instances = count;
  zo.max_dim = max_dim;
  try {
    return find_instances(rule, ops, zo);
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace

// ---- test_rule_random ------------------------------------------------------------------------

RandomVerdict test_rule_random(const eg::Rewrite& rule, const eg::OpTable& ops, const RandomOptions& options) {
  auto start = std::chrono::steady_clock::now();
  RandomVerdict verdict;
  auto finish = [&](RandomVerdict& v) -> RandomVerdict& {
    v.seconds = seconds_since(start);
    return v;
  };
  std::vector<Z3Instance> instances = !options.instances_given.empty()
                                          ? options.instances_given
                                          : instances_for(rule, ops, std::max(1, options.instances), 5);
  if (instances.empty()) {
    verdict.reason = "no shape instance satisfies the guard and the ops' typing";
    return finish(verdict);
  }
  Setup setup = make_setup(rule, ops, instances[0]);

  std::optional<Failure> failure;
  std::vector<std::string> errors;
  int n = static_cast<int>(instances.size());
  int compared_trials = 0;
  bool out_of_time = false;
  auto over_budget = [&] { return options.seconds > 0 && seconds_since(start) > options.seconds; };
  for (int i = 0; i < n && !failure && !out_of_time; ++i) {
    const Z3Instance& inst = instances[i];
    auto infos = var_infos(setup, inst);
    int count = options.trials / n + (i < options.trials % n ? 1 : 0);
    for (int t = 0; t < count; ++t) {
      if (over_budget()) {
        out_of_time = true;
        break;
      }
      std::map<std::string, std::vector<double>> values;
      try {
        values = draw_inputs(setup, inst, infos, mix_seed(options.seed, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(t)));
      } catch (const std::exception& e) {
        errors.push_back(inst.to_string() + ": " + e.what());
        break;
      }
      Trial trial = run_trial(setup, inst, infos, values, options);
      if (!trial.evaluated) {
        errors.push_back(inst.to_string() + ": " + trial.error);
        break;  // the instance does not evaluate
      }
      ++verdict.trials;
      if (trial.cmp.compared == 0 && !trial.cmp.differ) {
        ++verdict.skipped;
        continue;
      }
      ++compared_trials;
      if (fails(trial)) {
        failure = Failure{inst, infos, std::move(values), std::move(trial)};
        break;
      }
    }
  }

  // One-variable elementwise rules: sweep every finite bf16 value (in f64).
  if (!failure && !out_of_time && sweepable(setup)) {
    const std::string& name = setup.tensor_vars[0];
    Z3Instance inst = instances[0];
    auto infos = var_infos(setup, inst);
    VarInfo& vi = infos.at(name);
    if (ops::is_floating(vi.type.dtype) && vi.kind != DomainKind::Index) {
      std::vector<double> values = all_values(ops::DType::BF16, vi);
      VarInfo swept = vi;
      swept.type.shape = {static_cast<std::int64_t>(values.size())};
      auto sweep_infos = infos;
      sweep_infos[name] = swept;
      Z3Instance sweep_inst = inst;
      sweep_inst.tensors[name] = swept.type;
      Trial trial = run_trial(setup, sweep_inst, sweep_infos, {{name, values}}, options);
      if (trial.evaluated) {
        verdict.swept_values = static_cast<std::int64_t>(values.size());
        verdict.exhaustive = vi.type.dtype == ops::DType::BF16;  // its whole input space
        if (fails(trial)) {
          // Report the worst value as a one-element tensor.
          // (No position when the shapes differ or the rhs does not evaluate: the first value.)
          double x = values[trial.cmp.where >= 0 ? static_cast<std::size_t>(trial.cmp.where) : 0];
          VarInfo one = vi;
          one.type.shape = {1};
          auto one_infos = infos;
          one_infos[name] = one;
          Z3Instance one_inst = inst;
          one_inst.tensors[name] = one.type;
          std::map<std::string, std::vector<double>> v{{name, {x}}};
          Trial t1 = run_trial(setup, one_inst, one_infos, v, options);
          if (fails(t1)) failure = Failure{one_inst, one_infos, v, std::move(t1)};
          else failure = Failure{sweep_inst, sweep_infos, {{name, values}}, std::move(trial)};
        }
      }
    }
  }

  if (failure) {
    // Shrink: the smallest instance (fewest elements) on which some draw fails.
    std::vector<Z3Instance> candidates;
    for (std::int64_t max_dim : {2, 3}) {
      for (auto& c : instances_for(rule, ops, 8, max_dim)) candidates.push_back(std::move(c));
    }
    for (const auto& c : instances) candidates.push_back(c);
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Z3Instance& a, const Z3Instance& b) { return total_numel(a) < total_numel(b); });
    std::set<std::string> seen;
    for (const auto& c : candidates) {
      if (total_numel(c) >= total_numel(failure->inst)) break;
      if (!seen.insert(c.to_string()).second) continue;
      auto infos = var_infos(setup, c);
      bool found = false;
      for (int t = 0; t < 32 && !found; ++t) {
        std::map<std::string, std::vector<double>> values;
        try {
          values = draw_inputs(setup, c, infos, mix_seed(options.seed ^ 0xa5a5a5a5ULL, total_numel(c), static_cast<std::uint64_t>(t)));
        } catch (const std::exception&) {
          break;
        }
        Trial trial = run_trial(setup, c, infos, values, options);
        if (!trial.evaluated) break;
        if (fails(trial)) {
          failure = Failure{c, infos, std::move(values), std::move(trial)};
          found = true;
        }
      }
      if (found) break;
    }
    simplify_values(setup, *failure, options);
    verdict.status = RandomStatus::Refuted;
    verdict.counterexample = describe(*failure, "");
    verdict.example = structured(*failure);
    verdict.reason = failure->trial.cmp.rhs_failed      ? "the rhs does not evaluate where the lhs does"
                     : failure->trial.cmp.shapes_differ ? "the sides' shapes differ"
                                                        : "the sides differ";
    return finish(verdict);
  }

  if (out_of_time) {
    verdict.status = RandomStatus::Unknown;
    verdict.reason = "out of time after " + std::to_string(verdict.trials) + " of " + std::to_string(options.trials) +
                     " trials (no failure among them)";
    return finish(verdict);
  }
  if (compared_trials == 0 && verdict.swept_values == 0) {
    verdict.status = RandomStatus::Unknown;
    if (!errors.empty()) verdict.reason = "evaluation failed: " + errors.front();
    else verdict.reason = "no draw fell inside the lhs's domain (" + std::to_string(verdict.skipped) + " skipped)";
    return finish(verdict);
  }
  verdict.status = RandomStatus::Passed;
  std::string note;
  if (verdict.skipped) note += std::to_string(verdict.skipped) + " draws outside the lhs's domain skipped";
  if (!errors.empty()) note += std::string(note.empty() ? "" : "; ") + std::to_string(errors.size()) + " instance(s) did not evaluate: " + errors.front();
  verdict.reason = note;
  return finish(verdict);
}

// ---- judge_numerics --------------------------------------------------------------------------
//
// Deployment precision: each tensor variable in the dtype its guard gives it, else bf16
// (integer and bool tensors keep theirs). Inputs are drawn as in test_rule_random and rounded
// to the deployment dtype; the reference is the lhs evaluated on the same values with every
// floating dtype narrower than f32 promoted to f32 (casts included). Errors are pooled over
// all trials: ||.|| is the Frobenius norm of the concatenation of every trial's elements
// (elements where a side or the reference is not finite are left out, and a side that is not
// finite where the other is counts as changing precision). Pooling keeps R from being decided
// by one tiny trial whose lhs happens to round exactly (R = x / eps); it is the R-ratio of
// one big tensor made of all the trials. eps = 1e-9 * ||ref|| / sqrt(N) (N pooled elements),
// i.e. an error a billionth of an average element, far below bf16's 2^-9.
// An exhaustive sweep spans magnitudes from 1e-38 to 3e38, so there each element's errors
// are divided by max(|ref|, smallest normal f32) before pooling (a relative-error R);
// otherwise the few largest values would decide R alone.

NumericsVerdict judge_numerics(const eg::Rewrite& rule, const eg::OpTable& ops, const RandomOptions& options) {
  auto start = std::chrono::steady_clock::now();
  NumericsVerdict verdict;
  std::vector<Z3Instance> instances = !options.instances_given.empty()
                                          ? options.instances_given
                                          : instances_for(rule, ops, std::max(1, options.instances), 5);
  if (instances.empty()) {
    verdict.detail = "no shape instance satisfies the guard and the ops' typing";
    return verdict;
  }
  Setup setup = make_setup(rule, ops, instances[0]);
  auto low_dtype = [&](const std::string& name, ops::DType instance_dtype) {
    if (auto it = setup.guard_dtypes.find(name); it != setup.guard_dtypes.end()) return it->second;
    return ops::is_floating(instance_dtype) ? ops::DType::BF16 : instance_dtype;
  };
  auto ref_dtype = [&](const std::string& name, ops::DType d) { return map_dtype(low_dtype(name, d), Mode::Ref); };

  double err_l = 0, err_r = 0, ref_sq = 0;
  std::int64_t pooled = 0, finiteness_mismatch = 0;
  bool bitwise = true;
  std::vector<std::string> errors;

  bool relative = false;  // exhaustive sweeps: errors relative to each element's scale
  bool out_of_time = false;
  auto accumulate = [&](const Z3Instance& inst, const std::map<std::string, VarInfo>& infos,
                        const std::map<std::string, std::vector<double>>& values) -> bool {
    if (options.seconds > 0 && seconds_since(start) > options.seconds) {
      out_of_time = true;
      return false;
    }
    try {
      auto low = tensors_of(values, infos, low_dtype);
      auto ref_in = tensors_of(values, infos, low_dtype);
      for (auto& [name, t] : ref_in) t = t.to(ref_dtype(name, t.dtype()));
      Evaluator lo{ops, Mode::Low, low, inst.integers};
      Evaluator re{ops, Mode::Ref, ref_in, inst.integers};
      auto l = lo.eval(rule.lhs), r = lo.eval(rule.rhs), f = re.eval(rule.lhs);
      if (l.size() != 1 || r.size() != 1 || f.size() != 1) throw std::invalid_argument("a side evaluates to several tensors");
      std::vector<double> a = l[0].to_doubles(), b = r[0].to_doubles(), c = f[0].to_doubles();
      Shape ls = l[0].shape(), rs = r[0].shape();
      if (l[0].dtype() != r[0].dtype() || ls != rs) bitwise = false;
      auto widen = [&](std::vector<double>& v, const Shape& s) {
        if (s.empty() && v.size() == 1 && c.size() != 1) v.assign(c.size(), v[0]);
      };
      widen(a, ls);
      widen(b, rs);
      if (a.size() != c.size() || b.size() != c.size()) throw std::invalid_argument("the sides' shapes differ");
      for (std::size_t i = 0; i < c.size(); ++i) {
        bool fa = std::isfinite(a[i]), fb = std::isfinite(b[i]);
        if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) bitwise = false;
        if (fa != fb) ++finiteness_mismatch;
        if (!fa || !fb || !std::isfinite(c[i])) continue;
        double w = relative ? 1.0 / std::max(std::abs(c[i]), 1.1754943508222875e-38) : 1.0;
        err_l += (a[i] - c[i]) * (a[i] - c[i]) * w * w;
        err_r += (b[i] - c[i]) * (b[i] - c[i]) * w * w;
        ref_sq += c[i] * c[i] * w * w;
        ++pooled;
      }
      ++verdict.trials;
      return true;
    } catch (const std::exception& e) {
      errors.push_back(inst.to_string() + ": " + e.what());
      return false;
    }
  };

  // Exhaustive: one 16-bit floating variable, elementwise ops only.
  if (sweepable(setup)) {
    const std::string& name = setup.tensor_vars[0];
    Z3Instance inst = instances[0];
    auto infos = var_infos(setup, inst);
    VarInfo vi = infos.at(name);
    ops::DType d = low_dtype(name, vi.type.dtype);
    if ((d == ops::DType::BF16 || d == ops::DType::F16) && vi.kind != DomainKind::Index) {
      std::vector<double> values = all_values(d, vi);
      vi.type.shape = {static_cast<std::int64_t>(values.size())};
      infos[name] = vi;
      inst.tensors[name] = vi.type;
      relative = true;
      if (accumulate(inst, infos, {{name, values}})) {
        verdict.exhaustive = true;
        verdict.detail = "every finite " + std::string(ops::dtype_name(d)) + " value in the domain (" +
                         std::to_string(values.size()) + "), errors relative to each value's scale";
      } else {
        relative = false;
      }
    }
  }
  if (!verdict.exhaustive) {
    int n = static_cast<int>(instances.size());
    for (int i = 0; i < n; ++i) {
      const Z3Instance& inst = instances[i];
      auto infos = var_infos(setup, inst);
      int count = options.trials / n + (i < options.trials % n ? 1 : 0);
      for (int t = 0; t < count; ++t) {
        std::map<std::string, std::vector<double>> values;
        try {
          values = draw_inputs(setup, inst, infos, mix_seed(options.seed, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(t)));
        } catch (const std::exception& e) {
          errors.push_back(e.what());
          break;
        }
        if (!accumulate(inst, infos, values)) break;
      }
    }
    std::string dtypes;
    for (const auto& name : setup.tensor_vars)
      dtypes += (dtypes.empty() ? "" : ", ") + ("?" + name) + ": " +
                std::string(ops::dtype_name(low_dtype(name, instances[0].tensors.at(name).dtype)));
    verdict.detail = std::to_string(verdict.trials) + " trials (" + dtypes + ")";
  }
  if (out_of_time) {
    verdict.numerics = Numerics::Unknown;
    verdict.detail = "out of time after " + std::to_string(verdict.trials) + " trials";
    return verdict;
  }
  if (verdict.trials == 0) {
    verdict.numerics = Numerics::Unknown;
    verdict.detail = errors.empty() ? "nothing evaluated" : "evaluation failed: " + errors.front();
    return verdict;
  }
  if (bitwise) {
    verdict.numerics = Numerics::Exact;
    verdict.r_ratio = 0;
    verdict.detail = "bitwise identical; " + verdict.detail;
    return verdict;
  }
  double nl = std::sqrt(err_l), nr = std::sqrt(err_r);
  double eps = 1e-9 * std::sqrt(ref_sq) / std::sqrt(static_cast<double>(std::max<std::int64_t>(pooled, 1))) + 1e-300;
  verdict.r_forward = nr / (nl + eps);
  verdict.r_backward = nl / (nr + eps);
  verdict.r_ratio = std::max(verdict.r_forward, verdict.r_backward);
  constexpr double tau = 1.2;
  verdict.numerics = verdict.r_ratio <= tau && finiteness_mismatch == 0 ? Numerics::WithinBaseline : Numerics::ChangesPrecision;
  char buf[256];
  std::snprintf(buf, sizeof buf, "R = %.3g (||rhs-ref||/||lhs-ref|| = %.3g, ||lhs-ref||/||rhs-ref|| = %.3g; ||lhs-ref|| = %.3g, ||rhs-ref|| = %.3g); ",
                verdict.r_ratio, verdict.r_forward, verdict.r_backward, nl, nr);
  verdict.detail = buf + verdict.detail;
  if (finiteness_mismatch)
    verdict.detail += "; " + std::to_string(finiteness_mismatch) + " elements finite on one side only";
  if (verdict.numerics == Numerics::ChangesPrecision && verdict.r_forward > verdict.r_backward)
    verdict.detail += "; the rhs is less precise than the lhs";
  else if (verdict.numerics == Numerics::ChangesPrecision)
    verdict.detail += "; the rhs is more precise than the lhs (it skips roundings the lhs does)";
  return verdict;
}

}  // namespace twin::verify
