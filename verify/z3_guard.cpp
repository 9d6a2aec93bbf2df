#include "verify/z3_guard.h"

#include "ops/dtype.h"
#include "ops/tensor_type.h"

#include <algorithm>

namespace twin::verify {

std::optional<std::vector<std::int64_t>> parse_shape_text(const std::string& text) {
  auto type = ops::parse_tensor_type("f32" + text);
  if (!type) return std::nullopt;
  std::string canonical = type->to_string();
  if (canonical.substr(canonical.find('[')) != text) return std::nullopt;
  return std::vector<std::int64_t>(type->shape.begin(), type->shape.end());
}

GVal GuardTranslator::num(z3::expr e) {
  GVal v;
  v.kind = GVal::Kind::Num;
  v.elems.push_back(std::move(e));
  return v;
}

GVal GuardTranslator::boolean(z3::expr e) {
  GVal v;
  v.kind = GVal::Kind::Bool;
  v.elems.push_back(std::move(e));
  return v;
}

z3::expr GuardTranslator::free_bool() {
  approximated = true;
  return ctx.bool_const(("guard_atom!" + std::to_string(fresh++)).c_str());
}

std::optional<std::int64_t> GuardTranslator::constant_int(const GVal& v) {
  if (v.kind != GVal::Kind::Num || v.elems.size() != 1) return std::nullopt;
  z3::expr e = v.elems[0].simplify();
  if (!e.is_numeral()) return std::nullopt;
  auto r = parse_rational(Z3_get_numeral_string(ctx, e));
  if (!r || !is_integer(*r)) return std::nullopt;
  return boost::multiprecision::numerator(*r).convert_to<std::int64_t>();
}

z3::expr GuardTranslator::real(const Rational& r) {
  std::string text = boost::multiprecision::numerator(r).str();
  if (boost::multiprecision::denominator(r) != 1) text += "/" + boost::multiprecision::denominator(r).str();
  return ctx.real_val(text.c_str());
}

// Elementwise combination with broadcasting.
template <class F>
std::optional<GVal> GuardTranslator::zip(const GVal& a, const GVal& b, F&& f) {
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

GVal GuardTranslator::tr(const SE& e) {
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
      // Invariant: a comparison this translator cannot read exactly is a free atom (the guard
      // over-approximated), never a constant. A constant `false` would make the guard
      // unsatisfiable on the instance, and the rule "proved" vacuously while the e-graph,
      // which reads the guard exactly, fires it.
      if (a.kind == GVal::Kind::Opaque || b.kind == GVal::Kind::Opaque) return boolean(free_bool());
      if (a.kind == GVal::Kind::Invalid || b.kind == GVal::Kind::Invalid) return boolean(free_bool());
      bool eq = e.compare == SE::CompareOp::Eq, ne = e.compare == SE::CompareOp::Ne;
      // `shape(?x) == "[1, 8, 64]"`: the text is read as the list of sizes it spells.
      if (a.kind == GVal::Kind::Str && b.kind == GVal::Kind::ShapeList) std::swap(a, b);
      if (a.kind == GVal::Kind::ShapeList && b.kind == GVal::Kind::Str) {
        auto sizes = parse_shape_text(b.str);
        if (!sizes || !(eq || ne)) return boolean(free_bool());
        b.kind = GVal::Kind::ShapeList;
        b.elems.clear();
        for (std::int64_t n : *sizes) b.elems.push_back(ctx.real_val(std::to_string(n).c_str()));
      }
      if (a.kind == GVal::Kind::Str || b.kind == GVal::Kind::Str) {
        if (a.kind != b.kind || !(eq || ne)) return boolean(free_bool());
        return boolean(ctx.bool_val((a.str == b.str) == eq));
      }
      if (a.kind == GVal::Kind::ShapeList || b.kind == GVal::Kind::ShapeList) {
        if (a.kind != b.kind || !(eq || ne)) return boolean(free_bool());
        z3::expr same = ctx.bool_val(a.elems.size() == b.elems.size());
        if (a.elems.size() == b.elems.size())
          for (std::size_t i = 0; i < a.elems.size(); ++i) same = same && a.elems[i] == b.elems[i];
        return boolean(eq ? same : !same);
      }
      if (a.kind == GVal::Kind::Bool && b.kind == GVal::Kind::Bool && (eq || ne))
        return boolean(eq ? a.elems[0] == b.elems[0] : a.elems[0] != b.elems[0]);
      if (a.kind != GVal::Kind::Num || b.kind != GVal::Kind::Num) return boolean(free_bool());
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
      if (!r) return boolean(free_bool());
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

z3::expr GuardTranslator::as_bool(const SE& e) {
  GVal v = tr(e);
  if (v.kind == GVal::Kind::Bool) return v.elems[0];
  return free_bool();  // Opaque, or a value that is not a truth value: read as unknown
}

GVal GuardTranslator::query(const SE& e) {
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

}  // namespace twin::verify
