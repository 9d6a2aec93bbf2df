#include "verify/z3_checker.h"

#include "verify/isolated_call.h"
#include "verify/pattern_layout.h"

#include "ops/op_spec.h"
#include "verify/z3_encoding.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <mutex>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <sstream>

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

// ---- how a pattern node's children are read ------------------------------------------------

// Which children of a node are operands and which attributes: the shared reading of
// verify/pattern_layout.h (the op registry's signature). An op the registry does not know is
// not encodable.
NodeLayout encoder_layout_of(const eg::OpTable& ops, const eg::Pattern& node) {
  try {
    return layout_of(ops, node);
  } catch (const LayoutError& e) {
    throw NotEncodable(e.op(), e.unknown_op() ? "unknown op" : e.what());
  }
}

// Variables by role: tensors (operand positions) and integers (attribute positions).
struct VarRoles {
  std::vector<std::string> tensors;
  std::vector<std::string> integers;
  std::map<std::string, ops::DType> dtype_hint;  // from op domains (masks, indices)
};

void collect_roles(const eg::OpTable& ops, const eg::Pattern& p, bool attribute, VarRoles& roles,
                   std::set<std::string>& not_encodable) {
  if (p.is_var()) {
    auto& list = attribute ? roles.integers : roles.tensors;
    if (std::find(list.begin(), list.end(), p.var) == list.end()) list.push_back(p.var);
    return;
  }
  const eg::OpInfo& info = ops.info(p.op);
  if (info.is_leaf()) return;
  if (info.name == "list" || (attribute && info.name == "neg")) {
    for (const auto& c : p.children) collect_roles(ops, c, attribute, roles, not_encodable);
    return;
  }
  NodeLayout layout;
  try {
    layout = encoder_layout_of(ops, p);
  } catch (const NotEncodable& e) {
    // An op neither ops/ nor the encoder knows: its children can only be tensors.
    not_encodable.insert(info.name);
    for (const auto& c : p.children) collect_roles(ops, c, false, roles, not_encodable);
    return;
  }
  // An op ops/ knows but Z3 cannot encode still has a signature: its operands, attributes and
  // domains are known, so the random tester can instantiate and evaluate it.
  if (!is_encodable(info.name) && info.name != "getitem") not_encodable.insert(info.name);
  const ops::OpSpec* spec = ops::find_op(info.name);
  // The variable an operand is, or only rearranges (squeeze(?i), reshape(?i)...): a domain's
  // dtype (indices, masks) is the variable's too.
  std::function<const eg::Pattern*(const eg::Pattern&)> rearranged = [&](const eg::Pattern& c) -> const eg::Pattern* {
    if (c.is_var()) return &c;
    const eg::OpInfo& ci = ops.info(c.op);
    static const std::set<std::string> kRearrangements = {"squeeze", "unsqueeze", "reshape",    "view",  "transpose",
                                                          "permute", "expand",    "contiguous", "clone", "detach"};
    if (ci.kind != eg::OpKind::Apply || c.children.empty() || !kRearrangements.count(ci.name)) return nullptr;
    return rearranged(c.children[0]);
  };
  for (std::size_t i = 0; i < p.children.size(); ++i) {
    bool attr = !layout.child_attr[i].empty();
    collect_roles(ops, p.children[i], attr, roles, not_encodable);
    if (attr) continue;
    const eg::Pattern* var = rearranged(p.children[i]);
    if (!var) continue;
    // Domain hints: masks are boolean, indices integral.
    ops::OperandDomain::Kind kind = ops::OperandDomain::Kind::Any;
    if (spec && i < spec->domains.size()) kind = spec->domains[i].kind;
    else if (!spec && ((info.name == "where" && i == 0) || (info.name == "masked_fill" && i == 1)))
      kind = ops::OperandDomain::Kind::BoolMask;
    else if (!spec && info.name == "index_select" && i == 1)
      kind = ops::OperandDomain::Kind::Index;
    if (kind == ops::OperandDomain::Kind::BoolMask) roles.dtype_hint[var->var] = ops::DType::Bool;
    if (kind == ops::OperandDomain::Kind::Index) roles.dtype_hint[var->var] = ops::DType::I64;
  }
}

// ---- evaluating a pattern on an instance ---------------------------------------------------

struct TVal {
  SymTensor sym;
  ops::TensorType type;
};

struct Walker {
  const eg::OpTable& ops;
  Z3Encoder& enc;
  const Z3Instance& inst;
  std::map<std::string, TVal> inputs;
  int nodes_done = 0;
  std::vector<std::vector<ops::TensorType>> failed_operands;  // operand types at the failing node
  std::string failure;
  std::set<std::string> mismatch_ops;  // encoder and ops::infer disagree
  // Typing only (the instance search): an op ops/ knows takes its result type from infer and
  // fresh placeholder elements, without being encoded, so rules with ops Z3 cannot encode
  // still get shapes (for the random tester).
  bool shapes_only = false;
  int placeholders = 0;

  // An attribute's value on this instance; what the encoder cannot read is not encodable.
  ops::AttrValue attr_of(const eg::Pattern& p) {
    try {
      return attribute_value(ops, p, inst.integers);
    } catch (const std::invalid_argument& e) {
      throw NotEncodable(p.is_var() ? "?" + p.var : ops.info(p.op).name, e.what());
    }
  }

  std::vector<TVal> eval(const eg::Pattern& p) {
    if (p.is_var()) {
      auto it = inputs.find(p.var);
      if (it == inputs.end()) throw NotEncodable("?" + p.var, "not a tensor variable");
      return {it->second};
    }
    const eg::OpInfo& info = ops.info(p.op);
    if (info.kind == eg::OpKind::Constant) {
      ops::TensorType t;
      t.python_scalar = true;
      t.dtype = is_integer(info.constant) ? ops::DType::I64 : ops::DType::F32;
      return {TVal{enc.constant(info.constant), t}};
    }
    if (info.kind != eg::OpKind::Apply) throw NotEncodable(info.name, "a leaf in a tensor position");
    if (info.name == "list") {
      std::vector<TVal> out;
      for (const auto& c : p.children)
        for (auto& v : eval(c)) out.push_back(std::move(v));
      return out;
    }
    NodeLayout layout = encoder_layout_of(ops, p);
    std::vector<TVal> operands;
    ops::Attributes attrs;
    for (std::size_t i = 0; i < p.children.size(); ++i) {
      if (layout.child_attr[i].empty()) {
        for (auto& v : eval(p.children[i])) operands.push_back(std::move(v));
      } else {
        attrs[layout.child_attr[i]] = attr_of(p.children[i]);
      }
    }
    if (info.name == "getitem") {
      auto it = attrs.find("index");
      if (it == attrs.end() || !it->second.is_int()) throw NotEncodable("getitem", "index must be an integer");
      std::int64_t i = it->second.as_int();
      if (i < 0) i += static_cast<std::int64_t>(operands.size());
      if (i < 0 || i >= static_cast<std::int64_t>(operands.size())) throw EncodingShapeError("getitem: index out of range");
      ++nodes_done;
      return {operands[i]};
    }
    std::vector<ops::TensorType> types;
    for (const auto& o : operands) types.push_back(o.type);
    std::vector<SymTensor> syms;
    for (const auto& o : operands) syms.push_back(o.sym);
    std::vector<ops::TensorType> inferred;
    const ops::OpSpec* spec = ops::find_op(info.name);
    try {
      if (spec) inferred = spec->infer(types, ops::complete_attributes(*spec, attrs));
    } catch (const ops::ShapeError& e) {
      failed_operands.push_back(types);
      failure = info.name + ": " + e.what();
      throw EncodingShapeError(failure);
    }
    std::vector<SymTensor> outs;
    if (shapes_only && spec) {
      std::vector<TVal> result;
      for (const auto& t : inferred) {
        if (t.numel() == 0) {
          failed_operands.push_back(types);
          failure = info.name + ": empty result";
          throw EncodingShapeError(failure);
        }
        result.push_back(TVal{enc.fresh("shape_probe_" + std::to_string(placeholders++), t.shape), t});
      }
      ++nodes_done;
      return result;
    }
    try {
      outs = enc.encode(info.name, syms, attrs);
    } catch (const EncodingShapeError& e) {
      failed_operands.push_back(types);
      failure = e.what();
      throw;
    }
    std::vector<TVal> result;
    for (std::size_t i = 0; i < outs.size(); ++i) {
      ops::TensorType t;
      if (spec) {
        if (inferred.size() != outs.size() || inferred[i].shape != outs[i].shape) {
          mismatch_ops.insert(info.name);
          throw NotEncodable(info.name, "the Z3 encoding's shape " + shape_text(outs[i].shape) +
                                            " disagrees with ops' shape inference");
        }
        t = inferred[i];
      } else {
        t.dtype = types.empty() ? ops::DType::F32 : types[0].dtype;
        if (info.name == "cast" || info.name == "to")
          if (auto it = attrs.find("dtype"); it != attrs.end())
            if (auto* d = std::get_if<ops::DType>(&it->second.value)) t.dtype = *d;
        t.shape = outs[i].shape;
      }
      if (outs[i].numel() == 0) {
        failed_operands.push_back(types);
        failure = info.name + ": empty result";
        throw EncodingShapeError(failure);
      }
      result.push_back(TVal{std::move(outs[i]), t});
    }
    ++nodes_done;
    return result;
  }
};

// ---- guards --------------------------------------------------------------------------------

using SE = eg::ScalarExpr;

// dtype(?x) == name conjuncts: fixes variables' dtypes.
// A guard's value: numbers (elementwise over a shape), a boolean, a string, a shape, or
// something the current level cannot see (tensor values while solving shapes).
struct GVal {
  enum class Kind { Num, Bool, Str, ShapeList, Opaque, Invalid } kind = Kind::Invalid;
  Shape shape;
  std::vector<z3::expr> elems;  // Num: elements (Real); Bool: one element; ShapeList: dims (Real)
  std::string str;
};

struct GuardTranslator {
  z3::context& ctx;
  bool value_level = false;
  std::map<std::string, std::vector<z3::expr>> dims;  // per tensor variable, its dims (Real terms)
  std::map<std::string, z3::expr> integers;            // integer variables (Real terms)
  std::map<std::string, ops::DType> dtypes;
  std::map<std::string, SymTensor> tensors;  // value level
  bool approximated = false;                 // an atom was replaced by a free boolean
  int fresh = 0;

  GVal num(z3::expr e) {
    GVal v;
    v.kind = GVal::Kind::Num;
    v.elems.push_back(std::move(e));
    return v;
  }
  GVal boolean(z3::expr e) {
    GVal v;
    v.kind = GVal::Kind::Bool;
    v.elems.push_back(std::move(e));
    return v;
  }
  z3::expr free_bool() {
    approximated = true;
    return ctx.bool_const(("guard_atom!" + std::to_string(fresh++)).c_str());
  }
  std::optional<std::int64_t> constant_int(const GVal& v) {
    if (v.kind != GVal::Kind::Num || v.elems.size() != 1) return std::nullopt;
    z3::expr e = v.elems[0].simplify();
    if (!e.is_numeral()) return std::nullopt;
    auto r = parse_rational(Z3_get_numeral_string(ctx, e));
    if (!r || !is_integer(*r)) return std::nullopt;
    return boost::multiprecision::numerator(*r).convert_to<std::int64_t>();
  }
  z3::expr real(const Rational& r) {
    std::string text = boost::multiprecision::numerator(r).str();
    if (boost::multiprecision::denominator(r) != 1) text += "/" + boost::multiprecision::denominator(r).str();
    return ctx.real_val(text.c_str());
  }

  // Elementwise combination with broadcasting.
  template <class F>
  std::optional<GVal> zip(const GVal& a, const GVal& b, F&& f) {
    Shape s;
    std::size_t r = std::max(a.shape.size(), b.shape.size());
    s.assign(r, 1);
    for (std::size_t i = 0; i < r; ++i) {
      std::int64_t da = i < r - a.shape.size() ? 1 : a.shape[i - (r - a.shape.size())];
      std::int64_t db = i < r - b.shape.size() ? 1 : b.shape[i - (r - b.shape.size())];
      if (da != db && da != 1 && db != 1) return std::nullopt;
      s[i] = da == 1 ? db : da;
    }
    GVal out;
    out.kind = GVal::Kind::Num;
    out.shape = s;
    std::int64_t n = 1;
    for (auto d : s) n *= d;
    auto pick = [&](const GVal& t, std::int64_t flat) {
      std::vector<std::int64_t> idx(s.size());
      for (int i = static_cast<int>(s.size()) - 1; i >= 0; --i) {
        idx[i] = flat % s[i];
        flat /= s[i];
      }
      std::int64_t f2 = 0;
      std::size_t off = s.size() - t.shape.size();
      for (std::size_t i = 0; i < t.shape.size(); ++i) f2 = f2 * t.shape[i] + (t.shape[i] == 1 ? 0 : idx[off + i]);
      return t.elems[f2];
    };
    for (std::int64_t i = 0; i < n; ++i) out.elems.push_back(f(pick(a, i), pick(b, i)));
    return out;
  }

  GVal tr(const SE& e) {
    using K = SE::Kind;
    switch (e.kind) {
      case K::Constant: return num(real(e.number));
      case K::String: {
        GVal v;
        v.kind = GVal::Kind::Str;
        v.str = e.text;
        return v;
      }
      case K::Bool: return boolean(ctx.bool_val(e.boolean));
      case K::PatternVar: {
        if (auto it = integers.find(e.text); it != integers.end()) return num(it->second);
        if (!value_level) return GVal{GVal::Kind::Opaque, {}, {}, {}};
        auto t = tensors.find(e.text);
        if (t == tensors.end()) return GVal{};
        GVal v;
        v.kind = GVal::Kind::Num;
        v.shape = t->second.shape;
        v.elems = t->second.elements;
        return v;
      }
      case K::Neg: {
        GVal a = tr(e.args[0]);
        if (a.kind != GVal::Kind::Num) return a;
        for (auto& x : a.elems) x = -x;
        return a;
      }
      case K::Arith: {
        GVal a = tr(e.args[0]), b = tr(e.args[1]);
        if (a.kind == GVal::Kind::Opaque || b.kind == GVal::Kind::Opaque) return GVal{GVal::Kind::Opaque, {}, {}, {}};
        if (a.kind != GVal::Kind::Num || b.kind != GVal::Kind::Num) return GVal{};
        std::optional<GVal> r;
        switch (e.arith) {
          case SE::ArithOp::Add: r = zip(a, b, [](const z3::expr& x, const z3::expr& y) { return x + y; }); break;
          case SE::ArithOp::Sub: r = zip(a, b, [](const z3::expr& x, const z3::expr& y) { return x - y; }); break;
          case SE::ArithOp::Mul: r = zip(a, b, [](const z3::expr& x, const z3::expr& y) { return x * y; }); break;
          case SE::ArithOp::Div: r = zip(a, b, [](const z3::expr& x, const z3::expr& y) { return x / y; }); break;
          case SE::ArithOp::Mod:
            r = zip(a, b, [](const z3::expr& x, const z3::expr& y) {
              auto ti = [](const z3::expr& v) { return z3::expr(v.ctx(), Z3_mk_real2int(v.ctx(), v)); };
              return z3::to_real(z3::mod(ti(x), ti(y)));
            });
            break;
          case SE::ArithOp::Pow: {
            auto p = constant_int(b);
            if (!p || *p < 0 || *p > 8) return GVal{};
            std::int64_t n = *p;
            r = zip(a, b, [&](const z3::expr& x, const z3::expr&) {
              z3::expr acc = ctx.real_val(1);
              for (std::int64_t i = 0; i < n; ++i) acc = i == 0 ? x : acc * x;
              return acc;
            });
            break;
          }
        }
        return r ? *r : GVal{};
      }
      case K::Compare: {
        GVal a = tr(e.args[0]), b = tr(e.args[1]);
        if (a.kind == GVal::Kind::Opaque || b.kind == GVal::Kind::Opaque) return boolean(free_bool());
        if (a.kind == GVal::Kind::Invalid || b.kind == GVal::Kind::Invalid) return boolean(ctx.bool_val(false));
        bool eq = e.compare == SE::CompareOp::Eq, ne = e.compare == SE::CompareOp::Ne;
        if (a.kind == GVal::Kind::Str || b.kind == GVal::Kind::Str) {
          if (a.kind != b.kind || !(eq || ne)) return boolean(ctx.bool_val(ne));
          return boolean(ctx.bool_val((a.str == b.str) == eq));
        }
        if (a.kind == GVal::Kind::ShapeList || b.kind == GVal::Kind::ShapeList) {
          if (a.kind != b.kind || !(eq || ne)) return boolean(ctx.bool_val(ne));
          z3::expr same = ctx.bool_val(a.elems.size() == b.elems.size());
          if (a.elems.size() == b.elems.size())
            for (std::size_t i = 0; i < a.elems.size(); ++i) same = same && a.elems[i] == b.elems[i];
          return boolean(eq ? same : !same);
        }
        if (a.kind == GVal::Kind::Bool && b.kind == GVal::Kind::Bool && (eq || ne))
          return boolean(eq ? a.elems[0] == b.elems[0] : a.elems[0] != b.elems[0]);
        if (a.kind != GVal::Kind::Num || b.kind != GVal::Kind::Num) return boolean(ctx.bool_val(false));
        // Elementwise over tensors: the comparison holds for every element (for `!=`: every
        // element differs, the reading of `?b != 0` as "no element is 0").
        auto r = zip(a, b, [&](const z3::expr& x, const z3::expr& y) {
          switch (e.compare) {
            case SE::CompareOp::Eq: return x == y;
            case SE::CompareOp::Ne: return x != y;
            case SE::CompareOp::Lt: return x < y;
            case SE::CompareOp::Le: return x <= y;
            case SE::CompareOp::Gt: return x > y;
            case SE::CompareOp::Ge: return x >= y;
          }
          return x == y;
        });
        if (!r) return boolean(ctx.bool_val(false));
        z3::expr all = ctx.bool_val(true);
        for (const auto& x : r->elems) all = all && x;
        return boolean(all);
      }
      case K::And:
      case K::Or: {
        z3::expr acc = ctx.bool_val(e.kind == K::And);
        for (const auto& a : e.args) {
          z3::expr b = as_bool(a);
          acc = e.kind == K::And ? (acc && b) : (acc || b);
        }
        return boolean(acc);
      }
      case K::Not: return boolean(!as_bool(e.args[0]));
      case K::Query: return query(e);
    }
    return GVal{};
  }

  z3::expr as_bool(const SE& e) {
    GVal v = tr(e);
    if (v.kind == GVal::Kind::Bool) return v.elems[0];
    if (v.kind == GVal::Kind::Opaque) return free_bool();
    return ctx.bool_val(false);
  }

  GVal query(const SE& e) {
    auto var = [&](std::size_t i) -> std::string {
      return i < e.args.size() && e.args[i].kind == SE::Kind::PatternVar ? e.args[i].text : "";
    };
    std::string x = var(0);
    auto d = dims.find(x);
    if (e.text == "dtype" && !x.empty()) {
      GVal v;
      v.kind = GVal::Kind::Str;
      auto it = dtypes.find(x);
      v.str = std::string(ops::dtype_name(it == dtypes.end() ? ops::DType::F32 : it->second));
      return v;
    }
    if (d != dims.end()) {
      std::int64_t rank = static_cast<std::int64_t>(d->second.size());
      if (e.text == "rank") return num(ctx.real_val(static_cast<int>(rank)));
      if (e.text == "shape") {
        GVal v;
        v.kind = GVal::Kind::ShapeList;
        v.elems = d->second;
        return v;
      }
      if (e.text == "numel") {
        z3::expr p = ctx.real_val(1);
        for (const auto& x2 : d->second) p = p * x2;
        return num(p);
      }
      if (e.text == "dim" && e.args.size() == 2) {
        auto i = constant_int(tr(e.args[1]));
        if (!i || *i < -rank || *i >= rank) return GVal{};
        return num(d->second[*i < 0 ? *i + rank : *i]);
      }
    }
    return GVal{GVal::Kind::Opaque, {}, {}, {}};
  }
};

// ---- instance search -----------------------------------------------------------------------

struct RuleInfo {
  VarRoles roles;
  std::set<std::string> not_encodable;
  std::map<std::string, ops::DType> dtypes;
};

RuleInfo analyze(const eg::Rewrite& rule, const eg::OpTable& ops) {
  RuleInfo info;
  collect_roles(ops, rule.lhs, false, info.roles, info.not_encodable);
  collect_roles(ops, rule.rhs, false, info.roles, info.not_encodable);
  // A variable used both ways is an integer only if it never names a tensor.
  for (const auto& t : info.roles.tensors) {
    auto& ints = info.roles.integers;
    ints.erase(std::remove(ints.begin(), ints.end(), t), ints.end());
  }
  info.dtypes = info.roles.dtype_hint;
  if (rule.guard) collect_dtype_facts(*rule.guard, info.dtypes);
  return info;
}

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
};
constexpr long kMaxWalks = 4000;
constexpr std::size_t kMaxRankTuples = 150;

// Walks both sides of the rule on an instance with a scratch encoder. Returns "" when both
// sides fit, else the error; `progress` counts the nodes evaluated.
std::string try_instance(SearchState& st, const Z3Instance& inst, int& progress,
                         std::vector<std::vector<ops::TensorType>>* failed = nullptr) {
  ++st.walks;
  z3::context& ctx = *st.scratch;
  Z3Encoder enc(ctx);
  Walker w{st.ops, enc, inst, {}, 0, {}, "", {}};
  w.shapes_only = true;
  for (const auto& [name, type] : inst.tensors) w.inputs[name] = TVal{enc.fresh(name, type.shape), type};
  try {
    // Instances come from the left side and the guard alone: wherever the left side types,
    // the right side must too, or the rule is wrong there (check_instance refutes it).
    w.eval(st.rule.lhs);
    progress = w.nodes_done;
    return "";
  } catch (const EncodingShapeError& e) {
    progress = w.nodes_done;
    if (failed) *failed = w.failed_operands;
    return e.what();
  } catch (const NotEncodable& e) {
    progress = -1;
    return e.what();
  } catch (const std::exception& e) {
    progress = -1;
    return e.what();
  }
}

// squeeze(?x, dim=D) in the lhs, with D a constant or an integer variable: where ?x's dim D is
// not 1 the squeeze does nothing, so instances with a unit dim there are searched too.
struct SqueezeSite {
  std::string tensor;                 // ?x
  std::optional<std::int64_t> dim;    // a constant dim
  std::string dim_var;                // or an integer variable
};

void collect_squeezes(const eg::OpTable& ops, const eg::Pattern& p, std::vector<SqueezeSite>& out) {
  if (p.is_var()) return;
  const eg::OpInfo& info = ops.info(p.op);
  if (info.is_leaf()) return;
  for (const auto& c : p.children) collect_squeezes(ops, c, out);
  if (info.name != "squeeze") return;
  NodeLayout layout;
  try {
    layout = encoder_layout_of(ops, p);
  } catch (const std::exception&) {
    return;
  }
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
}

std::vector<Z3Instance> search_instances(SearchState& st) {
  const auto& tensors = st.info.roles.tensors;
  const auto& integers = st.info.roles.integers;
  std::vector<Z3Instance> found;
  auto tuples = rank_tuples(tensors.size(), kMaxRankTuples);

  // A rank tuple's dim slots: (tensor index, dim).
  struct Slots {
    std::vector<int> ranks;
    std::vector<std::pair<std::size_t, int>> list;
    std::map<std::pair<std::size_t, int>, std::size_t> of;
  };
  auto slots_of = [&](const std::vector<int>& ranks) {
    Slots sl;
    sl.ranks = ranks;
    for (std::size_t t = 0; t < tensors.size(); ++t)
      for (int d = 0; d < ranks[t]; ++d) {
        sl.of[{t, d}] = sl.list.size();
        sl.list.push_back({t, d});
      }
    return sl;
  };
  // Extra constraints of a variant search, over the slots' and the integer variables' terms.
  using Extra = std::function<z3::expr(z3::context&, const std::vector<z3::expr>& slot_vars,
                                       const std::vector<z3::expr>& int_vars)>;
  struct Solved {
    Z3Instance inst;
    std::vector<std::int64_t> assignment;   // per class (in class order), then per integer
    std::vector<std::int64_t> slot_values;  // per slot
  };
  // Solves the dims (slots grouped in classes: cls[slot] is its class) and the integers under
  // the guard, excluding `blocked` assignments, with the preferences: distinct integers,
  // distinct dims, dims in 2..max_dim, non-negative integers, dropped in turn when
  // unsatisfiable.
  auto solve = [&](const Slots& sl, const std::vector<std::size_t>& cls,
                   const std::vector<std::vector<std::int64_t>>& blocked, const Extra& extra) -> std::optional<Solved> {
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
    for (std::size_t i = 0; i < sl.list.size(); ++i)
      s.add(slot_vars[i] >= 1 && slot_vars[i] <= static_cast<int>(st.options.max_dim) + 1);
    for (const auto& k : int_vars) s.add(k >= -8 && k <= 16);
    if (st.rule.guard) s.add(g.as_bool(*st.rule.guard));
    if (extra) s.add(extra(ctx, slot_vars, int_vars));
    std::vector<z3::expr> class_vars;
    for (auto c : classes) class_vars.push_back(ctx.int_const(("d" + std::to_string(c)).c_str()));
    std::vector<z3::expr> all_vars = class_vars;
    for (const auto& k : int_vars) all_vars.push_back(k);
    for (const auto& b : blocked) {
      z3::expr differs = ctx.bool_val(false);
      for (std::size_t i = 0; i < all_vars.size() && i < b.size(); ++i) differs = differs || all_vars[i] != static_cast<int>(b[i]);
      s.add(differs);
    }
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
    if (!sat) return std::nullopt;
    z3::model m = s.get_model();
    auto value_of = [&](const z3::expr& e) { return static_cast<std::int64_t>(m.eval(e, true).get_numeral_int64()); };
    Solved out;
    for (const auto& v : all_vars) out.assignment.push_back(value_of(v));
    for (const auto& v : slot_vars) out.slot_values.push_back(value_of(v));
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      ops::TensorType type;
      auto dt = st.info.dtypes.find(tensors[t]);
      type.dtype = dt == st.info.dtypes.end() ? ops::DType::F32 : dt->second;
      for (int d = 0; d < sl.ranks[t]; ++d) type.shape.push_back(out.slot_values[sl.of.at({t, d})]);
      out.inst.tensors[tensors[t]] = type;
    }
    for (std::size_t i = 0; i < integers.size(); ++i) out.inst.integers[integers[i]] = value_of(int_vars[i]);
    return out;
  };

  // Tries one rank tuple: solve, walk the lhs, and when an op rejects its operands, unify two
  // dims seen there (matmul's inner dims...) when that gets the walk further, else block the
  // assignment and solve again. Failing that, all dims equal (every equality an op can ask for
  // holds), then each slot split off in turn while the walk still succeeds.
  auto attempt = [&](const std::vector<int>& ranks, const Extra& extra) -> std::optional<Z3Instance> {
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
    // All dims equal, then split.
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
  };

  // Variants of a found instance, on the same ranks: other integer values (a rule wrong only
  // where two integers differ, ?r vs ?b, or for another admissible ?d; as many integers changed
  // as the guard lets change), and a unit dim under each squeeze of the lhs (elsewhere a squeeze
  // does nothing), also with its integers changed. They do not count against
  // Z3Options::instances.
  std::vector<SqueezeSite> squeezes;
  collect_squeezes(st.ops, st.rule.lhs, squeezes);
  auto both = [](const Extra& a, const Extra& b) -> Extra {
    if (!a) return b;
    return [a, b](z3::context& ctx, const std::vector<z3::expr>& sv, const std::vector<z3::expr>& ks) {
      return a(ctx, sv, ks) && b(ctx, sv, ks);
    };
  };
  auto variants = [&](const std::vector<int>& ranks, const Z3Instance& base) {
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
    auto differs = [&](std::vector<std::size_t> which, const Z3Instance& from) -> Extra {
      return [which, from, &integers](z3::context& ctx, const std::vector<z3::expr>&, const std::vector<z3::expr>& ks) {
        z3::expr all = ctx.bool_val(true);
        for (auto i : which) all = all && ks[i] != static_cast<int>(from.integers.at(integers[i]));
        return all;
      };
    };
    // Every integer the guard lets change (alone), changed at once; else one at a time.
    auto vary_integers = [&](const Z3Instance& from, const Extra& keep) -> std::optional<Z3Instance> {
      std::vector<std::size_t> free;
      for (std::size_t i = 0; i < integers.size(); ++i)
        if (solve(sl, own, {}, both(keep, differs({i}, from)))) free.push_back(i);
      if (free.empty()) return std::nullopt;
      if (auto v = attempt(ranks, both(keep, differs(free, from)))) return v;
      if (free.size() > 1)
        for (auto i : free)
          if (auto v = attempt(ranks, both(keep, differs({i}, from)))) return v;
      return std::nullopt;
    };
    if (!integers.empty()) add(vary_integers(base, nullptr));
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
      if (u && !integers.empty()) add(vary_integers(*u, unit));
    }
    return out;
  };

  std::size_t tried = 0;
  int bases = 0;
  for (const auto& ranks : tuples) {
    if (bases >= st.options.instances || st.walks > kMaxWalks || ++tried > kMaxRankTuples) break;
    if (auto inst = attempt(ranks, nullptr)) {
      found.push_back(*inst);
      ++bases;
      if (bases <= 2)
        for (auto& v : variants(ranks, *inst)) found.push_back(std::move(v));
    }
  }
  return found;
}

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

std::string approx_text(long double x) {
  std::ostringstream o;
  o.precision(10);
  o << static_cast<double>(x);
  return o.str();
}

// Evaluates a term with the real functions in long double; inputs from `values` (by Z3 id).
struct NumericEval {
  const Z3Encoder& enc;
  std::map<unsigned, long double> values;  // uninterpreted constants (inputs) by id
  std::map<unsigned, long double> memo;
  bool failed = false;

  long double eval(const z3::expr& e) {
    if (auto it = memo.find(e.id()); it != memo.end()) return it->second;
    long double r = compute(e);
    memo[e.id()] = r;
    return r;
  }
  long double compute(const z3::expr& e) {
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
};

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

}  // namespace

// ---- printing ------------------------------------------------------------------------------

std::string Z3Instance::to_string() const {
  std::string out;
  for (const auto& [name, type] : tensors) out += (out.empty() ? "?" : ", ?") + name + ": " + type.to_string();
  for (const auto& [name, v] : integers) out += (out.empty() ? "?" : ", ?") + name + " = " + std::to_string(v);
  return out.empty() ? "(no variables)" : out;
}

std::string ConcreteTensor::to_string() const {
  if (shape.empty()) return text.empty() ? "?" : text[0];
  std::string out;
  std::size_t pos = 0;
  std::function<void(std::size_t)> rec = [&](std::size_t d) {
    out += "[";
    for (std::int64_t i = 0; i < shape[d]; ++i) {
      if (i) out += ", ";
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

const char* z3_status_name(Z3Status status) {
  switch (status) {
    case Z3Status::Proved: return "proved";
    case Z3Status::Refuted: return "refuted";
    case Z3Status::Unknown: return "unknown";
    case Z3Status::NotEncodable: return "not encodable";
  }
  return "?";
}

std::vector<Z3Instance> find_instances(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Options& options) {
  try {
    RuleInfo info = analyze(rule, ops);
    // Shapes need typing, not encodings: only an op that ops/ does not know stops the search.
    for (const auto& op : info.not_encodable)
      if (!ops::find_op(op) && op != "getitem") return {};
    SearchState st{rule, ops, options, info};
    return search_instances(st);
  } catch (const std::exception&) {
    return {};
  }
}

namespace {

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

struct InstanceOutcome {
  std::string result;  // unsat sat unknown timeout vacuous
  std::optional<Z3Counterexample> cex;
  bool numeric = false;
  std::string reason;
};

// Checks one instance: lhs != rhs under the guard and the lhs's domain.
InstanceOutcome check_instance(const eg::Rewrite& rule, const eg::OpTable& ops, const RuleInfo& info,
                               const Z3Instance& inst, const Z3Options& options, std::set<std::string>& ufs) {
  InstanceOutcome out;
  z3::context ctx;
  Z3Encoder enc(ctx);
  Walker w{ops, enc, inst, {}, 0, {}, "", {}};
  std::vector<std::pair<std::string, SymTensor>> inputs;
  for (const auto& [name, type] : inst.tensors) {
    SymTensor t = enc.fresh("?" + name, type.shape);
    inputs.push_back({name, t});
    w.inputs[name] = TVal{t, type};
  }
  std::vector<TVal> lhs = w.eval(rule.lhs);
  z3::expr_vector dom_l = enc.take_domain_conditions();
  std::vector<TVal> rhs;
  try {
    rhs = w.eval(rule.rhs);
  } catch (const EncodingShapeError& e) {
    // The left side types on this instance and the right side does not: a rewrite would
    // build an ill-typed term here.
    out.result = "sat";
    out.reason = std::string("the right side does not type where the left side does: ") + e.what();
    Z3Counterexample cex;
    cex.instance = inst;
    cex.note = out.reason;
    out.cex = cex;
    return out;
  }
  z3::expr_vector dom_r = enc.take_domain_conditions();
  z3::expr_vector axioms = enc.axioms();
  for (const auto& u : enc.uninterpreted_used()) ufs.insert(u);

  GuardTranslator g{ctx, false, {}, {}, {}, {}, false, 0};
  g.value_level = true;
  for (const auto& [name, type] : inst.tensors) {
    std::vector<z3::expr> ds;
    for (auto d : type.shape) ds.push_back(ctx.real_val(static_cast<int>(d)));
    g.dims[name] = ds;
    g.dtypes[name] = type.dtype;
  }
  for (const auto& [name, v] : inst.integers) g.integers.emplace(name, ctx.real_val(static_cast<int>(v)));
  for (const auto& [name, t] : inputs) g.tensors[name] = t;
  z3::expr guard = rule.guard ? g.as_bool(*rule.guard) : ctx.bool_val(true);
  // Mask and index inputs: booleans are 0/1, indices integral (their ranges come with the op).
  z3::expr_vector input_domain(ctx);
  for (const auto& [name, t] : inputs) {
    ops::DType dt = inst.tensors.at(name).dtype;
    for (const auto& e : t.elements) {
      if (dt == ops::DType::Bool) input_domain.push_back(e == 0 || e == 1);
      else if (dt == ops::DType::I64 || dt == ops::DType::I32) input_domain.push_back(z3::expr(ctx, Z3_mk_is_int(ctx, e)));
    }
  }

  // Output pairs. The two sides must have the same shape: a rewrite merges e-classes, and a
  // class holds terms of one type, so `?a * 0 => 0` (a tensor into a scalar) or
  // `expand(?x, shape=[2, -1]) => ?x` is wrong even where the values would broadcast.
  std::string note;
  std::vector<std::pair<z3::expr, z3::expr>> pairs;
  Shape out_shape;
  std::vector<z3::expr> lhs_el, rhs_el;
  bool shape_mismatch = false;
  if (lhs.size() != rhs.size()) {
    shape_mismatch = true;
    note = "lhs has " + std::to_string(lhs.size()) + " outputs, rhs " + std::to_string(rhs.size());
  } else {
    for (std::size_t k = 0; k < lhs.size(); ++k) {
      const SymTensor &l = lhs[k].sym, &r = rhs[k].sym;
      SymTensor rb = r;
      if (l.shape != r.shape) {
        shape_mismatch = true;
        note = "shapes differ: lhs " + shape_text(l.shape) + ", rhs " + shape_text(r.shape);
        break;
      }
      for (std::size_t i = 0; i < l.elements.size(); ++i) pairs.push_back({l.elements[i], rb.elements[i]});
      if (k == 0) {
        out_shape = l.shape;
        lhs_el = l.elements;
        rhs_el = rb.elements;
      }
    }
  }

  z3::solver s(ctx);
  z3::params p(ctx);
  p.set("timeout", options.timeout_ms);
  s.set(p);
  s.add(guard);
  s.add(dom_l);
  s.add(input_domain);
  s.add(axioms);
  bool suspect = !enc.uninterpreted_used().empty() || g.approximated;

  auto make_cex = [&](const z3::model& m, const std::string& why) {
    Z3Counterexample c;
    c.instance = inst;
    c.note = why;
    for (const auto& [name, t] : inputs) {
      std::vector<z3::expr> vals;
      for (const auto& e : t.elements) vals.push_back(m.eval(e, true));
      c.inputs[name] = concrete(t.shape, vals);
    }
    return c;
  };

  if (shape_mismatch) {
    // Any input the guard admits shows the mismatch.
    z3::check_result r = watched_check(s, options.timeout_ms);
    if (r == z3::sat) {
      out.result = "sat";
      out.cex = make_cex(s.get_model(), note);
      out.cex->lhs = concrete(lhs[0].sym.shape, {});
      out.cex->rhs = concrete(rhs.empty() ? Shape{} : rhs[0].sym.shape, {});
      out.cex->lhs.text.assign(lhs[0].sym.numel(), "_");
      if (!rhs.empty()) out.cex->rhs.text.assign(rhs[0].sym.numel(), "_");
      out.reason = note;
      return out;
    }
    out.result = r == z3::unsat ? "vacuous" : "unknown";
    out.reason = note;
    return out;
  }

  z3::expr differ = ctx.bool_val(false);
  for (const auto& [l, r] : pairs) differ = differ || l != r;

  // Confirming a model, of the whole instance or of one group's slice (below).
  // Exactly (no uninterpreted function): both sides evaluated on the model differ. A slice's
  // model must first satisfy every assumption of the instance, which it need not.
  auto satisfies_all = [&](const z3::model& m) {
    auto all_true = [&](const z3::expr_vector& v) {
      for (unsigned i = 0; i < v.size(); ++i)
        if (!m.eval(v[i], true).is_true()) return false;
      return true;
    };
    return m.eval(guard, true).is_true() && all_true(dom_l) && all_true(input_domain) && all_true(axioms);
  };
  auto exact_cex = [&](const z3::model& m) -> std::optional<Z3Counterexample> {
    Z3Counterexample c = make_cex(m, note);
    std::vector<z3::expr> lv, rv;
    bool differs = false;
    for (std::size_t i = 0; i < lhs_el.size(); ++i) {
      lv.push_back(m.eval(lhs_el[i], true));
      rv.push_back(m.eval(rhs_el[i], true));
    }
    for (const auto& [l, rr] : pairs) differs = differs || m.eval(l != rr, true).is_true();
    if (!differs) return std::nullopt;
    c.lhs = concrete(out_shape, lv);
    c.rhs = concrete(out_shape, rv);
    return c;
  };
  // By evaluation (uninterpreted functions: a model of the abstraction may be spurious): the
  // model's inputs only, both sides and the assumptions evaluated with the real functions.
  auto numeric_confirm = [&](Z3Counterexample c, const char* how) -> std::optional<Z3Counterexample> {
    NumericEval ev{enc, {}, {}, false};
    for (const auto& [name, t] : inputs)
      for (std::size_t i = 0; i < t.elements.size(); ++i) ev.values[t.elements[i].id()] = c.inputs[name].approx[i];
    bool admissible = ev.eval(guard) != 0;
    for (unsigned i = 0; i < dom_l.size(); ++i) admissible = admissible && ev.eval(dom_l[i]) != 0;
    for (unsigned i = 0; i < input_domain.size(); ++i) admissible = admissible && ev.eval(input_domain[i]) != 0;
    bool differs = false;
    for (const auto& [l, rr] : pairs) differs = differs || clearly_differ(ev.eval(l), ev.eval(rr));
    if (ev.failed || !admissible || !differs || g.approximated) return std::nullopt;
    std::vector<long double> lv, rv;
    for (std::size_t i = 0; i < lhs_el.size(); ++i) {
      lv.push_back(ev.eval(lhs_el[i]));
      rv.push_back(ev.eval(rhs_el[i]));
    }
    c.lhs = concrete_approx(out_shape, lv);
    c.rhs = concrete_approx(out_shape, rv);
    c.note = (c.note.empty() ? "" : c.note + "; ") + how;
    return c;
  };
  auto numeric_cex = [&](const z3::model& m) {
    return numeric_confirm(make_cex(m, note),
                           "found with uninterpreted functions, confirmed by evaluating both sides in long double");
  };

  // Before any solving, where the sides use sqrt or an uninterpreted function (the nonlinear
  // problems on which Z3 can get stuck, and whose models need evaluating anyway): a few fixed
  // inputs, nonzero halves in [-2, 2] (then their absolute values), masks and indices 0/1,
  // are evaluated on both sides. A wrong rule usually shows a difference right there, confirmed
  // as any model of the abstraction is; inputs outside the guard or the lhs's domain prove nothing.
  if (!enc.uninterpreted_used().empty() || axioms.size() > 0) {
    for (int round = 0; round < 3; ++round) {
      Z3Counterexample c;
      c.instance = inst;
      c.note = note;
      std::uint64_t state = 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(round + 1);
      for (const auto& [name, t] : inputs) {
        ops::DType dt = inst.tensors.at(name).dtype;
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
          vals.push_back(enc.real(v));
        }
        c.inputs[name] = concrete(t.shape, vals);
      }
      if (auto confirmed = numeric_confirm(std::move(c), "a fixed probe input; both sides evaluated in long double")) {
        out.result = "sat";
        out.numeric = true;
        out.cex = std::move(confirmed);
        return out;
      }
    }
  }

  // First, per group of output elements over the same inputs, with only the constraints that
  // mention nothing else: a subset of the assumptions, so unsat here is unsat for all of them
  // (and much smaller problems than the whole instance). Anything else goes to the full check.
  bool proved_by_slices = false;
  std::vector<z3::expr> constraints;
  std::size_t lhs_constraints = 0;  // constraints[0, lhs_constraints): guard, lhs domain, axioms
  std::map<unsigned, std::set<unsigned>> memo;
  std::function<const std::set<unsigned>&(const z3::expr&)> symbols;
  {
    std::function<void(const z3::expr&)> flatten = [&](const z3::expr& e) {
      if (e.is_app() && e.decl().decl_kind() == Z3_OP_AND)
        for (unsigned i = 0; i < e.num_args(); ++i) flatten(e.arg(i));
      else
        constraints.push_back(e);
    };
    flatten(guard);
    for (const auto* v : {&dom_l, &input_domain, &axioms})
      for (unsigned i = 0; i < v->size(); ++i) flatten((*v)[i]);
    symbols = [&](const z3::expr& e) -> const std::set<unsigned>& {
      auto it = memo.find(e.id());
      if (it != memo.end()) return it->second;
      std::set<unsigned> out;
      if (e.is_app()) {
        if (e.num_args() == 0 && e.decl().decl_kind() == Z3_OP_UNINTERPRETED) out.insert(e.id());
        for (unsigned i = 0; i < e.num_args(); ++i) {
          const auto& sub = symbols(e.arg(i));
          out.insert(sub.begin(), sub.end());
        }
      }
      return memo.emplace(e.id(), std::move(out)).first->second;
    };
    std::map<std::set<unsigned>, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      std::set<unsigned> syms = symbols(pairs[i].first);
      const auto& r = symbols(pairs[i].second);
      syms.insert(r.begin(), r.end());
      groups[syms].push_back(i);
    }
    // The rhs's domain may be assumed here: that it holds wherever the lhs's does is checked below.
    lhs_constraints = constraints.size();
    for (unsigned i = 0; i < dom_r.size(); ++i) flatten(dom_r[i]);
    Fractions fractions{ctx, {}};
    // Substituting the definitional axioms (exp(a + c) -> exp(a) * exp(c)) and normalizing to
    // sums of monomials often decides a group outright (softmax_shift).
    z3::expr_vector def_from(ctx), def_to(ctx);
    for (const auto& [from, to] : enc.definitions()) {
      def_from.push_back(from);
      def_to.push_back(to);
    }
    z3::params som(ctx);
    som.set("som", true);
    proved_by_slices = true;
    for (const auto& [syms, members] : groups) {
      bool group_proved = false;
      for (int form = 0; form < 2 && !group_proved; ++form) {
        z3::solver gs(ctx);
        gs.set(p);
        for (const auto& c : constraints) {
          const auto& cs = symbols(c);
          if (std::includes(syms.begin(), syms.end(), cs.begin(), cs.end())) gs.add(c);
        }
        z3::expr d = ctx.bool_val(false);
        for (auto i : members)
          d = d || (form == 0 ? fractions.differ(pairs[i].first, pairs[i].second) : pairs[i].first != pairs[i].second);
        if (form == 0) {
          if (def_from.size() > 0) d = d.substitute(def_from, def_to);
          d = d.simplify(som);
        }
        gs.add(d);
        auto t0 = std::chrono::steady_clock::now();
        auto res = watched_check(gs, options.timeout_ms);
        group_proved = res == z3::unsat;
        if (std::getenv("TWIN_Z3_DEBUG"))
          std::fprintf(stderr, "[z3] group of %zu (form %d): %s %.2fs\n", members.size(), form,
                       res == z3::unsat ? "unsat" : res == z3::sat ? "sat" : "unknown", seconds_since(t0));
        if (res == z3::sat) {
          // Often a counterexample for the whole instance already (a wrong rule is usually
          // wrong in every group), and far cheaper than the full check: confirm it as one.
          z3::model gm = gs.get_model();
          std::optional<Z3Counterexample> c;
          if (!suspect) {
            if (satisfies_all(gm)) c = exact_cex(gm);
          } else {
            c = numeric_cex(gm);
          }
          if (c) {
            out.result = "sat";
            out.numeric = suspect;
            out.cex = std::move(c);
            return out;
          }
        }
      }
      if (!group_proved) {
        proved_by_slices = false;
        break;
      }
    }
  }

  s.push();
  s.add(differ);
  std::vector<z3::expr> blocks;
  for (int attempt = 0; attempt <= std::max(0, options.max_confirm_attempts) && !proved_by_slices; ++attempt) {
    auto t_full = std::chrono::steady_clock::now();
    z3::check_result r = watched_check(s, options.timeout_ms);
    if (std::getenv("TWIN_Z3_DEBUG"))
      std::fprintf(stderr, "[z3] full check attempt %d: %d %.2fs\n", attempt, static_cast<int>(r), seconds_since(t_full));
    if (r == z3::unsat) {
      if (attempt > 0) {
        out.result = "unknown";
        out.reason = "every model found was spurious (uninterpreted functions)";
        return out;
      }
      out.result = "unsat";
      break;
    }
    if (r == z3::unknown) {
      std::string why = s.reason_unknown();
      out.result = why.find("timeout") != std::string::npos || why.find("canceled") != std::string::npos ? "timeout" : "unknown";
      out.reason = "Z3: " + why;
      return out;
    }
    z3::model m = s.get_model();
    // Confirm the model.
    if (!suspect) {
      if (auto c = exact_cex(m)) {
        out.result = "sat";
        out.cex = std::move(c);
        return out;
      }
      out.result = "unknown";
      out.reason = "Z3's model did not evaluate to a difference";
      return out;
    }
    if (auto c = numeric_cex(m)) {
      out.result = "sat";
      out.numeric = true;
      out.cex = std::move(c);
      return out;
    }
    // Spurious: block these inputs and ask again.
    z3::expr block = ctx.bool_val(false);
    for (const auto& [name, t] : inputs)
      for (const auto& e : t.elements) block = block || e != m.eval(e, true);
    s.add(block);
    if (attempt == options.max_confirm_attempts) {
      out.result = "unknown";
      out.reason = "Z3 found only models that rely on the uninterpreted functions (" +
                   std::string(g.approximated ? "or on guard atoms it cannot read" : "exp, log, tanh, erf...") +
                   "); evaluating both sides on them showed no difference";
      return out;
    }
  }
  if (proved_by_slices) out.result = "unsat";
  s.pop();
  // The lhs equals the rhs wherever both are defined; is the rhs defined wherever the lhs is?
  std::vector<z3::expr> pending;  // rhs domain conditions not shown to follow from the lhs's
  {
    std::set<unsigned> lhs_ids;
    for (unsigned i = 0; i < dom_l.size(); ++i) lhs_ids.insert(dom_l[i].id());
    for (unsigned i = 0; i < dom_r.size(); ++i) {
      z3::expr cond = dom_r[i];
      if (lhs_ids.count(cond.id())) continue;
      const auto& syms = symbols(cond);
      z3::solver ds(ctx);
      ds.set(p);
      for (std::size_t k = 0; k < lhs_constraints; ++k) {
        const auto& cs = symbols(constraints[k]);
        if (std::includes(syms.begin(), syms.end(), cs.begin(), cs.end())) ds.add(constraints[k]);
      }
      ds.add(!cond);
      auto t0 = std::chrono::steady_clock::now();
      auto res = watched_check(ds, options.timeout_ms);
      if (std::getenv("TWIN_Z3_DEBUG"))
        std::fprintf(stderr, "[z3] rhs domain slice: %d %.2fs %s\n", static_cast<int>(res), seconds_since(t0),
                     cond.to_string().substr(0, 120).c_str());
      if (res != z3::unsat) pending.push_back(cond);
    }
  }
  if (!pending.empty()) {
    z3::expr all_defined = ctx.bool_val(true);
    for (const auto& c : pending) all_defined = all_defined && c;
    s.push();
    s.add(!all_defined);
    if (std::getenv("TWIN_Z3_DEBUG")) std::fprintf(stderr, "[z3] rhs domain full check (%zu)\n", pending.size());
    z3::check_result r = watched_check(s, options.timeout_ms);
    if (r == z3::sat) {
      z3::model m = s.get_model();
      Z3Counterexample c = make_cex(m, "the rhs is undefined here (a divisor is 0, or an argument of log/sqrt/rsqrt "
                                       "is out of its domain) while the lhs is defined");
      if (!suspect) {
        std::vector<z3::expr> lv;
        for (const auto& e : lhs_el) lv.push_back(m.eval(e, true));
        c.lhs = concrete(out_shape, lv);
        c.rhs = concrete(out_shape, {});
        c.rhs.text.assign(lhs_el.size(), "undefined");
        out.result = "sat";
        out.cex = c;
        out.reason = c.note;
        return out;
      }
      out.result = "unknown";
      out.reason = "the rhs may be undefined where the lhs is defined (model relies on uninterpreted functions)";
      return out;
    }
    if (r == z3::unknown) {
      out.result = "unknown";
      out.reason = "Z3 could not decide whether the rhs is defined wherever the lhs is: " + s.reason_unknown();
      return out;
    }
    s.pop();
  }
  // Vacuity: does any input satisfy the guard at all?
  if (rule.guard) {
    z3::solver vs(ctx);
    z3::params q(ctx);
    q.set("timeout", std::min(options.timeout_ms, 1000u));
    vs.set(q);
    vs.add(guard);
    vs.add(input_domain);
    if (watched_check(vs, options.timeout_ms) == z3::unsat) {
      out.result = "vacuous";
      out.reason = "the guard admits no input on this instance";
    }
  }
  return out;
}

Z3Verdict check_rule_z3_here(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Options& options) {
  auto start = std::chrono::steady_clock::now();
  Z3Verdict verdict;
  auto finish = [&](Z3Status status, std::string reason) {
    verdict.status = status;
    if (verdict.reason.empty()) verdict.reason = std::move(reason);
    verdict.seconds = seconds_since(start);
    return verdict;
  };
  RuleInfo info;
  try {
    info = analyze(rule, ops);
  } catch (const std::exception& e) {
    return finish(Z3Status::NotEncodable, e.what());
  }
  if (!info.not_encodable.empty()) {
    verdict.not_encodable.assign(info.not_encodable.begin(), info.not_encodable.end());
    std::string names;
    for (const auto& n : verdict.not_encodable) names += (names.empty() ? "" : ", ") + n;
    return finish(Z3Status::NotEncodable, "no Z3 encoding for: " + names);
  }
  SearchState st{rule, ops, options, info};
  std::vector<Z3Instance> instances;
  try {
    if (!options.instances_given.empty()) {
      // The caller's search (find_instances), done once for Z3 and random testing: its first
      // `instances` instances, with their variants.
      int bases = 0;
      for (const auto& inst : options.instances_given) {
        if (!inst.variant && ++bases > std::max(1, options.instances)) break;
        instances.push_back(inst);
      }
    } else {
      instances = search_instances(st);
    }
  } catch (const std::exception& e) {
    return finish(Z3Status::Unknown, std::string("instance search failed: ") + e.what());
  }
  if (instances.empty()) {
    if (st.last_error.find("no Z3 encoding") != std::string::npos) {
      verdict.not_encodable.push_back(st.last_error);
      return finish(Z3Status::NotEncodable, st.last_error);
    }
    return finish(Z3Status::Unknown, "no shape instantiation satisfies the guard and the ops' typing" +
                                         (st.last_error.empty() ? std::string() : " (last error: " + st.last_error + ")"));
  }
  std::set<std::string> ufs;
  bool all_proved = true, any_nonvacuous = false;
  std::string unknown_reason;
  for (const auto& inst : instances) {
    auto t0 = std::chrono::steady_clock::now();
    InstanceOutcome o;
    try {
      o = check_instance(rule, ops, info, inst, options, ufs);
    } catch (const NotEncodable& e) {
      verdict.not_encodable.push_back(e.op());
      verdict.seconds = seconds_since(start);
      return finish(Z3Status::NotEncodable, e.what());
    } catch (const z3::exception& e) {
      o.result = "unknown";
      o.reason = std::string("Z3 error: ") + e.msg();
    } catch (const std::exception& e) {
      o.result = "unknown";
      o.reason = e.what();
    }
    verdict.instances.push_back(Z3InstanceResult{inst, o.result, seconds_since(t0)});
    verdict.uninterpreted.assign(ufs.begin(), ufs.end());
    if (o.result == "sat") {
      verdict.counterexample = o.cex;
      verdict.numeric_confirmation = o.numeric;
      return finish(Z3Status::Refuted, o.reason.empty() ? "the two sides differ" : o.reason);
    }
    if (o.result == "unsat") any_nonvacuous = true;
    if (o.result != "unsat" && o.result != "vacuous") {
      all_proved = false;
      if (unknown_reason.empty()) unknown_reason = "on " + inst.to_string() + ": " + o.reason;
    }
  }
  if (!all_proved) return finish(Z3Status::Unknown, unknown_reason);
  return finish(Z3Status::Proved, any_nonvacuous ? "unsat on every instance"
                                                 : "vacuous: the guard admits no input on any instance");
}

// ---- the check in a child process -----------------------------------------------------------
//
// The verdict crosses the process boundary as JSON. Long doubles travel as hexadecimal
// floating-point text ("%La"), which is exact.

using nlohmann::json;

std::string hex_of(long double x) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%La", x);
  return buffer;
}

json instance_json(const Z3Instance& inst) {
  json tensors = json::object(), integers = json::object();
  for (const auto& [name, t] : inst.tensors)
    tensors[name] = {{"dtype", std::string(ops::dtype_name(t.dtype))}, {"shape", t.shape}, {"python_scalar", t.python_scalar}};
  for (const auto& [name, v] : inst.integers) integers[name] = v;
  return {{"tensors", tensors}, {"integers", integers}, {"variant", inst.variant}};
}

Z3Instance instance_from(const json& j) {
  Z3Instance inst;
  for (const auto& [name, t] : j.at("tensors").items()) {
    ops::TensorType type;
    auto dtype = ops::parse_dtype(t.at("dtype").get<std::string>());
    if (!dtype) throw std::runtime_error("bad dtype in an isolated verdict");
    type.dtype = *dtype;
    type.shape = t.at("shape").get<Shape>();
    type.python_scalar = t.at("python_scalar").get<bool>();
    inst.tensors[name] = type;
  }
  for (const auto& [name, v] : j.at("integers").items()) inst.integers[name] = v.get<std::int64_t>();
  inst.variant = j.at("variant").get<bool>();
  return inst;
}

json tensor_json(const ConcreteTensor& t) {
  json exact = json::array(), approx = json::array();
  for (const auto& e : t.exact) exact.push_back(e ? json(rational_to_string(*e)) : json(nullptr));
  for (auto a : t.approx) approx.push_back(hex_of(a));
  return {{"shape", t.shape}, {"exact", exact}, {"approx", approx}, {"text", t.text}};
}

ConcreteTensor tensor_from(const json& j) {
  ConcreteTensor t;
  t.shape = j.at("shape").get<Shape>();
  for (const auto& e : j.at("exact")) {
    if (e.is_null()) {
      t.exact.push_back(std::nullopt);
      continue;
    }
    auto r = parse_rational(e.get<std::string>());
    if (!r) throw std::runtime_error("bad rational in an isolated verdict");
    t.exact.push_back(*r);
  }
  for (const auto& a : j.at("approx")) t.approx.push_back(std::strtold(a.get<std::string>().c_str(), nullptr));
  t.text = j.at("text").get<std::vector<std::string>>();
  return t;
}

std::string verdict_to_text(const Z3Verdict& v) {
  json j;
  j["status"] = static_cast<int>(v.status);
  j["reason"] = v.reason;
  j["not_encodable"] = v.not_encodable;
  j["uninterpreted"] = v.uninterpreted;
  json instances = json::array();
  for (const auto& r : v.instances)
    instances.push_back({{"instance", instance_json(r.instance)}, {"result", r.result}, {"seconds", r.seconds}});
  j["instances"] = instances;
  if (v.counterexample) {
    const Z3Counterexample& c = *v.counterexample;
    json inputs = json::object();
    for (const auto& [name, t] : c.inputs) inputs[name] = tensor_json(t);
    j["counterexample"] = {{"instance", instance_json(c.instance)}, {"inputs", inputs}, {"lhs", tensor_json(c.lhs)},
                           {"rhs", tensor_json(c.rhs)}, {"note", c.note}};
  }
  j["numeric_confirmation"] = v.numeric_confirmation;
  j["seconds"] = v.seconds;
  // Invalid UTF-8 in a reason (Z3's messages are ASCII) must not stop the verdict.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Z3Verdict verdict_from_text(const std::string& text) {
  json j = json::parse(text);
  Z3Verdict v;
  int status = j.at("status").get<int>();
  if (status < 0 || status > static_cast<int>(Z3Status::NotEncodable)) throw std::runtime_error("bad status in an isolated verdict");
  v.status = static_cast<Z3Status>(status);
  v.reason = j.at("reason").get<std::string>();
  v.not_encodable = j.at("not_encodable").get<std::vector<std::string>>();
  v.uninterpreted = j.at("uninterpreted").get<std::vector<std::string>>();
  for (const auto& r : j.at("instances"))
    v.instances.push_back(Z3InstanceResult{instance_from(r.at("instance")), r.at("result").get<std::string>(),
                                           r.at("seconds").get<double>()});
  if (j.contains("counterexample")) {
    const json& c = j.at("counterexample");
    Z3Counterexample cex;
    cex.instance = instance_from(c.at("instance"));
    for (const auto& [name, t] : c.at("inputs").items()) cex.inputs[name] = tensor_from(t);
    cex.lhs = tensor_from(c.at("lhs"));
    cex.rhs = tensor_from(c.at("rhs"));
    cex.note = c.at("note").get<std::string>();
    v.counterexample = std::move(cex);
  }
  v.numeric_confirmation = j.at("numeric_confirmation").get<bool>();
  v.seconds = j.at("seconds").get<double>();
  return v;
}

}  // namespace

Z3Verdict check_rule_z3(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Options& options) {
  if (!(options.wall_seconds > 0)) return check_rule_z3_here(rule, ops, options);
  IsolatedResult r = run_isolated([&] { return verdict_to_text(check_rule_z3_here(rule, ops, options)); },
                                  options.wall_seconds);
  if (r.status == IsolatedResult::Status::Unavailable) return check_rule_z3_here(rule, ops, options);
  Z3Verdict verdict;
  if (r.status == IsolatedResult::Status::Done) {
    try {
      return verdict_from_text(r.output);
    } catch (const std::exception& e) {
      r.why = std::string("unreadable verdict from the child process: ") + e.what();
    }
  }
  // No verdict: Unknown, never Proved.
  verdict.status = Z3Status::Unknown;
  verdict.seconds = r.seconds;
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g", options.wall_seconds);
  verdict.reason = r.status == IsolatedResult::Status::TimedOut
                       ? std::string("Z3 gave no answer within the limit of ") + limit +
                             " s per rule (stopped; its nonlinear arithmetic does not always honour its timeout)"
                       : "the Z3 check failed: " + r.why;
  return verdict;
}

}  // namespace twin::verify
