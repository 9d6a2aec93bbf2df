// Terms: the language-neutral trees that rules, quoted script terms and parameter relations
// are made of, and the first stage of the rule compiler (compiler/rule_compiler.h).
//
// A Term is an operator applied to operands and named attributes, a list, or a leaf (symbol,
// exact constant, string, pattern variable, a reference to an e-class spliced in with `$`).
// Infix operators are ordinary operators: `a + b` is `add(a, b)`, `-a` is `neg(a)`, `a ** b`
// is `pow(a, b)`; the literal forms `1/3` and `-2` are exact constants, not operators.
//
// Terms carry no syntax: the front end (interp/) builds them from its syntax tree and prints
// them through print_term (term_printer.h), so everything below the front end (the compiler,
// verify/, check/) works on Terms without knowing the grammar. A term may carry the source
// location it was written at, for error messages; equality ignores it.
//
// Invariant: a Term is immutable once shared (TermPtr points to const); rewriting a term
// copies the nodes on the path it changes.
#pragma once

#include "util/rational.h"
#include "util/source.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace twin {

struct Term;
using TermPtr = std::shared_ptr<const Term>;

enum class TermKind {
  Apply,        // name(operands..., attribute=value...)
  List,         // [operands...]
  Symbol,       // name (dtype names such as bf16 are symbols too)
  Constant,     // an exact number
  String,       // "text"
  Var,          // ?name (patterns only)
  Wildcard,     // _ (cost arms only)
  EClass,       // an e-class id spliced into a term with $id
  Placeholder,  // {name}: the number a relation's placeholder binds (relation templates only)
};

struct Term {
  TermKind kind = TermKind::Symbol;
  std::string name;  // Apply: operator; Symbol/Var/Placeholder: name; String: text
  Rational constant;
  std::vector<TermPtr> operands;
  std::vector<std::pair<std::string, TermPtr>> attributes;
  std::uint32_t eclass = 0;      // EClass: the id
  const void* egraph = nullptr;  // EClass: the e-graph it belongs to (identity only)
  SourceLocation location;       // where it was written; unknown for terms made by code

  // Structural equality; locations are ignored.
  bool operator==(const Term& other) const;
};

TermPtr make_symbol(std::string name, SourceLocation location = {});
TermPtr make_constant(Rational value, SourceLocation location = {});
TermPtr make_string(std::string text, SourceLocation location = {});
TermPtr make_apply(std::string op, std::vector<TermPtr> operands,
                   std::vector<std::pair<std::string, TermPtr>> attributes = {}, SourceLocation location = {});
TermPtr make_term_list(std::vector<TermPtr> items, SourceLocation location = {});

// The operator an infix form stands for: "+" -> "add", ..., "**" -> "pow"; "" if none.
std::string infix_operator_name(const std::string& infix);
// The other way: "add" -> "+", ..., "pow" -> "**"; nullptr for an operator with no infix form.
const char* infix_spelling(const std::string& op);

// The pattern variables of a term, in first-occurrence order.
std::vector<std::string> term_variables(const Term& term);

// Whether the term is the symbol `true`/`false` (the language's booleans inside terms).
bool is_boolean_symbol(const Term& term);

}  // namespace twin
