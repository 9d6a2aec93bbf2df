// Printing the rule compiler's stages (rule_compiler.h), for `twin disasm --stage NAME`, the
// REPL's :disasm and the docs. Each stage prints a header naming the rule and where it is
// declared, then:
//   terms     the rule's terms as the front end built them, every operator applied by name
//             (`add(?a, 0) => ?a`), and the guard as written;
//   patterns  the canonical patterns of each direction (registered names, attributes in
//             order with defaults: `slice(?x, dim=-1, start=0, end=?h, step=1)`) and the guard
//             in the engine's scalar IR; with declared ops' bodies expanded too, when that
//             differs (what `twin verify` validates and `twin check` runs);
//   program   the e-matching VM program of each left side (scan, bind, compare, lookup,
//             yield), the guard checked after a match, and the right side's instantiation.
#pragma once

#include "compiler/rule_compiler.h"

#include <optional>
#include <string>
#include <string_view>

namespace twin::compiler {

enum class Stage { Terms, Patterns, Program };

std::optional<Stage> parse_stage(std::string_view name);  // "terms", "patterns", "program"
const char* stage_name(Stage stage);

std::string print_stage(const CompiledRule& rule, Stage stage, const egraph::OpTable& ops);

// A term with every operator applied by name (no infix sugar): `mul(add(?a, 0), 1)`.
std::string print_term_prefix(const Term& term);

}  // namespace twin::compiler
