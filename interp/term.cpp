#include "interp/term.h"

#include "util/error.h"
#include "interp/printer.h"

#include <set>

namespace twin {

namespace {

std::shared_ptr<Expr> expr_node(ExprKind kind) {
  auto e = std::make_shared<Expr>();
  e->kind = kind;
  return e;
}

}  // namespace

ExprPtr term_to_expr(const Term& term) {
  switch (term.kind) {
    case TermKind::Symbol: {
      auto e = expr_node(ExprKind::Name);
      e->text = term.name;
      if (term.name == "true" || term.name == "false") {
        e->kind = ExprKind::Bool;
        e->boolean = term.name == "true";
      }
      return e;
    }
    case TermKind::Wildcard: {
      auto e = expr_node(ExprKind::Name);
      e->text = "_";
      return e;
    }
    case TermKind::Constant: {
      auto e = expr_node(ExprKind::Number);
      e->number = term.constant;
      e->text = rational_to_string(term.constant);
      return e;
    }
    case TermKind::String: {
      auto e = expr_node(ExprKind::String);
      e->text = term.name;
      return e;
    }
    case TermKind::Var: {
      auto e = expr_node(ExprKind::PatternVar);
      e->text = term.name;
      return e;
    }
    case TermKind::EClass: {
      // `$e3` would need a script variable; print the id in a form a reader recognises.
      auto e = expr_node(ExprKind::Name);
      e->text = "e" + std::to_string(term.eclass);
      auto splice = expr_node(ExprKind::Splice);
      splice->operands.push_back(e);
      return splice;
    }
    case TermKind::Placeholder: {
      auto e = expr_node(ExprKind::Placeholder);
      e->text = term.name;
      return e;
    }
    case TermKind::List: {
      auto e = expr_node(ExprKind::List);
      for (const auto& item : term.operands) e->operands.push_back(term_to_expr(*item));
      return e;
    }
    case TermKind::Apply: {
      if (term.attributes.empty()) {
        if (const char* infix = infix_spelling(term.name); infix && term.operands.size() == 2) {
          auto e = expr_node(ExprKind::Binary);
          e->text = infix;
          e->operands = {term_to_expr(*term.operands[0]), term_to_expr(*term.operands[1])};
          return e;
        }
        if (term.name == "neg" && term.operands.size() == 1) {
          auto e = expr_node(ExprKind::Unary);
          e->text = "-";
          e->operands = {term_to_expr(*term.operands[0])};
          return e;
        }
      }
      auto e = expr_node(ExprKind::Call);
      auto callee = expr_node(ExprKind::Name);
      callee->text = term.name;
      e->operands.push_back(callee);
      for (const auto& operand : term.operands) {
        e->operands.push_back(term_to_expr(*operand));
        e->arg_names.push_back("");
      }
      for (const auto& [name, value] : term.attributes) {
        e->operands.push_back(term_to_expr(*value));
        e->arg_names.push_back(name);
      }
      return e;
    }
  }
  return expr_node(ExprKind::Nil);
}

TermPtr lower_term(const Expr& e, const SpliceEvaluator& splice, bool allow_vars, TermSyntax syntax) {
  auto not_a_term = [&](const std::string& what) -> TermPtr {
    throw Error(ErrorKind::Syntax, what + " cannot appear in a term; expected an operator application, a name, a number, a string or a list",
                e.location);
  };
  auto lower = [&](const Expr& x) { return lower_term(x, splice, allow_vars, syntax); };
  auto node = [&](TermKind kind) {
    auto t = std::make_shared<Term>();
    t->kind = kind;
    t->location = e.location;
    return t;
  };
  switch (e.kind) {
    case ExprKind::Number: return make_constant(e.number, e.location);
    case ExprKind::String: return make_string(e.text, e.location);
    case ExprKind::Bool: return make_symbol(e.boolean ? "true" : "false", e.location);
    case ExprKind::Name: {
      if (e.text == "_") return node(TermKind::Wildcard);
      return make_symbol(e.text, e.location);
    }
    case ExprKind::PatternVar: {
      if (!allow_vars) return not_a_term("a pattern variable");
      auto t = node(TermKind::Var);
      t->name = e.text;
      return t;
    }
    case ExprKind::Splice: {
      if (!splice) throw Error(ErrorKind::Syntax, "a splice `$...` can only appear in a `term` inside a script", e.location);
      return splice(*e.operands[0]);
    }
    case ExprKind::List: {
      auto t = node(TermKind::List);
      for (const auto& item : e.operands) t->operands.push_back(lower(*item));
      return t;
    }
    case ExprKind::Call: {
      const Expr& callee = *e.operands[0];
      if (callee.kind != ExprKind::Name)
        throw Error(ErrorKind::Syntax, "in a term, only an operator name can be applied; expected name(...)", callee.location);
      auto t = node(TermKind::Apply);
      t->name = callee.text;
      std::set<std::string> seen;
      for (std::size_t i = 1; i < e.operands.size(); ++i) {
        const std::string& name = e.arg_names[i - 1];
        auto operand = lower(*e.operands[i]);
        if (name.empty()) {
          if (!t->attributes.empty())
            throw Error(ErrorKind::Syntax, "a positional operand after an attribute; expected operands first, then name=value attributes",
                        e.operands[i]->location);
          t->operands.push_back(std::move(operand));
        } else {
          if (!seen.insert(name).second)
            throw Error(ErrorKind::Syntax, "attribute '" + name + "' given twice", e.operands[i]->location);
          t->attributes.emplace_back(name, std::move(operand));
        }
      }
      return t;
    }
    case ExprKind::Unary: {
      auto operand = lower(*e.operands[0]);
      // `-2` is a constant (and `-1/3`, which parses as (-1)/3: see Binary below).
      if (operand->kind == TermKind::Constant && e.operands[0]->kind == ExprKind::Number)
        return make_constant(-operand->constant, e.location);
      return make_apply("neg", {operand}, {}, e.location);
    }
    case ExprKind::Binary: {
      std::string op = infix_operator_name(e.text);
      if (op.empty() && syntax == TermSyntax::Relation && e.text == "%") op = "%";  // folded on instantiation
      if (op.empty()) return not_a_term("the operator '" + e.text + "'");
      // An integer literal over an integer literal is an exact rational constant: 1/3, and
      // -1/3 (a negated literal over a literal).
      const Expr& l = *e.operands[0];
      const Expr& r = *e.operands[1];
      auto integer_literal = [](const Expr& x) {
        return x.kind == ExprKind::Number && !x.parenthesized && is_integer(x.number) && x.number >= 0;
      };
      bool negated = l.kind == ExprKind::Unary && !l.parenthesized && integer_literal(*l.operands[0]);
      if (op == "div" && (integer_literal(l) || negated) && integer_literal(r) && r.number > 0)
        return make_constant(negated ? Rational(-l.operands[0]->number / r.number) : Rational(l.number / r.number),
                             e.location);
      return make_apply(op, {lower(l), lower(r)}, {}, e.location);
    }
    case ExprKind::Nil: return not_a_term("nil");
    case ExprKind::Map: return not_a_term("a map");
    case ExprKind::Index: return not_a_term("indexing");
    case ExprKind::Member: return not_a_term("a member access");
    case ExprKind::Compare: return not_a_term("a comparison");
    case ExprKind::And:
    case ExprKind::Or:
    case ExprKind::Not: return not_a_term("a logical operator");
    case ExprKind::Quote: return lower(*e.operands[0]);
    case ExprKind::Lambda: return not_a_term("a function");
    case ExprKind::Path:
      if (syntax != TermSyntax::Relation) reject_relation_syntax(e);
      return make_symbol(e.text, e.location);
    case ExprKind::Placeholder: {
      if (syntax != TermSyntax::Relation) reject_relation_syntax(e);
      auto t = node(TermKind::Placeholder);
      t->name = e.text;
      return t;
    }
    case ExprKind::TypedSymbol: {
      // A typed symbol is a symbol whose name carries its type, in canonical spelling:
      // `x: bf16[2, 8, 64]`. Printing the symbol gives back the source form.
      std::string name = e.text + ": " + e.type_name + "[";
      for (std::size_t i = 0; i < e.operands.size(); ++i) {
        TermPtr dim = lower_term(*e.operands[i], splice, false);
        if (dim->kind != TermKind::Constant || !is_integer(dim->constant) || dim->constant < 0)
          throw Error(ErrorKind::Syntax, "a dimension of a typed symbol must be a non-negative integer", e.operands[i]->location);
        name += (i ? ", " : "") + rational_to_string(dim->constant);
      }
      return make_symbol(name + "]", e.location);
    }
  }
  return not_a_term("this expression");
}

void reject_relation_syntax(const Expr& e) {
  if (e.kind == ExprKind::Path)
    throw Error(ErrorKind::Syntax, "the parameter pattern " + e.text + " is only meaningful in a `relation` declaration",
                e.location);
  throw Error(ErrorKind::Syntax, "the placeholder {" + e.text + "} is only meaningful in a `relation` declaration",
              e.location);
}

namespace {
const char* term_kind_name(TermKind kind) {
  switch (kind) {
    case TermKind::Apply: return "apply";
    case TermKind::List: return "list";
    case TermKind::Symbol: return "symbol";
    case TermKind::Constant: return "constant";
    case TermKind::String: return "string";
    case TermKind::Var: return "var";
    case TermKind::Wildcard: return "wildcard";
    case TermKind::EClass: return "eclass";
    case TermKind::Placeholder: return "placeholder";
  }
  return "?";
}
}  // namespace

std::optional<Value> TermValue::member(const std::string& name) {
  if (name == "kind") return Value(term_kind_name(term_->kind));
  if (name == "op") {
    if (term_->kind == TermKind::Apply || term_->kind == TermKind::Symbol || term_->kind == TermKind::Var)
      return Value(term_->name);
    if (term_->kind == TermKind::Constant) return Value(term_->constant);
    return Value();
  }
  if (name == "operands") {
    auto list = make_list();
    for (const auto& o : term_->operands) list->items.emplace_back(std::make_shared<TermValue>(o));
    return Value(list);
  }
  if (name == "attributes") {
    auto map = make_map();
    for (const auto& [n, a] : term_->attributes) map->set(Value(n), Value(std::make_shared<TermValue>(a)));
    return Value(map);
  }
  return std::nullopt;
}

bool TermValue::equals(const Object& other) const {
  auto* t = dynamic_cast<const TermValue*>(&other);
  return t && *t->term_ == *term_;
}

std::string RuleValue::to_string() const { return print_rule(*decl_); }

std::optional<Value> RuleValue::member(const std::string& name) {
  if (name == "name") return Value(decl_->name);
  if (name == "lhs") return Value(std::make_shared<TermValue>(source_->lhs));
  if (name == "rhs") return Value(std::make_shared<TermValue>(source_->rhs));
  if (name == "guard") return decl_->guard ? Value(print_expr(*decl_->guard)) : Value();
  if (name == "bidirectional") return Value(decl_->bidirectional);
  if (name == "ruleset") return Value(source_->ruleset);
  if (name == "location") return Value(decl_->location.to_string());
  if (name == "annotations") {
    auto list = make_list();
    for (const auto& a : decl_->annotations) list->items.emplace_back(print_annotation(a));
    return Value(list);
  }
  return std::nullopt;
}

std::string RulesetValue::to_string() const {
  if (decl_) return print_statement(*decl_);
  return "<ruleset " + name_ + ">";
}

std::optional<Value> RulesetValue::member(const std::string& name) {
  if (name == "name") return Value(name_);
  if (name == "rules") {
    auto list = make_list();
    for (const auto& r : rules_) list->items.emplace_back(r);
    return Value(list);
  }
  return std::nullopt;
}

std::string CostValue::to_string() const {
  if (decl_) return print_statement(*decl_);
  return "<cost " + source_->name + ">";
}

std::optional<Value> CostValue::member(const std::string& name) {
  if (name == "name") return Value(source_->name);
  return std::nullopt;
}

std::string OpValue::to_string() const { return print_op(*decl_); }

std::optional<Value> OpValue::member(const std::string& name) {
  if (name == "name") return Value(decl_->name);
  if (name == "operands") {
    auto list = make_list();
    for (const auto& o : decl_->operands) list->items.emplace_back(o);
    return Value(list);
  }
  if (name == "attributes") {
    auto list = make_list();
    for (const auto& a : decl_->attributes) list->items.emplace_back(a.name);
    return Value(list);
  }
  if (name == "body") return decl_->body ? Value(print_expr(*decl_->body)) : Value();
  return std::nullopt;
}

}  // namespace twin
