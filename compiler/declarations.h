// The frozen table of declarations: what the rule compiler reads.
//
// The front end (interp/) turns each `op`, `ruleset`, `cost` and `relation` declaration of the
// files and scripts it loads into the plain structures below: terms (compiler/term.h), guard
// and cost expressions in the engine's scalar IR (egraph/scalar_expr.h), and source locations.
// A Declarations value is a snapshot: the front end hands out a new one when a declaration is
// added, and nothing in a snapshot changes afterwards, so a rule compiled against it stays
// valid for as long as the snapshot is held. Synthesis (rules made at run time from two terms)
// builds RuleSource values directly, with no front end at all.
//
// Loading the same files always gives the same declarations in the same order.
#pragma once

#include "compiler/relation_template.h"
#include "compiler/term.h"
#include "egraph/scalar_expr.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twin::compiler {

// One rule as declared: `rule name: lhs => rhs if guard` inside `ruleset`.
struct RuleSource {
  std::string ruleset;
  std::string name;
  TermPtr lhs, rhs;
  std::optional<egraph::ScalarExpr> guard;
  // The guard's canonical source text ("" without a guard), as stages print it.
  std::string guard_text;
  bool bidirectional = false;  // `<=>`
  SourceLocation location;     // the `rule` keyword

  // "ruleset.rule": how `twin check` and `twin verify` name a rule.
  std::string qualified_name() const { return ruleset + "." + name; }
};

// `op name(operands; attributes) = body`: an op the rules may use. Ops of the registry
// (ops/op_spec.h) keep their built-in meaning; a declared op with a body means its body (what
// validation checks); one without a body is opaque.
struct OpSource {
  struct Attribute {
    std::string name;
    std::string type;        // "int", "float", "bool", "str", "dtype", "ints", "floats"
    TermPtr default_value;   // may be null: a required attribute
  };
  std::string name;
  std::vector<std::string> operands;
  std::vector<Attribute> attributes;
  TermPtr body;  // may be null
  SourceLocation location;
};

struct RulesetSource {
  std::string name;
  std::vector<std::shared_ptr<const RuleSource>> rules;  // in declaration order
  SourceLocation location;
};

// `cost name { pattern => cost if guard ... }`: the first matching arm gives a node's cost.
struct CostSource {
  struct Arm {
    TermPtr pattern;  // TermKind::Wildcard for `_`
    std::optional<egraph::ScalarExpr> guard;
    egraph::ScalarExpr cost;
    SourceLocation location;
  };
  std::string name;
  std::vector<Arm> arms;
};

struct Declarations {
  std::map<std::string, std::shared_ptr<const OpSource>, std::less<>> ops;
  std::vector<std::shared_ptr<const RulesetSource>> rulesets;  // declaration order; a redeclared name keeps its place
  std::vector<std::shared_ptr<const CostSource>> costs;
  std::vector<DeclaredRelation> relations;

  const OpSource* op(std::string_view name) const;
  const RulesetSource* ruleset(std::string_view name) const;
  // Every rule of every ruleset, in declaration order.
  std::vector<std::shared_ptr<const RuleSource>> all_rules() const;
};

}  // namespace twin::compiler
