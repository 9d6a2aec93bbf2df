#include "verify/z3_counterexample.h"

#include "ops/dtype.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <sstream>

namespace twin::verify {

using Shape = std::vector<std::int64_t>;

// ---- concrete values -----------------------------------------------------------------------

std::optional<Rational> exact_value(const z3::expr& v) {
  if (!v.is_numeral()) return std::nullopt;
  return parse_rational(Z3_get_numeral_string(v.ctx(), v));
}

long double approx_value(const z3::expr& v) {
  if (auto r = exact_value(v)) {
    return static_cast<long double>(boost::multiprecision::numerator(*r).convert_to<long double>()) /
           static_cast<long double>(boost::multiprecision::denominator(*r).convert_to<long double>());
  }
  std::string s = v.get_decimal_string(30);
  if (!s.empty() && s.back() == '?') s.pop_back();
  return std::strtold(s.c_str(), nullptr);
}

namespace {

std::string approx_text(long double x) {
  std::ostringstream o;
  o.precision(10);
  o << static_cast<double>(x);
  return o.str();
}

}  // namespace

long double NumericEval::eval(const z3::expr& e) {
  if (auto it = memo.find(e.id()); it != memo.end()) return it->second;
  long double r = compute(e);
  memo[e.id()] = r;
  return r;
}

long double NumericEval::compute(const z3::expr& e) {
  if (e.is_numeral() || e.is_algebraic()) return approx_value(e);
  if (e.is_true()) return 1;
  if (e.is_false()) return 0;
  if (!e.is_app()) {
    failed = true;
    return 0;
  }
  z3::func_decl d = e.decl();
  std::string uf;
  if (enc.is_uf(d, &uf)) {
    if (e.num_args() == 0) {
      if (uf == "sqrt2") return std::sqrt(2.0L);
      if (uf == "sqrt_2_over_pi") return std::sqrt(2.0L / 3.14159265358979323846264338327950288L);
      failed = true;
      return 0;
    }
    long double x = eval(e.arg(0));
    if (uf == "exp") return std::exp(x);
    if (uf == "log") return std::log(x);
    if (uf == "tanh") return std::tanh(x);
    if (uf == "erf") return std::erf(x);
    if (uf == "sin") return std::sin(x);
    if (uf == "cos") return std::cos(x);
    if (uf == "sqrt") return std::sqrt(x);
    failed = true;
    return 0;
  }
  auto a = [&](unsigned i) { return eval(e.arg(i)); };
  unsigned n = e.num_args();
  switch (d.decl_kind()) {
    case Z3_OP_ADD: {
      long double s = 0;
      for (unsigned i = 0; i < n; ++i) s += a(i);
      return s;
    }
    case Z3_OP_MUL: {
      long double s = 1;
      for (unsigned i = 0; i < n; ++i) s *= a(i);
      return s;
    }
    case Z3_OP_SUB: {
      long double s = a(0);
      for (unsigned i = 1; i < n; ++i) s -= a(i);
      return s;
    }
    case Z3_OP_UMINUS: return -a(0);
    case Z3_OP_DIV: return a(0) / a(1);
    case Z3_OP_TO_REAL: return a(0);
    case Z3_OP_IS_INT: return std::floor(a(0)) == a(0);
    case Z3_OP_ITE: return a(0) != 0 ? a(1) : a(2);
    case Z3_OP_LT: return a(0) < a(1);
    case Z3_OP_LE: return a(0) <= a(1);
    case Z3_OP_GT: return a(0) > a(1);
    case Z3_OP_GE: return a(0) >= a(1);
    case Z3_OP_EQ: return a(0) == a(1);
    case Z3_OP_DISTINCT: return a(0) != a(1);
    case Z3_OP_NOT: return a(0) == 0;
    case Z3_OP_AND: {
      for (unsigned i = 0; i < n; ++i)
        if (a(i) == 0) return 0;
      return 1;
    }
    case Z3_OP_OR: {
      for (unsigned i = 0; i < n; ++i)
        if (a(i) != 0) return 1;
      return 0;
    }
    case Z3_OP_IMPLIES: return a(0) == 0 || a(1) != 0;
    case Z3_OP_UNINTERPRETED:
      if (n == 0)
        if (auto it = values.find(e.id()); it != values.end()) return it->second;
      [[fallthrough]];
    default: failed = true; return 0;
  }
}

ConcreteTensor concrete(const Shape& shape, const std::vector<z3::expr>& values) {
  ConcreteTensor t;
  t.shape = shape;
  for (const auto& v : values) {
    t.exact.push_back(exact_value(v));
    t.approx.push_back(approx_value(v));
    t.text.push_back(t.exact.back() ? rational_to_string(*t.exact.back()) : numeral_text(v));
  }
  return t;
}

ConcreteTensor concrete_approx(const Shape& shape, const std::vector<long double>& values) {
  ConcreteTensor t;
  t.shape = shape;
  for (auto v : values) {
    t.exact.push_back(std::nullopt);
    t.approx.push_back(v);
    t.text.push_back(approx_text(v));
  }
  return t;
}

bool clearly_differ(long double a, long double b) {
  if (std::isnan(a) || std::isnan(b)) return false;
  long double scale = std::max({1.0L, std::fabs(a), std::fabs(b)});
  return std::fabs(a - b) > 1e-9L * scale;
}

// ---- printing ------------------------------------------------------------------------------

std::string ConcreteTensor::to_string() const {
  if (shape.empty()) return text.empty() ? "?" : text[0];
  // At most 64 elements, then "..." (as random testing's counterexamples): an instance of
  // thousands of elements would bury the difference.
  constexpr std::size_t kShown = 64;
  std::string out;
  std::size_t pos = 0;
  std::function<void(std::size_t)> rec = [&](std::size_t d) {
    out += "[";
    for (std::int64_t i = 0; i < shape[d]; ++i) {
      if (i) out += ", ";
      if (pos >= kShown) {
        out += "...";
        break;
      }
      if (d + 1 == shape.size()) out += pos < text.size() ? text[pos++] : "?";
      else rec(d + 1);
    }
    out += "]";
  };
  rec(0);
  return out;
}

std::string Z3Counterexample::to_string() const {
  std::string out = "counterexample on " + instance.to_string() + "\n";
  for (const auto& [name, t] : inputs) out += "  ?" + name + " = " + t.to_string() + "\n";
  for (const auto& [name, v] : instance.integers) out += "  ?" + name + " = " + std::to_string(v) + "\n";
  out += "  lhs = " + lhs.to_string() + "\n";
  out += "  rhs = " + rhs.to_string() + "\n";
  if (!note.empty()) out += "  (" + note + ")\n";
  return out;
}

// ---- confirming a model --------------------------------------------------------------------

Z3Counterexample ModelConfirmation::inputs_of(const z3::model& m, const std::string& why) const {
  Z3Counterexample c;
  c.instance = t_.instance;
  c.note = why;
  for (const auto& [name, t] : t_.inputs) {
    std::vector<z3::expr> vals;
    for (const auto& e : t.elements) vals.push_back(m.eval(e, true));
    c.inputs[name] = concrete(t.shape, vals);
  }
  return c;
}

bool ModelConfirmation::satisfies_all(const z3::model& m) const {
  auto all_true = [&](const z3::expr_vector& v) {
    for (unsigned i = 0; i < v.size(); ++i)
      if (!m.eval(v[i], true).is_true()) return false;
    return true;
  };
  return m.eval(t_.guard, true).is_true() && all_true(t_.lhs_domain) && all_true(t_.input_domain) &&
         all_true(t_.axioms);
}

std::optional<Z3Counterexample> ModelConfirmation::exact(const z3::model& m) const {
  Z3Counterexample c = inputs_of(m, t_.note);
  std::vector<z3::expr> lv, rv;
  bool differs = false;
  for (std::size_t i = 0; i < t_.lhs_elements.size(); ++i) {
    lv.push_back(m.eval(t_.lhs_elements[i], true));
    rv.push_back(m.eval(t_.rhs_elements[i], true));
  }
  for (const auto& [l, rr] : t_.pairs) differs = differs || m.eval(l != rr, true).is_true();
  if (!differs) return std::nullopt;
  c.lhs = concrete(t_.out_shape, lv);
  c.rhs = concrete(t_.out_shape, rv);
  return c;
}

std::optional<Z3Counterexample> ModelConfirmation::by_evaluation(Z3Counterexample c, const char* how) const {
  NumericEval ev{t_.encoder, {}, {}, false};
  for (const auto& [name, t] : t_.inputs)
    for (std::size_t i = 0; i < t.elements.size(); ++i) ev.values[t.elements[i].id()] = c.inputs[name].approx[i];
  bool admissible = ev.eval(t_.guard) != 0;
  for (unsigned i = 0; i < t_.lhs_domain.size(); ++i) admissible = admissible && ev.eval(t_.lhs_domain[i]) != 0;
  for (unsigned i = 0; i < t_.input_domain.size(); ++i) admissible = admissible && ev.eval(t_.input_domain[i]) != 0;
  bool differs = false;
  for (const auto& [l, rr] : t_.pairs) differs = differs || clearly_differ(ev.eval(l), ev.eval(rr));
  if (ev.failed || !admissible || !differs || t_.guard_approximated) return std::nullopt;
  std::vector<long double> lv, rv;
  for (std::size_t i = 0; i < t_.lhs_elements.size(); ++i) {
    lv.push_back(ev.eval(t_.lhs_elements[i]));
    rv.push_back(ev.eval(t_.rhs_elements[i]));
  }
  c.lhs = concrete_approx(t_.out_shape, lv);
  c.rhs = concrete_approx(t_.out_shape, rv);
  c.note = (c.note.empty() ? "" : c.note + "; ") + how;
  return c;
}

std::optional<Z3Counterexample> ModelConfirmation::by_evaluation(const z3::model& m) const {
  return by_evaluation(inputs_of(m, t_.note),
                       "found with uninterpreted functions, confirmed by evaluating both sides in long double");
}

std::optional<Z3Counterexample> ModelConfirmation::probe() const {
  for (int round = 0; round < 3; ++round) {
    Z3Counterexample c;
    c.instance = t_.instance;
    c.note = t_.note;
    std::uint64_t state = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(round + 1);
    for (const auto& [name, t] : t_.inputs) {
      ops::DType dt = t_.instance.tensors.at(name).dtype;
      std::vector<z3::expr> vals;
      for (std::size_t i = 0; i < t.elements.size(); ++i) {
        state += 0x9e3779b97f4a7c15ULL;
        std::uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        long k = static_cast<long>(z % 8);  // 0..7
        Rational v;
        if (dt == ops::DType::Bool || dt == ops::DType::I64 || dt == ops::DType::I32) v = Rational(k % 2);
        else v = Rational(k < 4 ? k - 4 : k - 3, 2);  // -2, -3/2, -1, -1/2, 1/2, 1, 3/2, 2
        if (round == 2 && v < 0) v = -v;
        vals.push_back(t_.encoder.real(v));
      }
      c.inputs[name] = concrete(t.shape, vals);
    }
    if (auto confirmed = by_evaluation(std::move(c), "a fixed probe input; both sides evaluated in long double"))
      return confirmed;
  }
  return std::nullopt;
}

}  // namespace twin::verify
