#include "interp/disassembly.h"

#include "compiler/rule_compiler.h"
#include "interp/evaluator.h"
#include "util/error.h"

namespace twin {

std::string disassemble_rules(Interpreter& interpreter, const std::optional<std::string>& rule_name,
                              compiler::Stage stage) {
  auto declarations = interpreter.evaluator().declarations();
  compiler::RuleCompiler rules(declarations, std::make_shared<egraph::OpTable>());
  std::string out;
  bool found = false;
  for (const auto& source : declarations->all_rules()) {
    if (rule_name && source->name != *rule_name && source->qualified_name() != *rule_name) continue;
    found = true;
    out += compiler::print_stage(*rules.compile(source), stage, *rules.ops()) + "\n";
  }
  if (rule_name && !found) throw Error(ErrorKind::Name, "no rule named '" + *rule_name + "'");
  return out;
}

}  // namespace twin
