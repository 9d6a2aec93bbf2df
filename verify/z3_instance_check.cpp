#include "verify/z3_instance_check.h"

#include "verify/z3_counterexample.h"
#include "verify/z3_guard.h"
#include "verify/z3_rule_walk.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace twin::verify {

namespace eg = twin::egraph;
using Shape = std::vector<std::int64_t>;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

bool debugging() { return std::getenv("TWIN_Z3_DEBUG") != nullptr; }

// A term as one fraction num / den, valid wherever every divisor in it is non-zero: the
// slices compare l = r as l.num * r.den = r.num * l.den, which spares Z3's nonlinear solver
// the divisions (softmax: exp(a + c) / sum  vs  exp(a) / sum'). Fractions with the same
// denominator are added without multiplying out.
struct Frac {
  z3::expr num, den;
  bool has_den = false;
};

struct Fractions {
  z3::context& ctx;
  std::map<unsigned, Frac> memo;

  Frac plain(const z3::expr& e) { return Frac{e, ctx.real_val(1), false}; }
  z3::expr den(const Frac& f) { return f.has_den ? f.den : ctx.real_val(1); }
  Frac add(const Frac& a, const Frac& b, bool subtract) {
    auto combine = [&](const z3::expr& x, const z3::expr& y) { return subtract ? x - y : x + y; };
    if (!a.has_den && !b.has_den) return plain(combine(a.num, b.num));
    if (a.has_den && b.has_den && z3::eq(a.den, b.den)) return Frac{combine(a.num, b.num), a.den, true};
    return Frac{combine(a.num * den(b), b.num * den(a)), den(a) * den(b), true};
  }
  Frac mul(const Frac& a, const Frac& b) {
    if (!a.has_den && !b.has_den) return plain(a.num * b.num);
    return Frac{a.num * b.num, den(a) * den(b), true};
  }
  Frac of(const z3::expr& e) {
    if (auto it = memo.find(e.id()); it != memo.end()) return it->second;
    Frac f = compute(e);
    memo.emplace(e.id(), f);
    return f;
  }
  Frac compute(const z3::expr& e) {
    if (!e.is_app() || !e.is_real()) return plain(e);
    unsigned n = e.num_args();
    switch (e.decl().decl_kind()) {
      case Z3_OP_ADD:
      case Z3_OP_SUB: {
        Frac acc = of(e.arg(0));
        for (unsigned i = 1; i < n; ++i) acc = add(acc, of(e.arg(i)), e.decl().decl_kind() == Z3_OP_SUB);
        return acc;
      }
      case Z3_OP_UMINUS: {
        Frac a = of(e.arg(0));
        return Frac{-a.num, a.den, a.has_den};
      }
      case Z3_OP_MUL: {
        Frac acc = of(e.arg(0));
        for (unsigned i = 1; i < n; ++i) acc = mul(acc, of(e.arg(i)));
        return acc;
      }
      case Z3_OP_DIV: {
        Frac a = of(e.arg(0)), b = of(e.arg(1));
        return Frac{a.num * den(b), den(a) * b.num, true};
      }
      case Z3_OP_ITE: {
        Frac a = of(e.arg(1)), b = of(e.arg(2));
        if (!a.has_den && !b.has_den) return plain(z3::ite(e.arg(0), a.num, b.num));
        if (a.has_den && b.has_den && z3::eq(a.den, b.den)) return Frac{z3::ite(e.arg(0), a.num, b.num), a.den, true};
        return Frac{z3::ite(e.arg(0), a.num * den(b), b.num * den(a)), den(a) * den(b), true};
      }
      default: return plain(e);
    }
  }
  // l != r as fractions.
  z3::expr differ(const z3::expr& l, const z3::expr& r) {
    Frac a = of(l), b = of(r);
    if (!a.has_den && !b.has_den) return a.num != b.num;
    return a.num * den(b) != b.num * den(a);
  }
};

// Z3 4.8.12's nonlinear solver sometimes ignores its `timeout` parameter and runs on. A
// watchdog interrupts the solver's context a little after the deadline, so every check ends;
// an interrupted check answers `unknown`, which is never read as "proved".
z3::check_result watched_check(z3::solver& solver, unsigned timeout_ms) {
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  z3::context& ctx = solver.ctx();
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mutex);
    auto grace = std::chrono::milliseconds(timeout_ms + timeout_ms / 2 + 200);
    if (!finished.wait_for(lock, grace, [&] { return done; })) ctx.interrupt();
  });
  auto stop = [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      done = true;
    }
    finished.notify_all();
    watchdog.join();
  };
  try {
    z3::check_result result = solver.check();
    stop();
    return result;
  } catch (...) {
    stop();
    throw;
  }
}

// One instance's check, in the order docs/verification.md ("How Z3 is asked") describes:
// encode both sides, translate the assumptions, pair the outputs, then probes, the slices, the
// full check, the rhs's domain and vacuity. Each step may decide the outcome.
class InstanceCheck {
 public:
  InstanceCheck(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Instance& inst, const Z3Options& options)
      : rule_(rule), ops_(ops), inst_(inst), options_(options) {}

  InstanceOutcome run(std::set<std::string>& ufs);

 private:
  enum class Slices { Proved, Refuted, Open };

  bool encode_sides();
  void translate_assumptions();
  void pair_outputs();
  InstanceOutcome check_shape_mismatch(const ModelConfirmation& confirm);
  void collect_constraints();
  Slices check_slices(const ModelConfirmation& confirm);
  bool full_check(const ModelConfirmation& confirm, const z3::expr& differ, bool proved_by_slices);
  bool check_rhs_domain(const ModelConfirmation& confirm);
  void check_vacuity();
  // The input constants a term mentions (memoized by term id).
  const std::set<unsigned>& symbols(const z3::expr& e);
  // Appends e's conjuncts to constraints_.
  void flatten(const z3::expr& e);

  const eg::Rewrite& rule_;
  const eg::OpTable& ops_;
  const Z3Instance& inst_;
  const Z3Options& options_;
  InstanceOutcome out_;

  z3::context ctx_;
  Z3Encoder enc_{ctx_};
  std::vector<std::pair<std::string, SymTensor>> inputs_;
  std::vector<TVal> lhs_, rhs_;
  z3::expr_vector dom_l_{ctx_}, dom_r_{ctx_}, axioms_{ctx_}, input_domain_{ctx_};
  z3::expr guard_ = ctx_.bool_val(true);
  bool guard_approximated_ = false;

  // The outputs, element by element (when both sides have the same shapes).
  std::string note_;
  std::vector<std::pair<z3::expr, z3::expr>> pairs_;
  Shape out_shape_;
  std::vector<z3::expr> lhs_el_, rhs_el_;
  bool shape_mismatch_ = false;

  z3::solver solver_{ctx_};
  z3::params params_{ctx_};
  bool suspect_ = false;  // models need confirming by evaluation

  // The assumptions as conjuncts, for the slices: [0, lhs_constraints_) are the guard, the
  // lhs's domain, the input domain and the axioms; the rhs's domain follows.
  std::vector<z3::expr> constraints_;
  std::size_t lhs_constraints_ = 0;
  std::map<unsigned, std::set<unsigned>> symbol_memo_;
};

InstanceOutcome InstanceCheck::run(std::set<std::string>& ufs) {
  if (!encode_sides()) return out_;
  for (const auto& u : enc_.uninterpreted_used()) ufs.insert(u);
  translate_assumptions();
  pair_outputs();

  params_.set("timeout", options_.timeout_ms);
  solver_.set(params_);
  solver_.add(guard_);
  solver_.add(dom_l_);
  solver_.add(input_domain_);
  solver_.add(axioms_);
  suspect_ = !enc_.uninterpreted_used().empty() || guard_approximated_;
  ModelConfirmation confirm(InstanceTerms{inst_, enc_, inputs_, guard_, dom_l_, input_domain_, axioms_, pairs_,
                                          out_shape_, lhs_el_, rhs_el_, note_, guard_approximated_});
  if (shape_mismatch_) return check_shape_mismatch(confirm);
  z3::expr differ = ctx_.bool_val(false);
  for (const auto& [l, r] : pairs_) differ = differ || l != r;

  // Before any solving, where the sides use sqrt or an uninterpreted function (the nonlinear
  // problems on which Z3 can get stuck, and whose models need evaluating anyway): a few fixed
  // inputs, nonzero halves in [-2, 2] (then their absolute values), masks and indices 0/1,
  // are evaluated on both sides. A wrong rule usually shows a difference right there, confirmed
  // as any model of the abstraction is; inputs outside the guard or the lhs's domain prove nothing.
  if (!enc_.uninterpreted_used().empty() || axioms_.size() > 0) {
    if (auto confirmed = confirm.probe()) {
      out_.result = "sat";
      out_.numeric = true;
      out_.cex = std::move(confirmed);
      return out_;
    }
  }

  Slices slices = check_slices(confirm);
  if (slices == Slices::Refuted) return out_;
  if (full_check(confirm, differ, slices == Slices::Proved)) return out_;
  if (check_rhs_domain(confirm)) return out_;
  check_vacuity();
  return out_;
}

// Encodes both sides; false (with the outcome) when the rhs does not type where the lhs does.
bool InstanceCheck::encode_sides() {
  Walker w{ops_, enc_, inst_, {}, 0, {}, "", {}};
  for (const auto& [name, type] : inst_.tensors) {
    SymTensor t = enc_.fresh("?" + name, type.shape);
    inputs_.push_back({name, t});
    w.inputs[name] = TVal{t, type};
  }
  lhs_ = w.eval(rule_.lhs);
  dom_l_ = enc_.take_domain_conditions();
  try {
    rhs_ = w.eval(rule_.rhs);
  } catch (const EncodingShapeError& e) {
    // The left side types on this instance and the right side does not: a rewrite would
    // build an ill-typed term here.
    out_.result = "sat";
    out_.reason = std::string("the right side does not type where the left side does: ") + e.what();
    Z3Counterexample cex;
    cex.instance = inst_;
    cex.note = out_.reason;
    out_.cex = cex;
    return false;
  }
  dom_r_ = enc_.take_domain_conditions();
  axioms_ = enc_.axioms();
  return true;
}

// The guard at the value level, and the input domain: masks 0/1, indices integral (their
// ranges come with the op).
void InstanceCheck::translate_assumptions() {
  GuardTranslator g{ctx_, false, {}, {}, {}, {}, false, 0};
  g.value_level = true;
  for (const auto& [name, type] : inst_.tensors) {
    std::vector<z3::expr> ds;
    for (auto d : type.shape) ds.push_back(ctx_.real_val(static_cast<int>(d)));
    g.dims[name] = ds;
    g.dtypes[name] = type.dtype;
  }
  for (const auto& [name, v] : inst_.integers) g.integers.emplace(name, ctx_.real_val(static_cast<int>(v)));
  for (const auto& [name, t] : inputs_) g.tensors[name] = t;
  guard_ = rule_.guard ? g.as_bool(*rule_.guard) : ctx_.bool_val(true);
  guard_approximated_ = g.approximated;
  for (const auto& [name, t] : inputs_) {
    ops::DType dt = inst_.tensors.at(name).dtype;
    for (const auto& e : t.elements) {
      if (dt == ops::DType::Bool) input_domain_.push_back(e == 0 || e == 1);
      else if (dt == ops::DType::I64 || dt == ops::DType::I32) input_domain_.push_back(z3::expr(ctx_, Z3_mk_is_int(ctx_, e)));
    }
  }
}

// Output pairs. The two sides must have the same shape: a rewrite merges e-classes, and a
// class holds terms of one type, so `?a * 0 => 0` (a tensor into a scalar) or
// `expand(?x, shape=[2, -1]) => ?x` is wrong even where the values would broadcast.
void InstanceCheck::pair_outputs() {
  if (lhs_.size() != rhs_.size()) {
    shape_mismatch_ = true;
    note_ = "lhs has " + std::to_string(lhs_.size()) + " outputs, rhs " + std::to_string(rhs_.size());
    return;
  }
  for (std::size_t k = 0; k < lhs_.size(); ++k) {
    const SymTensor &l = lhs_[k].sym, &r = rhs_[k].sym;
    SymTensor rb = r;
    if (l.shape != r.shape) {
      shape_mismatch_ = true;
      note_ = "shapes differ: lhs " + shape_text(l.shape) + ", rhs " + shape_text(r.shape);
      break;
    }
    for (std::size_t i = 0; i < l.elements.size(); ++i) pairs_.push_back({l.elements[i], rb.elements[i]});
    if (k == 0) {
      out_shape_ = l.shape;
      lhs_el_ = l.elements;
      rhs_el_ = rb.elements;
    }
  }
}

// Any input the guard admits shows the mismatch.
InstanceOutcome InstanceCheck::check_shape_mismatch(const ModelConfirmation& confirm) {
  z3::check_result r = watched_check(solver_, options_.timeout_ms);
  if (r == z3::sat) {
    out_.result = "sat";
    out_.cex = confirm.inputs_of(solver_.get_model(), note_);
    out_.cex->lhs = concrete(lhs_[0].sym.shape, {});
    out_.cex->rhs = concrete(rhs_.empty() ? Shape{} : rhs_[0].sym.shape, {});
    out_.cex->lhs.text.assign(lhs_[0].sym.numel(), "_");
    if (!rhs_.empty()) out_.cex->rhs.text.assign(rhs_[0].sym.numel(), "_");
    out_.reason = note_;
    return out_;
  }
  out_.result = r == z3::unsat ? "vacuous" : "unknown";
  out_.reason = note_;
  return out_;
}

const std::set<unsigned>& InstanceCheck::symbols(const z3::expr& e) {
  auto it = symbol_memo_.find(e.id());
  if (it != symbol_memo_.end()) return it->second;
  std::set<unsigned> found;
  if (e.is_app()) {
    if (e.num_args() == 0 && e.decl().decl_kind() == Z3_OP_UNINTERPRETED) found.insert(e.id());
    for (unsigned i = 0; i < e.num_args(); ++i) {
      const auto& sub = symbols(e.arg(i));
      found.insert(sub.begin(), sub.end());
    }
  }
  return symbol_memo_.emplace(e.id(), std::move(found)).first->second;
}

void InstanceCheck::flatten(const z3::expr& e) {
  if (e.is_app() && e.decl().decl_kind() == Z3_OP_AND)
    for (unsigned i = 0; i < e.num_args(); ++i) flatten(e.arg(i));
  else
    constraints_.push_back(e);
}

void InstanceCheck::collect_constraints() {
  flatten(guard_);
  for (const auto* v : {&dom_l_, &input_domain_, &axioms_})
    for (unsigned i = 0; i < v->size(); ++i) flatten((*v)[i]);
  // The rhs's domain may be assumed in the slices: that it holds wherever the lhs's does is
  // checked afterwards (check_rhs_domain).
  lhs_constraints_ = constraints_.size();
  for (unsigned i = 0; i < dom_r_.size(); ++i) flatten(dom_r_[i]);
}

// First, per group of output elements over the same inputs, with only the constraints that
// mention nothing else: a subset of the assumptions, so unsat here is unsat for all of them
// (and much smaller problems than the whole instance). Anything else goes to the full check.
InstanceCheck::Slices InstanceCheck::check_slices(const ModelConfirmation& confirm) {
  collect_constraints();
  std::map<std::set<unsigned>, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < pairs_.size(); ++i) {
    std::set<unsigned> syms = symbols(pairs_[i].first);
    const auto& r = symbols(pairs_[i].second);
    syms.insert(r.begin(), r.end());
    groups[syms].push_back(i);
  }
  Fractions fractions{ctx_, {}};
  // Substituting the definitional axioms (exp(a + c) -> exp(a) * exp(c)) and normalizing to
  // sums of monomials often decides a group outright (softmax_shift).
  z3::expr_vector def_from(ctx_), def_to(ctx_);
  for (const auto& [from, to] : enc_.definitions()) {
    def_from.push_back(from);
    def_to.push_back(to);
  }
  z3::params som(ctx_);
  som.set("som", true);
  for (const auto& [syms, members] : groups) {
    bool group_proved = false;
    for (int form = 0; form < 2 && !group_proved; ++form) {
      z3::solver gs(ctx_);
      gs.set(params_);
      for (const auto& c : constraints_) {
        const auto& cs = symbols(c);
        if (std::includes(syms.begin(), syms.end(), cs.begin(), cs.end())) gs.add(c);
      }
      z3::expr d = ctx_.bool_val(false);
      for (auto i : members)
        d = d || (form == 0 ? fractions.differ(pairs_[i].first, pairs_[i].second) : pairs_[i].first != pairs_[i].second);
      if (form == 0) {
        if (def_from.size() > 0) d = d.substitute(def_from, def_to);
        d = d.simplify(som);
      }
      gs.add(d);
      auto t0 = std::chrono::steady_clock::now();
      auto res = watched_check(gs, options_.timeout_ms);
      group_proved = res == z3::unsat;
      if (debugging())
        std::fprintf(stderr, "[z3] group of %zu (form %d): %s %.2fs\n", members.size(), form,
                     res == z3::unsat ? "unsat" : res == z3::sat ? "sat" : "unknown", seconds_since(t0));
      if (res == z3::sat) {
        // Often a counterexample for the whole instance already (a wrong rule is usually
        // wrong in every group), and far cheaper than the full check: confirm it as one.
        z3::model gm = gs.get_model();
        std::optional<Z3Counterexample> c;
        if (!suspect_) {
          if (confirm.satisfies_all(gm)) c = confirm.exact(gm);
        } else {
          c = confirm.by_evaluation(gm);
        }
        if (c) {
          out_.result = "sat";
          out_.numeric = suspect_;
          out_.cex = std::move(c);
          return Slices::Refuted;
        }
      }
    }
    if (!group_proved) return Slices::Open;
  }
  return Slices::Proved;
}

// The whole instance in one solver call (some output element differs), unless the slices
// proved it; a model is confirmed, and a spurious one (uninterpreted functions) blocked and
// asked again. True when decided.
bool InstanceCheck::full_check(const ModelConfirmation& confirm, const z3::expr& differ, bool proved_by_slices) {
  solver_.push();
  solver_.add(differ);
  for (int attempt = 0; attempt <= std::max(0, options_.max_confirm_attempts) && !proved_by_slices; ++attempt) {
    auto t_full = std::chrono::steady_clock::now();
    z3::check_result r = watched_check(solver_, options_.timeout_ms);
    if (debugging())
      std::fprintf(stderr, "[z3] full check attempt %d: %d %.2fs\n", attempt, static_cast<int>(r), seconds_since(t_full));
    if (r == z3::unsat) {
      if (attempt > 0) {
        out_.result = "unknown";
        out_.reason = "every model found was spurious (uninterpreted functions)";
        return true;
      }
      out_.result = "unsat";
      break;
    }
    if (r == z3::unknown) {
      std::string why = solver_.reason_unknown();
      out_.result = why.find("timeout") != std::string::npos || why.find("canceled") != std::string::npos ? "timeout" : "unknown";
      out_.reason = "Z3: " + why;
      return true;
    }
    z3::model m = solver_.get_model();
    // Confirm the model.
    if (!suspect_) {
      if (auto c = confirm.exact(m)) {
        out_.result = "sat";
        out_.cex = std::move(c);
        return true;
      }
      out_.result = "unknown";
      out_.reason = "Z3's model did not evaluate to a difference";
      return true;
    }
    if (auto c = confirm.by_evaluation(m)) {
      out_.result = "sat";
      out_.numeric = true;
      out_.cex = std::move(c);
      return true;
    }
    // Spurious: block these inputs and ask again.
    z3::expr block = ctx_.bool_val(false);
    for (const auto& [name, t] : inputs_)
      for (const auto& e : t.elements) block = block || e != m.eval(e, true);
    solver_.add(block);
    if (attempt == options_.max_confirm_attempts) {
      out_.result = "unknown";
      out_.reason = "Z3 found only models that rely on the uninterpreted functions (" +
                    std::string(guard_approximated_ ? "or on guard atoms it cannot read" : "exp, log, tanh, erf...") +
                    "); evaluating both sides on them showed no difference";
      return true;
    }
  }
  if (proved_by_slices) out_.result = "unsat";
  solver_.pop();
  return false;
}

// The lhs equals the rhs wherever both are defined; is the rhs defined wherever the lhs is?
// Each rhs domain condition is first tried on its own slice; those not shown to follow from
// the lhs's go to one solver call. True when decided.
bool InstanceCheck::check_rhs_domain(const ModelConfirmation& confirm) {
  std::vector<z3::expr> pending;  // rhs domain conditions not shown to follow from the lhs's
  std::set<unsigned> lhs_ids;
  for (unsigned i = 0; i < dom_l_.size(); ++i) lhs_ids.insert(dom_l_[i].id());
  for (unsigned i = 0; i < dom_r_.size(); ++i) {
    z3::expr cond = dom_r_[i];
    if (lhs_ids.count(cond.id())) continue;
    const auto& syms = symbols(cond);
    z3::solver ds(ctx_);
    ds.set(params_);
    for (std::size_t k = 0; k < lhs_constraints_; ++k) {
      const auto& cs = symbols(constraints_[k]);
      if (std::includes(syms.begin(), syms.end(), cs.begin(), cs.end())) ds.add(constraints_[k]);
    }
    ds.add(!cond);
    auto t0 = std::chrono::steady_clock::now();
    auto res = watched_check(ds, options_.timeout_ms);
    if (debugging())
      std::fprintf(stderr, "[z3] rhs domain slice: %d %.2fs %s\n", static_cast<int>(res), seconds_since(t0),
                   cond.to_string().substr(0, 120).c_str());
    if (res != z3::unsat) pending.push_back(cond);
  }
  if (pending.empty()) return false;
  z3::expr all_defined = ctx_.bool_val(true);
  for (const auto& c : pending) all_defined = all_defined && c;
  solver_.push();
  solver_.add(!all_defined);
  if (debugging()) std::fprintf(stderr, "[z3] rhs domain full check (%zu)\n", pending.size());
  z3::check_result r = watched_check(solver_, options_.timeout_ms);
  if (r == z3::sat) {
    z3::model m = solver_.get_model();
    Z3Counterexample c = confirm.inputs_of(m, "the rhs is undefined here (a divisor is 0, or an argument of "
                                              "log/sqrt/rsqrt is out of its domain) while the lhs is defined");
    if (!suspect_) {
      std::vector<z3::expr> lv;
      for (const auto& e : lhs_el_) lv.push_back(m.eval(e, true));
      c.lhs = concrete(out_shape_, lv);
      c.rhs = concrete(out_shape_, {});
      c.rhs.text.assign(lhs_el_.size(), "undefined");
      out_.result = "sat";
      out_.cex = c;
      out_.reason = c.note;
      return true;
    }
    out_.result = "unknown";
    out_.reason = "the rhs may be undefined where the lhs is defined (model relies on uninterpreted functions)";
    return true;
  }
  if (r == z3::unknown) {
    out_.result = "unknown";
    out_.reason = "Z3 could not decide whether the rhs is defined wherever the lhs is: " + solver_.reason_unknown();
    return true;
  }
  solver_.pop();
  return false;
}

// Vacuity: does any input satisfy the guard at all?
void InstanceCheck::check_vacuity() {
  if (!rule_.guard) return;
  z3::solver vs(ctx_);
  z3::params q(ctx_);
  q.set("timeout", std::min(options_.timeout_ms, 1000u));
  vs.set(q);
  vs.add(guard_);
  vs.add(input_domain_);
  if (watched_check(vs, options_.timeout_ms) == z3::unsat) {
    out_.result = "vacuous";
    out_.reason = "the guard admits no input on this instance";
  }
}

}  // namespace

InstanceOutcome check_instance(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Instance& inst,
                               const Z3Options& options, std::set<std::string>& ufs) {
  return InstanceCheck(rule, ops, inst, options).run(ufs);
}

}  // namespace twin::verify
