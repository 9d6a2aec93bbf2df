#include "verify/z3_instances.h"

#include "ops/op_spec.h"
#include "verify/pinned_instance.h"
#include "verify/z3_guard.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <numeric>
#include <set>

namespace twin::verify {

namespace eg = twin::egraph;

namespace {

// Rank tuples in order of preference: ranks 2, 3, 1, 0, 4 (batch dims come with 3 and 4).
std::vector<std::vector<int>> rank_tuples(std::size_t vars, std::size_t limit) {
  static const int pref[] = {2, 3, 1, 0, 4};
  std::vector<std::vector<int>> out;
  if (vars == 0) return {{}};
  for (std::size_t total = 0; total <= 4 * vars && out.size() < limit; ++total) {
    std::vector<int> idx(vars, 0);
    std::function<void(std::size_t, std::size_t)> rec = [&](std::size_t i, std::size_t left) {
      if (out.size() >= limit) return;
      if (i + 1 == vars) {
        if (left <= 4) {
          idx[i] = static_cast<int>(left);
          std::vector<int> r;
          for (auto k : idx) r.push_back(pref[k]);
          out.push_back(r);
        }
        return;
      }
      for (std::size_t k = 0; k <= std::min<std::size_t>(4, left); ++k) {
        idx[i] = static_cast<int>(k);
        rec(i + 1, left - k);
      }
    };
    rec(0, total);
  }
  return out;
}

// The largest magnitude of an integer written in a guard: constants, and the dims of shape
// strings (`shape(?x) == "[1, 8, 64]"`).
std::int64_t largest_integer(const egraph::ScalarExpr& e) {
  using SE = egraph::ScalarExpr;
  std::int64_t out = 0;
  if (e.kind == SE::Kind::Constant && is_integer(e.number)) {
    Rational a = e.number < 0 ? Rational(-e.number) : e.number;
    if (a <= Rational(std::int64_t(1) << 40)) out = boost::multiprecision::numerator(a).convert_to<std::int64_t>();
  }
  if (e.kind == SE::Kind::String)
    if (auto sizes = parse_shape_text(e.text))
      for (std::int64_t d : *sizes) out = std::max(out, std::min<std::int64_t>(d, std::int64_t(1) << 40));
  for (const auto& a : e.args) out = std::max(out, largest_integer(a));
  return out;
}

struct SearchState {
  SearchState(const eg::Rewrite& r, const eg::OpTable& o, const Z3Options& opt, const RuleInfo& i)
      : rule(r), ops(o), options(opt), info(i) {}
  const eg::Rewrite& rule;
  const eg::OpTable& ops;
  const Z3Options& options;
  const RuleInfo& info;
  std::string last_error;
  std::unique_ptr<z3::context> scratch = std::make_unique<z3::context>();  // for trial walks
  // For the dims: one context and one solver (push/pop), since making either costs about a ms.
  std::unique_ptr<z3::context> solving = std::make_unique<z3::context>();
  std::unique_ptr<z3::solver> solver;
  long walks = 0;  // trial walks so far: the search's budget (deterministic, unlike time)
  // The largest integer the guard writes (in a comparison or a shape string): how far the
  // dims and integers may have to reach.
  std::int64_t guard_bound = rule.guard ? largest_integer(*rule.guard) : 0;
};
constexpr long kMaxWalks = 4000;
constexpr std::size_t kMaxRankTuples = 150;

// Walks both sides of the rule on an instance with a scratch encoder. Returns "" when both
// sides fit, else the error; `progress` counts the nodes evaluated.
std::string try_instance(SearchState& st, const Z3Instance& inst, int& progress,
                         std::vector<std::vector<ops::TensorType>>* failed = nullptr) {
  ++st.walks;
  // Instances come from the left side and the guard alone: wherever the left side types, the
  // right side must too, or the rule is wrong there (check_instance and random testing refute it).
  ShapeWalk walk = walk_shapes(st.ops, st.rule.lhs, inst, *st.scratch);
  progress = walk.readable ? walk.nodes_done : -1;
  if (failed && walk.readable && !walk.error.empty()) *failed = std::move(walk.failed_operands);
  return walk.error;
}

// Calls `visit(node, layout)` for every apply node of the pattern, children first, with the
// encoder's layout of its children (which are operands, which attributes); a node whose
// layout cannot be read is skipped.
template <class Visit>
void for_each_apply(const eg::OpTable& ops, const eg::Pattern& p, Visit&& visit) {
  if (p.is_var() || ops.info(p.op).is_leaf()) return;
  for (const auto& c : p.children) for_each_apply(ops, c, visit);
  NodeLayout layout;
  try {
    layout = encoder_layout_of(ops, p);
  } catch (const std::exception&) {
    return;
  }
  visit(p, layout);
}

// squeeze(?x, dim=D) in the lhs, with D a constant or an integer variable: where ?x's dim D is
// not 1 the squeeze does nothing, so instances with a unit dim there are searched too.
struct SqueezeSite {
  std::string tensor;                 // ?x
  std::optional<std::int64_t> dim;    // a constant dim
  std::string dim_var;                // or an integer variable
};

void collect_squeezes(const eg::OpTable& ops, const eg::Pattern& pattern, std::vector<SqueezeSite>& out) {
  for_each_apply(ops, pattern, [&](const eg::Pattern& p, const NodeLayout& layout) {
    if (ops.info(p.op).name != "squeeze") return;
    SqueezeSite site;
    bool has_dim = false;
    for (std::size_t i = 0; i < p.children.size(); ++i) {
      const eg::Pattern& c = p.children[i];
      if (layout.child_attr[i].empty()) {
        if (!c.is_var()) return;
        site.tensor = c.var;
      } else if (layout.child_attr[i] == "dim") {
        if (c.is_var()) {
          site.dim_var = c.var;
          has_dim = true;
        } else if (const eg::OpInfo& d = ops.info(c.op); d.kind == eg::OpKind::Constant && is_integer(d.constant)) {
          site.dim = boost::multiprecision::numerator(d.constant).convert_to<std::int64_t>();
          has_dim = true;
        } else if (d.name == "neg" && c.children.size() == 1 && !c.children[0].is_var()) {
          const eg::OpInfo& n = ops.info(c.children[0].op);
          if (n.kind != eg::OpKind::Constant || !is_integer(n.constant)) return;
          site.dim = -boost::multiprecision::numerator(n.constant).convert_to<std::int64_t>();
          has_dim = true;
        }
      }
    }
    if (!site.tensor.empty() && has_dim) out.push_back(site);
  });
}

// The integer variables that name a position, where a negative value counts from the end:
// those passed as `dim`, `dim0`, `dim1`, `start`, `end`, `index` or `diagonal` anywhere in
// the rule. Their signs are flipped in a variant (sizes and counts are not: a negative one
// only fails to type).
void collect_signed_integers(const eg::OpTable& ops, const eg::Pattern& pattern, std::set<std::string>& out) {
  static const std::set<std::string> kPositions = {"dim", "dim0", "dim1", "start", "end", "index", "diagonal"};
  for_each_apply(ops, pattern, [&](const eg::Pattern& p, const NodeLayout& layout) {
    for (std::size_t i = 0; i < p.children.size() && i < layout.child_attr.size(); ++i)
      if (p.children[i].is_var() && kPositions.count(layout.child_attr[i])) out.insert(p.children[i].var);
  });
}

// Searches shape instances for one rule (docs/verification.md, "Instances"): rank tuples by
// preference, each solved with Z3 over integers and walked on the lhs, with variants of the
// first two instances found.
class InstanceSearch {
 public:
  explicit InstanceSearch(SearchState& state)
      : st(state), tensors(state.info.roles.tensors), integers(state.info.roles.integers) {
    collect_squeezes(st.ops, st.rule.lhs, squeezes);
    std::set<std::string> signed_names;
    collect_signed_integers(st.ops, st.rule.lhs, signed_names);
    collect_signed_integers(st.ops, st.rule.rhs, signed_names);
    for (std::size_t i = 0; i < integers.size(); ++i)
      if (signed_names.count(integers[i])) signed_integers.push_back(i);
  }

  std::vector<Z3Instance> run();

 private:
  // A rank tuple's dim slots: (tensor index, dim).
  struct Slots {
    std::vector<int> ranks;
    std::vector<std::pair<std::size_t, int>> list;
    std::map<std::pair<std::size_t, int>, std::size_t> of;
  };
  // Extra constraints of a variant search, over the slots' and the integer variables' terms.
  using Extra = std::function<z3::expr(z3::context&, const std::vector<z3::expr>& slot_vars,
                                       const std::vector<z3::expr>& int_vars)>;
  struct Solved {
    Z3Instance inst;
    std::vector<std::int64_t> assignment;   // per class (in class order), then per integer
    std::vector<std::int64_t> slot_values;  // per slot
  };

  Slots slots_of(const std::vector<int>& ranks) const;
  // Solves the dims (slots grouped in classes: cls[slot] is its class) and the integers under
  // the guard, excluding `blocked` assignments, with the preferences: distinct integers,
  // distinct dims, dims in 2..max_dim, non-negative integers, dropped in turn when
  // unsatisfiable.
  std::optional<Solved> solve(const Slots& sl, const std::vector<std::size_t>& cls,
                              const std::vector<std::vector<std::int64_t>>& blocked, const Extra& extra);
  // Tries one rank tuple: solve, walk the lhs, and when an op rejects its operands, unify two
  // dims seen there (matmul's inner dims...) when that gets the walk further, else block the
  // assignment and solve again. Failing that, all dims equal (every equality an op can ask for
  // holds), then each slot split off in turn while the walk still succeeds.
  std::optional<Z3Instance> attempt(const std::vector<int>& ranks, const Extra& extra);
  std::optional<Z3Instance> equal_dims_then_split(const Slots& sl, const Extra& extra);
  // Variants of a found instance, on the same ranks: other integer values (a rule wrong only
  // where two integers differ, ?r vs ?b, or for another admissible ?d; as many integers changed
  // as the guard lets change), the signs flipped of the integers that name a position (a dim
  // counted from the end against one counted from the front), and a unit dim under each squeeze of the lhs (elsewhere a
  // squeeze does nothing), also with its integers changed. They do not count against
  // Z3Options::instances.
  std::vector<Z3Instance> variants(const std::vector<int>& ranks, const Z3Instance& base);

  static Extra both(const Extra& a, const Extra& b) {
    if (!a) return b;
    return [a, b](z3::context& ctx, const std::vector<z3::expr>& sv, const std::vector<z3::expr>& ks) {
      return a(ctx, sv, ks) && b(ctx, sv, ks);
    };
  }

  SearchState& st;
  const std::vector<std::string>& tensors;
  const std::vector<std::string>& integers;
  std::vector<SqueezeSite> squeezes;
  std::vector<std::size_t> signed_integers;  // indices into `integers` (collect_signed_integers)
};

InstanceSearch::Slots InstanceSearch::slots_of(const std::vector<int>& ranks) const {
  Slots sl;
  sl.ranks = ranks;
  for (std::size_t t = 0; t < tensors.size(); ++t)
    for (int d = 0; d < ranks[t]; ++d) {
      sl.of[{t, d}] = sl.list.size();
      sl.list.push_back({t, d});
    }
  return sl;
}

std::optional<InstanceSearch::Solved> InstanceSearch::solve(const Slots& sl, const std::vector<std::size_t>& cls,
                                                            const std::vector<std::vector<std::int64_t>>& blocked,
                                                            const Extra& extra) {
  z3::context& ctx = *st.solving;
  if (!st.solver) {
    st.solver = std::make_unique<z3::solver>(ctx);
    z3::params p(ctx);
    p.set("timeout", 2000u);
    st.solver->set(p);
  }
  z3::solver& s = *st.solver;
  s.push();
  struct Pop {
    z3::solver& s;
    ~Pop() { s.pop(); }
  } pop{s};
  std::vector<z3::expr> slot_vars;
  for (std::size_t i = 0; i < sl.list.size(); ++i) slot_vars.push_back(ctx.int_const(("d" + std::to_string(cls[i])).c_str()));
  std::vector<z3::expr> int_vars;
  GuardTranslator g{ctx, false, {}, {}, {}, {}, false, 0};
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    std::vector<z3::expr> ds;
    for (int d = 0; d < sl.ranks[t]; ++d) ds.push_back(z3::to_real(slot_vars[sl.of.at({t, d})]));
    g.dims[tensors[t]] = ds;
  }
  for (const auto& name : integers) {
    int_vars.push_back(ctx.int_const(("k_" + name).c_str()));
    g.integers.emplace(name, z3::to_real(int_vars.back()));
  }
  g.dtypes = st.info.dtypes;
  std::set<std::size_t> classes(cls.begin(), cls.end());
  std::vector<z3::expr> class_vars;
  for (auto c : classes) class_vars.push_back(ctx.int_const(("d" + std::to_string(c)).c_str()));
  std::vector<z3::expr> all_vars = class_vars;
  for (const auto& k : int_vars) all_vars.push_back(k);
  // What every solution must satisfy, with dims in 1..dim_hi and integers in int_lo..int_hi:
  // the guard, the extra constraints, and none of the blocked assignments.
  auto required = [&](int dim_hi, int int_lo, int int_hi) {
    z3::expr all = ctx.bool_val(true);
    for (const auto& v : slot_vars) all = all && v >= 1 && v <= dim_hi;
    for (const auto& k : int_vars) all = all && k >= int_lo && k <= int_hi;
    if (st.rule.guard) all = all && g.as_bool(*st.rule.guard);
    if (extra) all = all && extra(ctx, slot_vars, int_vars);
    for (const auto& b : blocked) {
      z3::expr differs = ctx.bool_val(false);
      for (std::size_t i = 0; i < all_vars.size() && i < b.size(); ++i) differs = differs || all_vars[i] != static_cast<int>(b[i]);
      all = all && differs;
    }
    return all;
  };
  s.add(required(static_cast<int>(st.options.max_dim) + 1, -8, 16));
  z3::expr_vector distinct(ctx);
  for (const auto& c : class_vars) distinct.push_back(c);
  z3::expr in_range = ctx.bool_val(true);
  for (const auto& c : class_vars) in_range = in_range && c >= 2 && c <= static_cast<int>(st.options.max_dim);
  z3::expr positive = ctx.bool_val(true);
  for (const auto& k : int_vars) positive = positive && k >= 0;
  z3::expr_vector int_distinct(ctx);
  for (const auto& k : int_vars) int_distinct.push_back(k);
  z3::expr pref_distinct = ctx.bool_const("pref_distinct"), pref_range = ctx.bool_const("pref_range"),
           pref_pos = ctx.bool_const("pref_pos"), pref_int_distinct = ctx.bool_const("pref_int_distinct");
  s.add(z3::implies(pref_distinct, distinct.size() > 1 ? z3::distinct(distinct) : ctx.bool_val(true)));
  s.add(z3::implies(pref_range, in_range));
  s.add(z3::implies(pref_pos, positive));
  s.add(z3::implies(pref_int_distinct, int_distinct.size() > 1 ? z3::distinct(int_distinct) : ctx.bool_val(true)));
  // Distinct integers first: a rule that confuses two of them (repeats=?b for repeats=?r)
  // must not meet only instances where they happen to be equal.
  std::vector<std::vector<z3::expr>> tries = {{pref_distinct, pref_range, pref_pos}, {pref_range, pref_pos},
                                              {pref_range}, {}};
  if (int_distinct.size() > 1)
    tries.insert(tries.begin(), std::vector<z3::expr>{pref_distinct, pref_int_distinct, pref_range, pref_pos});
  bool sat = false;
  for (auto& t : tries) {
    z3::expr_vector a(ctx);
    for (auto& x : t) a.push_back(x);
    if (s.check(a) == z3::sat) {
      sat = true;
      break;
    }
  }
  std::optional<z3::model> found;
  if (sat) found = s.get_model();
  // The guard fixes a dim or an integer beyond the usual range (`?h == 4` with `?n == 2 * ?h`,
  // `dim(?x, -1) == 128`): the bounds widen to what the guard's integers reach, and the
  // smallest dims and integers that satisfy it are taken, so no other dim grows with them.
  const std::int64_t reach = std::min<std::int64_t>(4 * st.guard_bound, 1 << 20);
  if (!sat && reach > static_cast<std::int64_t>(st.options.max_dim) + 1) {
    const int wide = static_cast<int>(reach);
    z3::optimize o(ctx);
    z3::params p(ctx);
    p.set("timeout", 2000u);
    o.set(p);
    o.add(required(wide, -wide, wide));
    z3::expr size = ctx.int_val(0);
    for (const auto& c : class_vars) size = size + c;
    for (const auto& k : int_vars) size = size + z3::ite(k >= 0, k, -k);
    // Dims of 1 only where the guard needs them (a unit dim hides broadcasting mistakes).
    for (const auto& c : class_vars) o.add_soft(c >= 2, 1);
    o.minimize(size);
    if (o.check() == z3::sat) found = o.get_model();
  }
  if (!found) return std::nullopt;
  z3::model& m = *found;
  auto value_of = [&](const z3::expr& e) { return static_cast<std::int64_t>(m.eval(e, true).get_numeral_int64()); };
  Solved out;
  for (const auto& v : all_vars) out.assignment.push_back(value_of(v));
  for (const auto& v : slot_vars) out.slot_values.push_back(value_of(v));
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    ops::TensorType type;
    auto dt = st.info.dtypes.find(tensors[t]);
    type.dtype = dt == st.info.dtypes.end() ? ops::DType::F32 : dt->second;
    type.python_scalar = st.info.roles.numbers.count(tensors[t]) > 0;
    for (int d = 0; d < sl.ranks[t]; ++d) type.shape.push_back(out.slot_values[sl.of.at({t, d})]);
    out.inst.tensors[tensors[t]] = type;
  }
  for (std::size_t i = 0; i < integers.size(); ++i) out.inst.integers[integers[i]] = value_of(int_vars[i]);
  return out;
}

std::optional<Z3Instance> InstanceSearch::attempt(const std::vector<int>& ranks, const Extra& extra) {
  Slots sl = slots_of(ranks);
  std::vector<std::size_t> cls(sl.list.size());
  for (std::size_t i = 0; i < cls.size(); ++i) cls[i] = i;
  auto unite = [&](std::size_t into, std::size_t from) {
    std::size_t a = cls[into], b = cls[from];
    for (auto& c : cls)
      if (c == b) c = a;
  };
  std::vector<std::vector<std::int64_t>> blocked;
  bool structural = false;  // the walk fails whatever the dims (not encodable)
  for (int iteration = 0; iteration < 24; ++iteration) {
    if (st.walks > kMaxWalks) return std::nullopt;
    auto solved = solve(sl, cls, blocked, extra);
    if (!solved) break;
    int progress = 0;
    std::vector<std::vector<ops::TensorType>> failed;
    std::string err = try_instance(st, solved->inst, progress, &failed);
    if (err.empty()) return solved->inst;
    st.last_error = err;
    if (progress < 0) {
      structural = true;
      break;
    }
    std::map<std::int64_t, std::vector<std::size_t>> by_value;  // dim value -> slots
    for (std::size_t i = 0; i < sl.list.size(); ++i) by_value[solved->slot_values[i]].push_back(i);
    std::set<std::int64_t> values;
    if (!failed.empty())
      for (const auto& t : failed.back())
        for (auto d : t.shape) values.insert(d);
    bool repaired = false;
    std::vector<std::int64_t> vals(values.begin(), values.end());
    for (std::size_t a = 0; a < vals.size() && !repaired; ++a)
      for (std::size_t b = 0; b < vals.size() && !repaired; ++b) {
        if (a == b || !by_value.count(vals[a]) || !by_value.count(vals[b])) continue;
        // Make every slot of value vals[b] take vals[a].
        Z3Instance trial = solved->inst;
        for (std::size_t t = 0; t < tensors.size(); ++t)
          for (auto& d : trial.tensors[tensors[t]].shape)
            if (d == vals[b]) d = vals[a];
        int p2 = 0;
        std::string e2 = try_instance(st, trial, p2);
        if (e2.empty() || p2 > progress) {
          for (auto slot : by_value[vals[b]]) unite(by_value[vals[a]][0], slot);
          repaired = true;
        }
      }
    if (!repaired) {
      if (blocked.size() >= 4) break;
      blocked.push_back(solved->assignment);
    }
  }
  if (structural || sl.list.empty() || st.walks > kMaxWalks) return std::nullopt;
  return equal_dims_then_split(sl, extra);
}

// All dims equal (every equality an op can ask for holds), then each slot split off in turn
// while the walk still succeeds.
std::optional<Z3Instance> InstanceSearch::equal_dims_then_split(const Slots& sl, const Extra& extra) {
  std::vector<std::size_t> one(sl.list.size(), 0);
  auto solved = solve(sl, one, {}, extra);
  int progress = 0;
  if (!solved || !try_instance(st, solved->inst, progress).empty()) return std::nullopt;
  Z3Instance best = solved->inst;
  std::size_t next_class = sl.list.size();
  for (std::size_t i = 1; i < one.size() && st.walks <= kMaxWalks; ++i) {
    std::vector<std::size_t> split = one;
    split[i] = next_class;
    auto s2 = solve(sl, split, {}, extra);
    if (!s2 || !try_instance(st, s2->inst, progress).empty()) continue;
    one = split;
    ++next_class;
    best = s2->inst;
  }
  return best;
}

std::vector<Z3Instance> InstanceSearch::variants(const std::vector<int>& ranks, const Z3Instance& base) {
  std::vector<Z3Instance> out;
  auto add = [&](std::optional<Z3Instance> v) -> std::optional<Z3Instance> {
    if (!v || v->to_string() == base.to_string()) return v;
    for (const auto& o : out)
      if (o.to_string() == v->to_string()) return v;
    v->variant = true;
    out.push_back(*v);
    return v;
  };
  Slots sl = slots_of(ranks);
  std::vector<std::size_t> own(sl.list.size());
  for (std::size_t i = 0; i < own.size(); ++i) own[i] = i;
  // A constraint on some of the integers (`which`), relative to instance `from`.
  using Change = std::function<z3::expr(z3::context&, const z3::expr& k, std::int64_t was)>;
  auto changed = [this](std::vector<std::size_t> which, const Z3Instance& from, Change change) -> Extra {
    return [which, from, change, this](z3::context& ctx, const std::vector<z3::expr>&, const std::vector<z3::expr>& ks) {
      z3::expr all = ctx.bool_val(true);
      for (auto i : which) all = all && change(ctx, ks[i], from.integers.at(integers[i]));
      return all;
    };
  };
  // Every integer the guard lets change so (alone), changed at once; else one at a time.
  auto vary = [&](const Z3Instance& from, const Extra& keep, const Change& change,
                  const std::vector<std::size_t>& candidates) -> std::optional<Z3Instance> {
    std::vector<std::size_t> free;
    for (std::size_t i : candidates)
      if (solve(sl, own, {}, both(keep, changed({i}, from, change)))) free.push_back(i);
    if (free.empty()) return std::nullopt;
    if (auto v = attempt(ranks, both(keep, changed(free, from, change)))) return v;
    if (free.size() > 1)
      for (auto i : free)
        if (auto v = attempt(ranks, both(keep, changed({i}, from, change)))) return v;
    return std::nullopt;
  };
  // Other values.
  auto vary_integers = [&](const Z3Instance& from, const Extra& keep) {
    std::vector<std::size_t> all(integers.size());
    std::iota(all.begin(), all.end(), 0);
    return vary(from, keep, [](z3::context&, const z3::expr& k, std::int64_t was) { return k != static_cast<int>(was); },
                all);
  };
  // The other sign, for the integers that name a position. The solver prefers non-negative
  // integers, or takes whatever sign the guard leaves open when one of them must be negative;
  // but a dim counted from the end names another dim than the same number counted from the
  // front, and a rule that shifts dims (through a squeeze, a flatten) is often right for one
  // and wrong for the other.
  auto flip_signs = [&](const Z3Instance& from, const Extra& keep) {
    return vary(from, keep, [](z3::context&, const z3::expr& k, std::int64_t was) { return was < 0 ? k >= 0 : k < 0; },
                signed_integers);
  };
  if (!integers.empty()) {
    add(vary_integers(base, nullptr));
    add(flip_signs(base, nullptr));
  }
  for (const auto& site : squeezes) {
    auto t = std::find(tensors.begin(), tensors.end(), site.tensor);
    if (t == tensors.end()) continue;
    std::size_t ti = static_cast<std::size_t>(t - tensors.begin());
    int rank = ranks[ti];
    if (rank == 0) continue;
    std::size_t k = site.dim_var.empty() ? 0 : static_cast<std::size_t>(std::find(integers.begin(), integers.end(), site.dim_var) - integers.begin());
    if (!site.dim_var.empty() && k == integers.size()) continue;
    Extra unit = [&sl, site, ti, rank, k](z3::context& ctx, const std::vector<z3::expr>& slot_vars,
                                            const std::vector<z3::expr>& ks) {
      z3::expr any = ctx.bool_val(false);
      for (int d = 0; d < rank; ++d) {
        z3::expr is_unit = slot_vars[sl.of.at({ti, d})] == 1;
        if (site.dim) {
          if (*site.dim == d || *site.dim == d - rank) any = any || is_unit;
        } else {
          any = any || ((ks[k] == d || ks[k] == d - rank) && is_unit);
        }
      }
      return any;
    };
    auto u = add(attempt(ranks, unit));
    if (u && !integers.empty()) {
      add(vary_integers(*u, unit));
      add(flip_signs(*u, unit));
    }
  }
  return out;
}

std::vector<Z3Instance> InstanceSearch::run() {
  std::vector<Z3Instance> found;
  // Number variables (scale=?s) have rank 0: the tuples range over the other tensors.
  const std::set<std::string>& numbers = st.info.roles.numbers;
  // The tuples range over groups of variables the guard gives one shape, and skip the
  // variables whose rank it fixes (`rank(?a) == 4`): a rule over four rank-4 tensors is not
  // left to the end of a list it would never reach.
  std::vector<std::string> shaped;
  for (const auto& t : tensors)
    if (!numbers.count(t)) shaped.push_back(t);
  const std::map<std::string, int> pinned = pinned_ranks(st.rule.guard);
  std::vector<std::vector<std::string>> free_groups;
  for (auto& group : equal_shape_groups(st.rule.guard, shaped))
    if (!pinned.count(group.front())) free_groups.push_back(std::move(group));
  std::size_t tried = 0;
  int bases = 0;
  for (const auto& group_ranks : rank_tuples(free_groups.size(), kMaxRankTuples)) {
    if (bases >= st.options.instances || st.walks > kMaxWalks || ++tried > kMaxRankTuples) break;
    std::map<std::string, int> rank_of = pinned;
    for (std::size_t g = 0; g < free_groups.size(); ++g)
      for (const auto& t : free_groups[g]) rank_of[t] = group_ranks[g];
    std::vector<int> ranks;
    for (const auto& t : tensors) ranks.push_back(numbers.count(t) ? 0 : rank_of.at(t));
    if (auto inst = attempt(ranks, nullptr)) {
      found.push_back(*inst);
      ++bases;
      if (bases <= 2)
        for (auto& v : variants(ranks, *inst)) found.push_back(std::move(v));
    }
  }
  return found;
}

}  // namespace

std::vector<Z3Instance> search_instances(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Options& options,
                                         const RuleInfo& info, std::string* last_error) {
  // A guard that pins every variable names the one instance: no search.
  if (auto pinned = pinned_instance(rule.guard, info.roles.tensors, info.roles.integers)) {
    SearchState st{rule, ops, options, info};
    int progress = 0;
    std::string error = try_instance(st, *pinned, progress);
    if (last_error) *last_error = error;
    if (error.empty()) return {*pinned};
    return {};
  }
  SearchState st{rule, ops, options, info};
  std::vector<Z3Instance> found;
  try {
    found = InstanceSearch(st).run();
  } catch (...) {
    if (last_error) *last_error = st.last_error;
    throw;
  }
  if (last_error) *last_error = st.last_error;
  return found;
}

std::vector<Z3Instance> find_instances(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Options& options) {
  try {
    RuleInfo info = analyze(rule, ops);
    // Shapes need typing, not encodings: only an op that ops/ does not know stops the search.
    for (const auto& op : info.not_encodable)
      if (!ops::find_op(op) && op != "getitem") return {};
    return search_instances(rule, ops, options, info);
  } catch (const std::exception&) {
    return {};
  }
}

std::string Z3Instance::to_string() const {
  std::string out;
  for (const auto& [name, type] : tensors) out += (out.empty() ? "?" : ", ?") + name + ": " + type.to_string();
  for (const auto& [name, v] : integers) out += (out.empty() ? "?" : ", ?") + name + " = " + std::to_string(v);
  return out.empty() ? "(no variables)" : out;
}

}  // namespace twin::verify
