#include "verify/random_inputs.h"

#include "ops/constant_values.h"

#include "verify/pattern_layout.h"
#include "verify/random_evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace twin::verify::random_testing {

namespace eg = twin::egraph;
using SE = eg::ScalarExpr;

// ---- deterministic random numbers ----------------------------------------------------------

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t s = a ^ 0x5851f42d4c957f2dULL;
  splitmix(s);
  s ^= b * 0x2545f4914f6cdd1dULL;
  splitmix(s);
  s ^= c * 0x9e3779b97f4a7c15ULL;
  return splitmix(s);
}

double Rng::uniform() { return static_cast<double>(splitmix(state) >> 11) * (1.0 / 9007199254740992.0); }

double Rng::normal() {
  double u1 = uniform(), u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

std::int64_t Rng::integer(std::int64_t lo, std::int64_t hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<std::int64_t>(splitmix(state) % static_cast<std::uint64_t>(hi - lo));
}

// ---- what the guard and the ops say about a variable's values -------------------------------

void ValueConstraint::lower(double v, bool strict) {
  if (!lo || v > *lo || (v == *lo && strict)) lo = v, lo_strict = strict;
}

void ValueConstraint::upper(double v, bool strict) {
  if (!hi || v < *hi || (v == *hi && strict)) hi = v, hi_strict = strict;
}

bool ValueConstraint::admits(double v) const {
  if (!std::isfinite(v)) return false;
  if (lo && (v < *lo || (lo_strict && v == *lo))) return false;
  if (hi && (v > *hi || (hi_strict && v == *hi))) return false;
  for (double e : excluded)
    if (v == e) return false;
  return true;
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

namespace {

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

// The variables of the guard's `QUERY(?m)` conjuncts (every_row_attends, additive_mask).
void collect_query_vars(const SE& g, const std::string& query, std::set<std::string>& out) {
  if (g.kind == SE::Kind::And) {
    for (const auto& a : g.args) collect_query_vars(a, query, out);
    return;
  }
  if (g.kind == SE::Kind::Query && g.text == query && g.args.size() == 1 && g.args[0].kind == SE::Kind::PatternVar)
    out.insert(g.args[0].text);
}

// The (first, second) variables of the guard's two-argument `QUERY(?a, ?b)` conjuncts.
void collect_query_pairs(const SE& g, const std::string& query, std::vector<std::pair<std::string, std::string>>& out) {
  if (g.kind == SE::Kind::And) {
    for (const auto& a : g.args) collect_query_pairs(a, query, out);
    return;
  }
  if (g.kind == SE::Kind::Query && g.text == query && g.args.size() == 2 && g.args[0].kind == SE::Kind::PatternVar &&
      g.args[1].kind == SE::Kind::PatternVar)
    out.emplace_back(g.args[0].text, g.args[1].text);
}

// Every row (along the last dim) of `v` gets an element for which `kept` holds: a row that
// drew none gets `value` at a random place.
template <class Kept>
void keep_one_per_row(std::vector<double>& v, std::int64_t row_length, Kept kept, double value, Rng& rng) {
  if (row_length <= 0) return;
  const auto row = static_cast<std::size_t>(row_length);
  for (std::size_t start = 0; start + row <= v.size(); start += row)
    if (std::none_of(v.begin() + std::ptrdiff_t(start), v.begin() + std::ptrdiff_t(start + row), kept))
      v[start + static_cast<std::size_t>(rng.integer(0, row_length))] = value;
}

bool writes_infinity(const eg::OpTable& ops, const eg::Pattern& p) {
  if (p.is_var()) return false;
  const eg::OpInfo& info = ops.info(p.op);
  if (info.kind == eg::OpKind::String || info.kind == eg::OpKind::Symbol)
    return info.name == "inf" || info.name == "+inf" || info.name == "-inf";
  for (const auto& c : p.children)
    if (writes_infinity(ops, c)) return true;
  return false;
}

// One value of a variable; throws when the constraints could not be met.
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

}  // namespace

// ---- an instance with its variables' information --------------------------------------------

Setup make_setup(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Instance& any_instance) {
  Setup s{rule, ops, {}, {}, {}, false, {}, {}, {}, {}, {}, {}, {}};
  if (rule.guard) {
    collect_value_constraints(*rule.guard, s.guard_constraints);
    collect_dtype_facts(*rule.guard, s.guard_dtypes);
    collect_query_vars(*rule.guard, "every_row_attends", s.attending_masks);
    collect_query_vars(*rule.guard, "every_row_keeps", s.keeping_masks);
    collect_query_vars(*rule.guard, "additive_mask", s.additive_masks);
    collect_query_vars(*rule.guard, "distinct_indices", s.distinct_index_vectors);
    collect_query_vars(*rule.guard, "all_zero", s.zero_tensors);
    collect_query_pairs(*rule.guard, "masks_unlisted", s.unlisted_masks);
    collect_query_pairs(*rule.guard, "indexes_rows_of", s.row_indices);
  }
  s.infinite_values = writes_infinity(ops, rule.lhs);
  for (const auto& v : rule.lhs.variables())
    if (any_instance.tensors.count(v)) s.tensor_vars.push_back(v);
  return s;
}

namespace {

// A variable's value as a tensor: a number variable (`scale=?s`, rank 0 with
// type.python_scalar) becomes a python number, as the constant the e-graph binds it to.
ops::Tensor value_tensor(const std::vector<double>& v, const ops::TensorType& type, ops::DType dtype) {
  if (type.python_scalar && v.size() == 1) return ops::Tensor::python_scalar(v[0], !ops::is_floating(type.dtype));
  return ops::Tensor::from_doubles(v, type.shape, dtype);
}

}  // namespace

std::map<std::string, VarInfo> var_infos(const Setup& s, const Z3Instance& inst) {
  std::map<std::string, VarInfo> infos;
  std::map<std::string, ops::Tensor> placeholders;
  for (const auto& [name, type] : inst.tensors) {
    infos[name].type = type;
    std::vector<double> v(static_cast<std::size_t>(type.numel()), ops::is_floating(type.dtype) ? 1.0 : 0.0);
    placeholders[name] = value_tensor(v, type, map_dtype(type.dtype, Mode::Real));
  }
  Evaluator ev{s.ops, Mode::Real, placeholders, inst.integers, &infos};
  try {
    ev.eval(s.rule.lhs);
  } catch (const std::exception&) {
    // Reported when the instance is evaluated for real.
  }
  for (const auto& [indices, table] : s.row_indices) {
    auto i = infos.find(indices);
    auto w = infos.find(table);
    if (i == infos.end() || w == infos.end() || w->second.type.shape.empty()) continue;
    const std::int64_t rows = w->second.type.shape[0];
    i->second.kind = DomainKind::Index;
    if (i->second.index_bound < 0 || rows < i->second.index_bound) i->second.index_bound = rows;
  }
  for (auto& [name, vi] : infos) {
    if (vi.type.dtype == ops::DType::Bool) vi.kind = DomainKind::BoolMask;
    if (auto it = s.guard_constraints.find(name); it != s.guard_constraints.end()) vi.constraint = it->second;
    if (vi.kind == DomainKind::Positive) vi.constraint.lower(0, true);
    if (vi.kind == DomainKind::NonZero) vi.constraint.excluded.push_back(0);
  }
  return infos;
}

std::map<std::string, std::vector<double>> draw_inputs(const Setup& s, const Z3Instance& inst,
                                                       const std::map<std::string, VarInfo>& infos, std::uint64_t seed) {
  std::map<std::string, std::vector<double>> out;
  std::uint64_t k = 0;
  for (const auto& name : s.tensor_vars) {
    const VarInfo& vi = infos.at(name);
    Rng rng(mix_seed(seed, ++k));
    std::vector<double> v(static_cast<std::size_t>(vi.type.numel()));
    const std::int64_t row = vi.type.shape.empty() ? 0 : vi.type.shape.back();
    if (s.zero_tensors.count(name)) {
      std::fill(v.begin(), v.end(), 0.0);
    } else if (s.additive_masks.count(name)) {
      for (auto& x : v) x = rng.uniform() < 0.5 ? 0.0 : (rng.uniform() < 0.5 ? -1e30 : -3.4028234663852886e38);
      keep_one_per_row(v, row, [](double a) { return a == 0; }, 0.0, rng);
    } else if (s.distinct_index_vectors.count(name)) {
      // Distinct positions: a random arrangement of [0, bound), its first numel.
      const std::int64_t bound = std::max<std::int64_t>(vi.index_bound, static_cast<std::int64_t>(v.size()));
      std::vector<double> positions(static_cast<std::size_t>(bound));
      for (std::size_t i = 0; i < positions.size(); ++i) positions[i] = static_cast<double>(i);
      for (std::size_t i = positions.size(); i > 1; --i)
        std::swap(positions[i - 1], positions[static_cast<std::size_t>(rng.integer(0, static_cast<std::int64_t>(i)))]);
      std::copy(positions.begin(), positions.begin() + static_cast<std::ptrdiff_t>(v.size()), v.begin());
    } else {
      for (auto& x : v) x = draw_value(vi, rng);
      if (s.attending_masks.count(name)) keep_one_per_row(v, row, [](double b) { return b != 0; }, 1.0, rng);
      if (s.keeping_masks.count(name)) keep_one_per_row(v, row, [](double b) { return b == 0; }, 0.0, rng);
    }
    out[name] = std::move(v);
  }
  for (const auto& [mask, indices] : s.unlisted_masks) {
    auto m = out.find(mask);
    auto i = out.find(indices);
    if (m == out.end() || i == out.end()) continue;
    const ops::TensorType& type = infos.at(mask).type;
    if (type.shape.empty() || type.shape.back() <= 0) continue;
    const auto row = static_cast<std::size_t>(type.shape.back());
    std::vector<std::size_t> listed_columns;
    std::vector<bool> listed(row, false);
    for (double x : i->second)
      if (x >= 0 && static_cast<std::size_t>(x) < row && !listed[static_cast<std::size_t>(x)]) {
        listed[static_cast<std::size_t>(x)] = true;
        listed_columns.push_back(static_cast<std::size_t>(x));
      }
    std::vector<double>& v = m->second;
    const bool boolean = type.dtype == ops::DType::Bool;
    for (std::size_t e = 0; e < v.size(); ++e)
      if (!listed[e % row]) v[e] = boolean ? 1.0 : ops::kMaskedBelow;
    if ((s.keeping_masks.count(mask) || s.additive_masks.count(mask)) && !listed_columns.empty()) {
      Rng rng(mix_seed(seed, ++k));
      for (std::size_t start = 0; start + row <= v.size(); start += row) {
        bool kept = false;
        for (std::size_t c : listed_columns) kept = kept || v[start + c] == 0;
        if (!kept)
          v[start + listed_columns[static_cast<std::size_t>(rng.integer(0, static_cast<std::int64_t>(listed_columns.size())))]] = 0.0;
      }
    }
  }
  return out;
}

std::map<std::string, ops::Tensor> tensors_of(const std::map<std::string, std::vector<double>>& values,
                                              const std::map<std::string, VarInfo>& infos,
                                              const std::function<ops::DType(const std::string&, ops::DType)>& dtype) {
  std::map<std::string, ops::Tensor> out;
  for (const auto& [name, v] : values) {
    const VarInfo& vi = infos.at(name);
    out[name] = value_tensor(v, vi.type, dtype(name, vi.type.dtype));
  }
  return out;
}

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

// ---- exhaustive 16-bit sweeps --------------------------------------------------------------

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

}  // namespace twin::verify::random_testing
