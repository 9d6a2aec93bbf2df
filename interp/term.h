// Terms, patterns, rules, rulesets and cost functions as values a script can hold.
//
// The Term itself (compiler/term.h) knows no syntax; this room converts between the front
// end's syntax tree and Terms (lower_term, term_to_expr) and wraps terms, rules, rulesets,
// cost functions and op declarations as script values. The e-graph never sees a Term: the
// rule compiler (compiler/) turns Terms into the engine's patterns.
#pragma once

#include "compiler/declarations.h"
#include "compiler/term.h"
#include "compiler/term_printer.h"
#include "interp/ast.h"
#include "interp/value.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace twin {

// The syntax tree that prints as this term.
ExprPtr term_to_expr(const Term& term);

// How lower_term treats the forms that only a relation's right side may use.
enum class TermSyntax {
  Plain,     // a quoted term or a rule side: parameter patterns and placeholders are errors
  Relation,  // a relation's template: `layers.{i}.w` is a symbol, `{r}` a Placeholder, `%` the Apply "%"
};

// Converts a quoted expression into a term, each node located where it is written. `splice`
// evaluates a `$x` splice in the script's scope (it may be null: then a splice is an error, as
// in rules). Throws Error on forms that are not terms (comparisons, maps, lambdas ...).
using SpliceEvaluator = std::function<TermPtr(const Expr& spliced)>;
TermPtr lower_term(const Expr& expr, const SpliceEvaluator& splice, bool allow_vars = true,
                   TermSyntax syntax = TermSyntax::Plain);

// The error for a parameter pattern (`layers.{i}.w`) or a placeholder (`{i}`) outside a
// `relation` declaration, where they mean nothing (evaluating or quoting one).
[[noreturn]] void reject_relation_syntax(const Expr& e);

class TermValue : public Object {
 public:
  explicit TermValue(TermPtr term) : term_(std::move(term)) {}
  std::string type_name() const override { return "term"; }
  std::string to_string() const override { return print_term(*term_); }
  std::optional<Value> member(const std::string& name) override;
  std::vector<std::string> member_names() const override { return {"op", "operands", "attributes", "kind"}; }
  bool equals(const Object& other) const override;
  const TermPtr& term() const { return term_; }

 private:
  TermPtr term_;
};

class RuleValue : public Object {
 public:
  RuleValue(std::shared_ptr<const RuleDecl> decl, std::shared_ptr<const compiler::RuleSource> source)
      : decl_(std::move(decl)), source_(std::move(source)) {}
  std::string type_name() const override { return "rule"; }
  std::string to_string() const override;
  std::optional<Value> member(const std::string& name) override;
  std::vector<std::string> member_names() const override {
    return {"name", "lhs", "rhs", "guard", "bidirectional", "ruleset", "annotations", "location"};
  }
  const RuleDecl& decl() const { return *decl_; }
  const std::shared_ptr<const RuleDecl>& decl_ptr() const { return decl_; }
  // What the rule compiler reads (stage 3).
  const std::shared_ptr<const compiler::RuleSource>& source() const { return source_; }
  const std::string& name() const { return decl_->name; }
  const std::string& ruleset() const { return source_->ruleset; }
  const TermPtr& lhs() const { return source_->lhs; }
  const TermPtr& rhs() const { return source_->rhs; }

 private:
  std::shared_ptr<const RuleDecl> decl_;
  std::shared_ptr<const compiler::RuleSource> source_;
};

class RulesetValue : public Object {
 public:
  RulesetValue(std::string name, std::vector<std::shared_ptr<RuleValue>> rules, std::shared_ptr<const Stmt> decl)
      : name_(std::move(name)), rules_(std::move(rules)), decl_(std::move(decl)) {}
  std::string type_name() const override { return "ruleset"; }
  std::string to_string() const override;
  std::optional<Value> member(const std::string& name) override;
  std::vector<std::string> member_names() const override { return {"name", "rules"}; }
  const std::string& name() const { return name_; }
  const std::vector<std::shared_ptr<RuleValue>>& rules() const { return rules_; }

 private:
  std::string name_;
  std::vector<std::shared_ptr<RuleValue>> rules_;
  std::shared_ptr<const Stmt> decl_;
};

class CostValue : public Object {
 public:
  CostValue(std::shared_ptr<const compiler::CostSource> source, std::shared_ptr<const Stmt> decl)
      : source_(std::move(source)), decl_(std::move(decl)) {}
  std::string type_name() const override { return "cost"; }
  std::string to_string() const override;
  std::optional<Value> member(const std::string& name) override;
  const std::string& name() const { return source_->name; }
  const std::shared_ptr<const compiler::CostSource>& source() const { return source_; }

 private:
  std::shared_ptr<const compiler::CostSource> source_;
  std::shared_ptr<const Stmt> decl_;
};

class OpValue : public Object {
 public:
  OpValue(std::shared_ptr<const OpDecl> decl, std::shared_ptr<const compiler::OpSource> source)
      : decl_(std::move(decl)), source_(std::move(source)) {}
  std::string type_name() const override { return "op"; }
  std::string to_string() const override;
  std::optional<Value> member(const std::string& name) override;
  std::vector<std::string> member_names() const override { return {"name", "operands", "attributes", "body"}; }
  const OpDecl& decl() const { return *decl_; }
  const std::shared_ptr<const compiler::OpSource>& source() const { return source_; }

 private:
  std::shared_ptr<const OpDecl> decl_;
  std::shared_ptr<const compiler::OpSource> source_;
};

}  // namespace twin
