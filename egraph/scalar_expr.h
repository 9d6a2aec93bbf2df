// Scalar expressions: the one small IR for rule guards and extraction costs.
//
// The language lowers `if ?a != 0 and is_const(?c)` and cost blocks into ScalarExpr trees.
// Evaluation is three-valued (Kleene): a value may be Unknown (a class without a known
// constant under `<`, a division by zero, an unknown query answer); And/Or/Not follow
// Kleene's tables, and a guard holds only when it evaluates to Bool true.
//
// What a pattern variable means, as the language promises:
//   - `?a == ?b` / `?a != ?b`: the two classes are / are not the same e-class (now);
//   - a constant operand counts as a class: `?a == 3` holds when ?a's class is known to
//     contain 3, and `?a != 0` holds when it is not known to contain 0 (so `y + 1` passes
//     and `2 - 2`, which folds to 0, fails). Strings likewise;
//   - `< <= > >=` and arithmetic use the class's constant value (Unknown when none).
// Queries (`is_const(?x)`, later `dim(?x, -1)`) are C++ functions looked up by name in a
// QueryRegistry; registering one is a single call to add().
#pragma once

#include "egraph/enode.h"

#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace twin::egraph {

class EGraph;

struct ScalarValue {
  enum class Kind : std::uint8_t { Unknown, Bool, Number, String, Class };
  Kind kind = Kind::Unknown;
  bool boolean = false;
  Rational number = 0;
  std::string text;
  EClassId cls = kNoClass;

  static ScalarValue unknown() { return {}; }
  static ScalarValue of_bool(bool b) {
    ScalarValue v;
    v.kind = Kind::Bool;
    v.boolean = b;
    return v;
  }
  static ScalarValue of_number(Rational r) {
    ScalarValue v;
    v.kind = Kind::Number;
    v.number = std::move(r);
    return v;
  }
  static ScalarValue of_string(std::string s) {
    ScalarValue v;
    v.kind = Kind::String;
    v.text = std::move(s);
    return v;
  }
  static ScalarValue of_class(EClassId c) {
    ScalarValue v;
    v.kind = Kind::Class;
    v.cls = c;
    return v;
  }
  bool is_true() const { return kind == Kind::Bool && boolean; }
};

struct ScalarExpr {
  enum class Kind : std::uint8_t { Constant, String, Bool, PatternVar, Arith, Neg, Compare, And, Or, Not, Query };
  enum class ArithOp : std::uint8_t { Add, Sub, Mul, Div, Mod, Pow };
  enum class CompareOp : std::uint8_t { Eq, Ne, Lt, Le, Gt, Ge };

  Kind kind = Kind::Bool;
  Rational number = 0;   // Constant
  std::string text;      // String value, PatternVar name (no '?'), Query name
  bool boolean = false;  // Bool
  ArithOp arith = ArithOp::Add;
  CompareOp compare = CompareOp::Eq;
  std::vector<ScalarExpr> args;  // operands / query arguments
  // Filled by resolve(): the variable's slot in the match, or the query's registry index.
  std::uint32_t slot = 0xffffffffu;

  static ScalarExpr constant(Rational r);
  static ScalarExpr string(std::string s);
  static ScalarExpr boolean_value(bool b);
  static ScalarExpr var(std::string name);
  static ScalarExpr arith_op(ArithOp op, ScalarExpr a, ScalarExpr b);
  static ScalarExpr neg(ScalarExpr a);
  static ScalarExpr compare_op(CompareOp op, ScalarExpr a, ScalarExpr b);
  static ScalarExpr and_(ScalarExpr a, ScalarExpr b);
  static ScalarExpr or_(ScalarExpr a, ScalarExpr b);
  static ScalarExpr not_(ScalarExpr a);
  static ScalarExpr query(std::string name, std::vector<ScalarExpr> args);

  // `?a != 0 and is_const(?c)`
  std::string to_string() const;
  // Pattern variables mentioned, in order of first occurrence.
  std::vector<std::string> variables() const;
};

using QueryFn = std::function<ScalarValue(const EGraph&, std::span<const ScalarValue>)>;

class QueryRegistry {
 public:
  // A registry holding the built-ins: is_const(?x), is_sym(?x).
  QueryRegistry();
  // Registers (or replaces) a query; arity -1 accepts any number of arguments.
  void add(std::string name, QueryFn fn, int arity = -1);
  // Index of a query, or -1.
  int index_of(std::string_view name) const;
  int arity(int index) const { return entries_[index].arity; }
  const QueryFn& function(int index) const { return entries_[index].fn; }
  const std::string& name(int index) const { return entries_[index].name; }

  static const QueryRegistry& builtins();

 private:
  struct Entry {
    std::string name;
    QueryFn fn;
    int arity;
  };
  std::vector<Entry> entries_;
  std::map<std::string, int, std::less<>> index_;
};

// Binds variable names to slots and query names to registry indices. Throws
// std::invalid_argument naming the first unknown variable or query, or a query called with
// the wrong number of arguments.
ScalarExpr resolve(const ScalarExpr& expr, std::span<const std::string> variables, const QueryRegistry& queries);

// Evaluates a resolved expression; `subst[slot]` is the class bound to each variable.
ScalarValue evaluate(const ScalarExpr& expr, const EGraph& graph, std::span<const EClassId> subst,
                     const QueryRegistry& queries);
// Whether a resolved guard holds (evaluates to Bool true).
bool guard_holds(const ScalarExpr& guard, const EGraph& graph, std::span<const EClassId> subst,
                 const QueryRegistry& queries);

}  // namespace twin::egraph
