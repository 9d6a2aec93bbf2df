// Rewrite rules: `lhs => rhs if guard`.
//
// A Rewrite says: wherever lhs matches (binding its variables to e-classes) and the guard
// holds for that match, the instantiated rhs is equal to the matched class. The language's
// `a <=> b` becomes two Rewrites with the same name, the second with reversed = true, so
// explanations can report the direction in terms of the rule as written.
// Every variable of rhs and of the guard must occur in lhs (compile_rule checks).
#pragma once

#include "egraph/machine.h"
#include "egraph/pattern.h"
#include "egraph/scalar_expr.h"

#include <optional>
#include <string>
#include <vector>

namespace twin::egraph {

struct Rewrite {
  std::string name;
  Pattern lhs;
  Pattern rhs;
  std::optional<ScalarExpr> guard;
  bool reversed = false;  // the right-to-left half of a `<=>` rule
};

// A rule ready to run: the lhs program, the guard with variables bound to match slots,
// and the rhs as a flat instantiation plan.
struct CompiledRewrite {
  const Rewrite* rule = nullptr;
  MatchProgram program;
  std::optional<ScalarExpr> guard;  // resolved against program.variables
  // rhs in post-order: each step is a variable slot or an op over earlier steps.
  struct Step {
    bool is_var = false;
    std::uint32_t slot = 0;  // is_var: index into the match's substitution
    OpId op = 0;
    std::vector<std::uint32_t> children;  // indices of earlier steps
  };
  std::vector<Step> rhs;
  std::vector<Step> lhs;  // the lhs as a plan too: explanations instantiate it
};

// Throws std::invalid_argument when rhs or guard use a variable lhs does not bind, or the
// guard calls an unknown query.
CompiledRewrite compile_rule(const Rewrite& rule, const OpTable& ops,
                             const QueryRegistry& queries = QueryRegistry::builtins());

}  // namespace twin::egraph
