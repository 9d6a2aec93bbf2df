// Declared parameter relations: `relation PORT = TERM` in a `.rules` file or a script.
//
//   relation layers.{i}.self_attn.qkv_proj.weight =
//       cat([layers.{i}.self_attn.q_proj.weight, layers.{i}.self_attn.k_proj.weight,
//            layers.{i}.self_attn.v_proj.weight], dim=0)
//   relation layers.{i}.mlp.down_proj.shards.{r}.weight =
//       slice(layers.{i}.mlp.down_proj.weight, dim=1, start=64 * {r}, end=64 * {r} + 64)
//   relation norm.weight = norm.weight
//
// The left side names a port parameter (or buffer), or a family of them through `{name}`
// placeholders, each standing for one whole dot-separated segment. The right side is a term
// over the reference's parameter names; it may use the same patterns, and a placeholder as a
// number (`{r}` in `start=64 * {r}`).
//
// The front end turns the right side into a *template*: a Term whose symbols may be patterns
// (`layers.{i}.mlp.up_proj.weight`), whose TermKind::Placeholder leaves stand for numbers, and
// whose arithmetic (add sub mul div pow neg, and `%` as the Apply "%") is folded once the
// placeholders are bound. check/declared_relations.h instantiates declarations against two
// graphs; the functions here are the graph-free part.
#pragma once

#include "compiler/term.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin {

struct DeclaredRelation {
  std::string port;                       // "layers.{i}.self_attn.qkv_proj.weight", or a plain name
  std::vector<std::string> placeholders;  // the left side's placeholders, in order: {"i"}
  TermPtr source;                         // the right side's template (locations inside)
  SourceLocation location;                // the `relation` keyword
  SourceLocation port_location;           // the left side
};

using PatternBindings = std::map<std::string, std::string>;  // placeholder -> the segment it bound

// A pattern's dot-separated segments: "layers.{i}.mlp" -> {"layers", "{i}", "mlp"}.
std::vector<std::string> pattern_segments(const std::string& pattern);
// Its placeholders, each once, in order of first appearance: "a.{i}.b.{r}" -> {"i", "r"}.
std::vector<std::string> pattern_placeholders(const std::string& pattern);
// Whether `name` is an instance of `pattern`: same number of segments, literal segments equal,
// each placeholder bound to one non-empty segment (the same one wherever it repeats).
std::optional<PatternBindings> match_pattern(const std::string& pattern, const std::string& name);
// The pattern with its placeholders replaced (std::out_of_range when one is unbound).
std::string instantiate_pattern(const std::string& pattern, const PatternBindings& bindings);

// A declaration's right side instantiated for one set of bindings.
struct InstantiatedRelation {
  TermPtr term;  // over reference names; arithmetic on numbers folded (`start=64 * {r}` -> 64)
  // The reference names the term reads (names and patterns in operand position, not attribute
  // values such as `dtype=bf16`), each with where it is written, in order.
  std::vector<std::pair<std::string, SourceLocation>> sources;
};

// Throws Error (Syntax for an unbound placeholder or an operator that is not a term's; Value
// for a placeholder bound to a segment that is not an integer where a number is needed, or a
// division by zero) located at the offending part of the declaration.
InstantiatedRelation instantiate_relation(const DeclaredRelation& relation, const PatternBindings& bindings);

// Checks a declaration's form without graphs: every placeholder on the right is bound by the
// left, and the right side instantiates (tried with every placeholder bound to 1; a value
// error for that binding is left to the instantiation that meets it). Fills `placeholders`.
// Throws Error (Syntax) located there.
void check_relation_form(DeclaredRelation& relation);

}  // namespace twin
