#include "verify/random_counterexample.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <set>
#include <sstream>

namespace twin::verify::random_testing {

using Shape = std::vector<std::int64_t>;

namespace {

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

}  // namespace

std::size_t total_numel(const Z3Instance& inst) {
  std::size_t n = 0;
  for (const auto& [name, t] : inst.tensors) n += static_cast<std::size_t>(t.numel());
  return n;
}

void shrink(const Setup& s, const std::vector<Z3Instance>& tested, const RandomOptions& o, Failure& failure) {
  // Shrink: the smallest instance (fewest elements) on which some draw fails.
  std::vector<Z3Instance> candidates;
  for (std::int64_t max_dim : {2, 3}) {
    for (auto& c : instances_for(s.rule, s.ops, 8, max_dim)) candidates.push_back(std::move(c));
  }
  for (const auto& c : tested) candidates.push_back(c);
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Z3Instance& a, const Z3Instance& b) { return total_numel(a) < total_numel(b); });
  std::set<std::string> seen;
  for (const auto& c : candidates) {
    if (total_numel(c) >= total_numel(failure.inst)) break;
    if (!seen.insert(c.to_string()).second) continue;
    auto infos = var_infos(s, c);
    bool found = false;
    for (int t = 0; t < 32 && !found; ++t) {
      std::map<std::string, std::vector<double>> values;
      try {
        values = draw_inputs(s, c, infos, mix_seed(o.seed ^ 0xa5a5a5a5ULL, total_numel(c), static_cast<std::uint64_t>(t)));
      } catch (const std::exception&) {
        break;
      }
      Trial trial = run_trial(s, c, infos, values, o);
      if (!trial.evaluated) break;
      if (fails(trial)) {
        failure = Failure{c, infos, std::move(values), std::move(trial)};
        found = true;
      }
    }
    if (found) break;
  }
  simplify_values(s, failure, o);
}

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

}  // namespace twin::verify::random_testing
