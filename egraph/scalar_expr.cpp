#include "egraph/scalar_expr.h"

#include "egraph/egraph.h"

#include <algorithm>
#include <stdexcept>

namespace twin::egraph {

using Kind = ScalarExpr::Kind;
using VKind = ScalarValue::Kind;

ScalarExpr ScalarExpr::constant(Rational r) {
  ScalarExpr e;
  e.kind = Kind::Constant;
  e.number = std::move(r);
  return e;
}
ScalarExpr ScalarExpr::string(std::string s) {
  ScalarExpr e;
  e.kind = Kind::String;
  e.text = std::move(s);
  return e;
}
ScalarExpr ScalarExpr::boolean_value(bool b) {
  ScalarExpr e;
  e.kind = Kind::Bool;
  e.boolean = b;
  return e;
}
ScalarExpr ScalarExpr::var(std::string name) {
  ScalarExpr e;
  e.kind = Kind::PatternVar;
  e.text = std::move(name);
  return e;
}
ScalarExpr ScalarExpr::arith_op(ArithOp op, ScalarExpr a, ScalarExpr b) {
  ScalarExpr e;
  e.kind = Kind::Arith;
  e.arith = op;
  e.args = {std::move(a), std::move(b)};
  return e;
}
ScalarExpr ScalarExpr::neg(ScalarExpr a) {
  ScalarExpr e;
  e.kind = Kind::Neg;
  e.args = {std::move(a)};
  return e;
}
ScalarExpr ScalarExpr::compare_op(CompareOp op, ScalarExpr a, ScalarExpr b) {
  ScalarExpr e;
  e.kind = Kind::Compare;
  e.compare = op;
  e.args = {std::move(a), std::move(b)};
  return e;
}
ScalarExpr ScalarExpr::and_(ScalarExpr a, ScalarExpr b) {
  ScalarExpr e;
  e.kind = Kind::And;
  e.args = {std::move(a), std::move(b)};
  return e;
}
ScalarExpr ScalarExpr::or_(ScalarExpr a, ScalarExpr b) {
  ScalarExpr e;
  e.kind = Kind::Or;
  e.args = {std::move(a), std::move(b)};
  return e;
}
ScalarExpr ScalarExpr::not_(ScalarExpr a) {
  ScalarExpr e;
  e.kind = Kind::Not;
  e.args = {std::move(a)};
  return e;
}
ScalarExpr ScalarExpr::query(std::string name, std::vector<ScalarExpr> args) {
  ScalarExpr e;
  e.kind = Kind::Query;
  e.text = std::move(name);
  e.args = std::move(args);
  return e;
}

std::string ScalarExpr::to_string() const {
  static const char* arith_text[] = {"+", "-", "*", "/", "%", "**"};
  static const char* compare_text[] = {"==", "!=", "<", "<=", ">", ">="};
  switch (kind) {
    case Kind::Constant:
      return rational_to_string(number);
    case Kind::String:
      return "\"" + text + "\"";
    case Kind::Bool:
      return boolean ? "true" : "false";
    case Kind::PatternVar:
      return "?" + text;
    case Kind::Arith:
      return "(" + args[0].to_string() + " " + arith_text[static_cast<int>(arith)] + " " + args[1].to_string() + ")";
    case Kind::Neg:
      return "-" + args[0].to_string();
    case Kind::Compare:
      return args[0].to_string() + " " + compare_text[static_cast<int>(compare)] + " " + args[1].to_string();
    case Kind::And:
      return "(" + args[0].to_string() + " and " + args[1].to_string() + ")";
    case Kind::Or:
      return "(" + args[0].to_string() + " or " + args[1].to_string() + ")";
    case Kind::Not:
      return "not " + args[0].to_string();
    case Kind::Query: {
      std::string out = text + "(";
      for (std::size_t i = 0; i < args.size(); ++i) out += (i ? ", " : "") + args[i].to_string();
      return out + ")";
    }
  }
  return "?";
}

namespace {
void collect_vars(const ScalarExpr& e, std::vector<std::string>& out) {
  if (e.kind == Kind::PatternVar && std::find(out.begin(), out.end(), e.text) == out.end()) out.push_back(e.text);
  for (const ScalarExpr& a : e.args) collect_vars(a, out);
}
}  // namespace

std::vector<std::string> ScalarExpr::variables() const {
  std::vector<std::string> out;
  collect_vars(*this, out);
  return out;
}

// ---- queries ---------------------------------------------------------------------------

QueryRegistry::QueryRegistry() {
  add(
      "is_const",
      [](const EGraph& g, std::span<const ScalarValue> args) {
        const ScalarValue& a = args[0];
        if (a.kind == VKind::Number) return ScalarValue::of_bool(true);
        if (a.kind != VKind::Class) return ScalarValue::of_bool(false);
        return ScalarValue::of_bool(g.constant_op(a.cls).has_value());
      },
      1);
  add(
      "is_sym",
      [](const EGraph& g, std::span<const ScalarValue> args) {
        const ScalarValue& a = args[0];
        if (a.kind != VKind::Class) return ScalarValue::of_bool(false);
        return ScalarValue::of_bool(g.has_symbol(a.cls));
      },
      1);
}

void QueryRegistry::add(std::string name, QueryFn fn, int arity) {
  if (auto it = index_.find(name); it != index_.end()) {
    entries_[it->second] = Entry{std::move(name), std::move(fn), arity};
    return;
  }
  index_.emplace(name, static_cast<int>(entries_.size()));
  entries_.push_back(Entry{std::move(name), std::move(fn), arity});
}

int QueryRegistry::index_of(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

const QueryRegistry& QueryRegistry::builtins() {
  static const QueryRegistry registry;
  return registry;
}

ScalarExpr resolve(const ScalarExpr& expr, std::span<const std::string> variables, const QueryRegistry& queries) {
  ScalarExpr out = expr;
  out.args.clear();
  for (const ScalarExpr& a : expr.args) out.args.push_back(resolve(a, variables, queries));
  if (expr.kind == Kind::PatternVar) {
    auto it = std::find(variables.begin(), variables.end(), expr.text);
    if (it == variables.end()) throw std::invalid_argument("unknown pattern variable ?" + expr.text);
    out.slot = static_cast<std::uint32_t>(it - variables.begin());
  } else if (expr.kind == Kind::Query) {
    int index = queries.index_of(expr.text);
    if (index < 0) throw std::invalid_argument("unknown query " + expr.text);
    int arity = queries.arity(index);
    if (arity >= 0 && static_cast<std::size_t>(arity) != expr.args.size())
      throw std::invalid_argument("query " + expr.text + " takes " + std::to_string(arity) + " argument(s)");
    out.slot = static_cast<std::uint32_t>(index);
  }
  return out;
}

// ---- evaluation ------------------------------------------------------------------------

namespace {

// The class's constant as a number, a number as itself, anything else Unknown.
ScalarValue as_number(const ScalarValue& v, const EGraph& g) {
  if (v.kind == VKind::Number) return v;
  if (v.kind == VKind::Class) {
    if (auto c = g.constant_of(v.cls)) return ScalarValue::of_number(*c);
  }
  return ScalarValue::unknown();
}

// Equality of two values; two-valued whenever a class is involved (see the file comment).
ScalarValue equal(const ScalarValue& a, const ScalarValue& b, const EGraph& g) {
  if (a.kind == VKind::Unknown || b.kind == VKind::Unknown) return ScalarValue::unknown();
  if (a.kind == VKind::Class && b.kind == VKind::Class) return ScalarValue::of_bool(g.find(a.cls) == g.find(b.cls));
  if (a.kind == VKind::Class || b.kind == VKind::Class) {
    const ScalarValue& cls = a.kind == VKind::Class ? a : b;
    const ScalarValue& other = a.kind == VKind::Class ? b : a;
    if (other.kind == VKind::Number) {
      auto c = g.constant_op(cls.cls);
      return ScalarValue::of_bool(c && g.ops().info(*c).constant == other.number);
    }
    if (other.kind == VKind::String) {
      auto op = g.ops().find_string(other.text);
      return ScalarValue::of_bool(op && g.has_op(cls.cls, *op));
    }
    return ScalarValue::of_bool(false);
  }
  if (a.kind != b.kind) return ScalarValue::of_bool(false);
  switch (a.kind) {
    case VKind::Bool:
      return ScalarValue::of_bool(a.boolean == b.boolean);
    case VKind::Number:
      return ScalarValue::of_bool(a.number == b.number);
    case VKind::String:
      return ScalarValue::of_bool(a.text == b.text);
    default:
      return ScalarValue::unknown();
  }
}

ScalarValue arith(ScalarExpr::ArithOp op, const ScalarValue& x, const ScalarValue& y) {
  if (x.kind != VKind::Number || y.kind != VKind::Number) return ScalarValue::unknown();
  const Rational& a = x.number;
  const Rational& b = y.number;
  using A = ScalarExpr::ArithOp;
  switch (op) {
    case A::Add:
      return ScalarValue::of_number(a + b);
    case A::Sub:
      return ScalarValue::of_number(a - b);
    case A::Mul:
      return ScalarValue::of_number(a * b);
    case A::Div:
      if (b == 0) return ScalarValue::unknown();
      return ScalarValue::of_number(a / b);
    case A::Mod: {
      if (b == 0 || !is_integer(a) || !is_integer(b)) return ScalarValue::unknown();
      BigInt r = boost::multiprecision::numerator(a) % boost::multiprecision::numerator(b);
      return ScalarValue::of_number(Rational(r));
    }
    case A::Pow: {
      if (!is_integer(b)) return ScalarValue::unknown();
      BigInt e = boost::multiprecision::numerator(b);
      if (e > 4096 || e < -4096) return ScalarValue::unknown();
      long n = e.convert_to<long>();
      if (a == 0 && n < 0) return ScalarValue::unknown();
      Rational result = 1;
      Rational base = n < 0 ? Rational(1 / a) : a;
      for (long k = n < 0 ? -n : n; k > 0; --k) result *= base;
      return ScalarValue::of_number(result);
    }
  }
  return ScalarValue::unknown();
}

}  // namespace

ScalarValue evaluate(const ScalarExpr& e, const EGraph& g, std::span<const EClassId> subst,
                     const QueryRegistry& queries) {
  switch (e.kind) {
    case Kind::Constant:
      return ScalarValue::of_number(e.number);
    case Kind::String:
      return ScalarValue::of_string(e.text);
    case Kind::Bool:
      return ScalarValue::of_bool(e.boolean);
    case Kind::PatternVar:
      if (e.slot >= subst.size()) throw std::logic_error("unresolved pattern variable ?" + e.text);
      return ScalarValue::of_class(g.find(subst[e.slot]));
    case Kind::Arith:
      return arith(e.arith, as_number(evaluate(e.args[0], g, subst, queries), g),
                   as_number(evaluate(e.args[1], g, subst, queries), g));
    case Kind::Neg: {
      ScalarValue v = as_number(evaluate(e.args[0], g, subst, queries), g);
      if (v.kind != VKind::Number) return ScalarValue::unknown();
      return ScalarValue::of_number(-v.number);
    }
    case Kind::Compare: {
      ScalarValue a = evaluate(e.args[0], g, subst, queries);
      ScalarValue b = evaluate(e.args[1], g, subst, queries);
      using C = ScalarExpr::CompareOp;
      if (e.compare == C::Eq || e.compare == C::Ne) {
        ScalarValue eq = equal(a, b, g);
        if (eq.kind != VKind::Bool) return eq;
        return ScalarValue::of_bool(e.compare == C::Eq ? eq.boolean : !eq.boolean);
      }
      ScalarValue x = as_number(a, g), y = as_number(b, g);
      if (x.kind != VKind::Number || y.kind != VKind::Number) return ScalarValue::unknown();
      switch (e.compare) {
        case C::Lt:
          return ScalarValue::of_bool(x.number < y.number);
        case C::Le:
          return ScalarValue::of_bool(x.number <= y.number);
        case C::Gt:
          return ScalarValue::of_bool(x.number > y.number);
        default:
          return ScalarValue::of_bool(x.number >= y.number);
      }
    }
    case Kind::And: {
      // Kleene: false dominates, then unknown.
      ScalarValue a = evaluate(e.args[0], g, subst, queries);
      if (a.kind == VKind::Bool && !a.boolean) return a;
      ScalarValue b = evaluate(e.args[1], g, subst, queries);
      if (b.kind == VKind::Bool && !b.boolean) return b;
      if (a.is_true() && b.is_true()) return ScalarValue::of_bool(true);
      return ScalarValue::unknown();
    }
    case Kind::Or: {
      ScalarValue a = evaluate(e.args[0], g, subst, queries);
      if (a.is_true()) return a;
      ScalarValue b = evaluate(e.args[1], g, subst, queries);
      if (b.is_true()) return b;
      if (a.kind == VKind::Bool && b.kind == VKind::Bool) return ScalarValue::of_bool(false);
      return ScalarValue::unknown();
    }
    case Kind::Not: {
      ScalarValue a = evaluate(e.args[0], g, subst, queries);
      if (a.kind != VKind::Bool) return ScalarValue::unknown();
      return ScalarValue::of_bool(!a.boolean);
    }
    case Kind::Query: {
      int index = static_cast<int>(e.slot);
      if (e.slot == 0xffffffffu) index = queries.index_of(e.text);
      if (index < 0) return ScalarValue::unknown();
      std::vector<ScalarValue> args;
      args.reserve(e.args.size());
      for (const ScalarExpr& a : e.args) args.push_back(evaluate(a, g, subst, queries));
      return queries.function(index)(g, args);
    }
  }
  return ScalarValue::unknown();
}

bool guard_holds(const ScalarExpr& guard, const EGraph& graph, std::span<const EClassId> subst,
                 const QueryRegistry& queries) {
  return evaluate(guard, graph, subst, queries).is_true();
}

}  // namespace twin::egraph
