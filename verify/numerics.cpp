// Judging a rule's numerics: is a rule that holds in real arithmetic also exact in floating
// point? (verify/random_tester.h states the contract and the R-ratio; docs/verification.md,
// "Numerics", the definitions and results.)
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
#include "verify/random_evaluation.h"
#include "verify/random_inputs.h"
#include "verify/random_tester.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace twin::verify {

namespace eg = twin::egraph;
using namespace random_testing;

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

using Clock = std::chrono::steady_clock;
using Shape = std::vector<std::int64_t>;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The pooled errors of both sides against the reference, over every trial.
class NumericsJudge {
 public:
  NumericsJudge(const Setup& setup, const RandomOptions& options, Clock::time_point start, NumericsVerdict& verdict)
      : setup(setup), options(options), start(start), verdict(verdict) {}

  // Exhaustive: one 16-bit floating variable, elementwise ops only.
  void sweep(const Z3Instance& first);
  // `options.trials` draws spread over the instances (unless the sweep was exhaustive).
  void draw(const std::vector<Z3Instance>& instances);
  // The verdict from the pooled errors.
  NumericsVerdict conclude();

 private:
  ops::DType low_dtype(const std::string& name, ops::DType instance_dtype) const {
    if (auto it = setup.guard_dtypes.find(name); it != setup.guard_dtypes.end()) return it->second;
    return ops::is_floating(instance_dtype) ? ops::DType::BF16 : instance_dtype;
  }
  ops::DType ref_dtype(const std::string& name, ops::DType d) const { return map_dtype(low_dtype(name, d), Mode::Ref); }
  // Evaluates both sides and the reference on the values and pools their errors; false when
  // out of time or when a side does not evaluate (recorded in `errors`).
  bool accumulate(const Z3Instance& inst, const std::map<std::string, VarInfo>& infos,
                  const std::map<std::string, std::vector<double>>& values);

  const Setup& setup;
  const RandomOptions& options;
  Clock::time_point start;
  NumericsVerdict& verdict;

  double err_l = 0, err_r = 0, ref_sq = 0;
  std::int64_t pooled = 0, finiteness_mismatch = 0;
  bool bitwise = true;
  std::vector<std::string> errors;
  bool relative = false;  // exhaustive sweeps: errors relative to each element's scale
  bool out_of_time = false;
};

bool NumericsJudge::accumulate(const Z3Instance& inst, const std::map<std::string, VarInfo>& infos,
                               const std::map<std::string, std::vector<double>>& values) {
  if (options.seconds > 0 && seconds_since(start) > options.seconds) {
    out_of_time = true;
    return false;
  }
  try {
    auto deployment = [this](const std::string& name, ops::DType d) { return low_dtype(name, d); };
    auto low = tensors_of(values, infos, deployment);
    auto ref_in = tensors_of(values, infos, deployment);
    for (auto& [name, t] : ref_in)
      if (!t.type().python_scalar) t = t.to(ref_dtype(name, t.dtype()));
    Evaluator lo{setup.ops, Mode::Low, low, inst.integers};
    Evaluator re{setup.ops, Mode::Ref, ref_in, inst.integers};
    auto l = lo.eval(setup.rule.lhs), r = lo.eval(setup.rule.rhs), f = re.eval(setup.rule.lhs);
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
}

void NumericsJudge::sweep(const Z3Instance& first) {
  if (!sweepable(setup)) return;
  const std::string& name = setup.tensor_vars[0];
  Z3Instance inst = first;
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

void NumericsJudge::draw(const std::vector<Z3Instance>& instances) {
  if (verdict.exhaustive) return;
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

NumericsVerdict NumericsJudge::conclude() {
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

}  // namespace

NumericsVerdict judge_numerics(const eg::Rewrite& rule, const eg::OpTable& ops, const RandomOptions& options) {
  auto start = Clock::now();
  NumericsVerdict verdict;
  std::vector<Z3Instance> instances = !options.instances_given.empty()
                                          ? options.instances_given
                                          : instances_for(rule, ops, std::max(1, options.instances), 5);
  if (instances.empty()) {
    verdict.detail = "no shape instance satisfies the guard and the ops' typing";
    return verdict;
  }
  Setup setup = make_setup(rule, ops, instances[0]);
  NumericsJudge judge(setup, options, start, verdict);
  judge.sweep(instances[0]);
  judge.draw(instances);
  return judge.conclude();
}

}  // namespace twin::verify
