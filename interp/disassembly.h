// `twin disasm` and the REPL's :disasm: the stages of the rule compiler, printed for the rules
// an interpreter has declared (compiler/stages.h has the formats).
#pragma once

#include "compiler/stages.h"
#include "interp/interpreter.h"

#include <optional>
#include <string>

namespace twin {

// Every rule declared so far (or only `rule_name`, which may be `ruleset.rule`), at `stage`.
// Throws Error (Name) when `rule_name` names no rule, or the rule's own error when it does
// not compile.
std::string disassemble_rules(Interpreter& interpreter, const std::optional<std::string>& rule_name,
                              compiler::Stage stage = compiler::Stage::Program);

}  // namespace twin
