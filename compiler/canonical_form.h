// Stage 4 of the rule compiler: the canonical form of terms, shared by rule patterns, terms a
// script adds to an e-graph, and the graphs `twin check` lowers, so that a rule written one way
// matches a term written another way.
//
// A term is canonical when every application of an op the compiler knows (a registered op,
// ops/op_spec.h, by its name or an alias; or an op declared with `op`) is written
//   - under the op's registered name (`view` becomes `reshape`, `to` becomes `cast`);
//   - with its tensor operands first, positionally (a dtype written positionally, as in
//     `cast(?x, f32)`, is the `dtype` attribute), then every attribute by name, in the op's
//     declared order, defaults filled in;
//   - with an `ints` attribute given as one integer written as a one-element list
//     (`dim=-1` for `dim: ints` is `dim=[-1]`).
// Attribute values are leaves: a constant, a string, `true`/`false`/`none`, a dtype symbol, or
// a list of constants (attribute_term), the same leaves for every producer.
// Applications of ops the compiler does not know, and applications that do not fit their op
// (a required attribute missing, more arguments than the op takes, an attribute it does not
// have), are left as written: they match only what is written the same way.
//
// The canonical form is a definition, not a rewrite: both spellings denote the same value, so
// nothing here needs verification.
#pragma once

#include "compiler/declarations.h"
#include "compiler/term.h"
#include "egraph/egraph.h"
#include "egraph/pattern.h"
#include "ops/attributes.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace twin::compiler {

// The leaves an attribute value is written as (one spelling for every producer).
TermPtr attribute_term(const ops::AttrValue& value);

class CanonicalForm {
 public:
  // `declarations` may be null (registry ops only).
  explicit CanonicalForm(std::shared_ptr<const Declarations> declarations = nullptr);

  // The canonical form of `term` (see above). Locations are kept.
  TermPtr canonical(const TermPtr& term) const;
  // The term a reader wants to see: attributes equal to their default are left out (the
  // inverse of filling them in), registered names kept.
  TermPtr readable(const TermPtr& term) const;
  // Every application of a declared op that has a body replaced by its body, the parameters
  // bound to the call's operands and attributes (defaults filling the rest): an op's meaning,
  // what validation checks. Throws Error (Type) for a call that does not fit its declaration,
  // (Value) for bodies nested more than 64 deep.
  TermPtr expand_bodies(const TermPtr& term) const;
  // Whether `term` applies a declared op that has a body (expand_bodies changes it).
  bool uses_bodies(const Term& term) const;

  const Declarations* declarations() const { return declarations_.get(); }

 private:
  struct Signature;
  std::optional<Signature> signature_of(const std::string& name) const;
  TermPtr expand(const TermPtr& term, int depth) const;

  std::shared_ptr<const Declarations> declarations_;
};

// Stage 4 to the engine: a canonical term as a pattern, interned in `ops`. Throws Error (Type)
// for a term that cannot be a pattern (an e-class id, a relation placeholder).
egraph::Pattern to_pattern(const Term& term, egraph::OpTable& ops);
// A canonical term added to `graph` bottom-up; an EClass leaf is resolved by `eclass_leaf`
// (which throws when it cannot resolve it). Throws Error (Value) for a pattern variable.
egraph::EClassId add_term(egraph::EGraph& graph, const Term& term,
                          const std::function<egraph::EClassId(const Term&)>& eclass_leaf);
// The node `index` of a RecExpr (an extracted term) as a Term.
TermPtr from_rec_expr(const egraph::OpTable& ops, const egraph::RecExpr& expr, egraph::EClassId index);
TermPtr from_rec_expr(const egraph::OpTable& ops, const egraph::RecExpr& expr);

// A pattern as the language writes a term: `slice(?x, dim=[-1], start=0, end=?h, step=1)`.
std::string pattern_text(const egraph::Pattern& pattern, const egraph::OpTable& ops);

}  // namespace twin::compiler
