// The rule compiler: one path from a declared rule to the programs the e-matching VM runs,
// used by scripts (g.run), `twin verify`, `twin check`, `twin disasm` and synthesis alike.
//
// The stages (docs/architecture.md; `twin disasm --stage NAME` prints each):
//   1. text                        (the front end, interp/parser.h)
//   2. syntax tree                 (interp/ast.h)
//   3. rule terms                  RuleSource: lhs, rhs and guard as written (compiler/declarations.h)
//   4. canonical patterns, guards  canonical_form.h; the guard in the engine's scalar IR
//   5. compiled rewrites           egraph::Rewrite, one per direction (two for `<=>`)
//   6. match programs              egraph::CompiledRewrite: the VM program of each left side
// Stages 3 to 6 live here and read a frozen Declarations table, never the running evaluator,
// so a rule made at run time (synthesis) compiles with no interpreter at all.
//
// Two forms come out of stage 5:
//   - `rewrites`: the running form. Declared ops stay as they are written, opaque to the
//     e-graph (a script's `my_rmsnorm(x, w)` is matched as such).
//   - `meaning`: every declared op that has a body replaced by its body. This is what the rule
//     says about the registry's ops: what `twin verify` validates and `twin check` runs on
//     captured graphs (which contain registry ops only). When the rule uses no body, both
//     forms are the same.
// A CompiledRule is built once and shared; its programs point into its own rewrites, so it is
// never copied or moved (it lives behind a shared_ptr).
#pragma once

#include "compiler/canonical_form.h"
#include "compiler/declarations.h"
#include "egraph/op_table.h"
#include "egraph/rewrite.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace twin::compiler {

struct CompiledRule {
  std::shared_ptr<const RuleSource> source;
  TermPtr lhs, rhs;                           // stage 4: the canonical terms
  std::vector<egraph::Rewrite> rewrites;      // stage 5, running form; named source->name
  std::vector<egraph::Rewrite> meaning;       // stage 5 with bodies expanded (== rewrites when none)
  bool expands_bodies = false;                // meaning differs from rewrites
  std::vector<egraph::CompiledRewrite> programs;          // stage 6 of `rewrites`
  std::vector<egraph::CompiledRewrite> meaning_programs;  // stage 6 of `meaning`
  // The canonical text of `meaning`, one line per direction: what a verdict depends on, and
  // so the verdict cache's key (verify/verdict_cache.h).
  std::string meaning_text;

  CompiledRule() = default;
  CompiledRule(const CompiledRule&) = delete;
  CompiledRule& operator=(const CompiledRule&) = delete;
};

class RuleCompiler {
 public:
  // `ops` is shared with every e-graph the compiled rules run on.
  RuleCompiler(std::shared_ptr<const Declarations> declarations, std::shared_ptr<egraph::OpTable> ops);

  // Compiles a rule (memoized: the same source gives the same CompiledRule). Throws Error,
  // located at the rule, for a rule the engine cannot express (an e-class id in a pattern, a
  // guard naming a variable the left side does not bind, a call that does not fit its op).
  std::shared_ptr<const CompiledRule> compile(const std::shared_ptr<const RuleSource>& rule);
  // Every rule of the declarations, in declaration order.
  std::vector<std::shared_ptr<const CompiledRule>> compile_all();

  // A term in the canonical form, as a pattern (cost arms) or for adding to an e-graph.
  TermPtr canonical(const TermPtr& term) const { return form_.canonical(term); }
  const CanonicalForm& form() const { return form_; }
  const std::shared_ptr<const Declarations>& declarations() const { return declarations_; }
  const std::shared_ptr<egraph::OpTable>& ops() const { return ops_; }

 private:
  std::shared_ptr<const Declarations> declarations_;
  std::shared_ptr<egraph::OpTable> ops_;
  CanonicalForm form_;
  std::map<const RuleSource*, std::shared_ptr<const CompiledRule>> compiled_;
};

}  // namespace twin::compiler
