// twin disasm [--stage terms|patterns|program] FILE [RULE]
#include "cli/command.h"

#include "interp/disassembly.h"
#include "interp/interpreter.h"

#include <iostream>

namespace twin::cli {

namespace {

int disasm_main(const Arguments& arguments) {
  std::vector<std::filesystem::path> readable;
  compiler::Stage stage = compiler::Stage::Program;
  std::size_t index = 0;
  while (index < arguments.size() && arguments[index].starts_with("-")) {
    const std::string& a = arguments[index];
    if (a == "--stage" || a.starts_with("--stage=")) {
      std::string name;
      if (a == "--stage") {
        if (index + 1 >= arguments.size()) throw UsageError("--stage needs a stage: terms, patterns or program");
        name = arguments[index + 1];
        index += 2;
      } else {
        name = a.substr(8);
        index += 1;
      }
      auto parsed = compiler::parse_stage(name);
      if (!parsed) throw UsageError("--stage takes terms, patterns or program, not `" + name + "`");
      stage = *parsed;
      continue;
    }
    if (!take_allow_read(arguments, index, readable)) unknown_option(a);
  }
  if (index >= arguments.size()) throw UsageError("no file to disassemble");
  std::filesystem::path file = arguments[index++];
  std::optional<std::string> rule;
  if (index < arguments.size()) rule = arguments[index++];
  if (index < arguments.size()) throw UsageError("too many arguments");
  std::error_code ignored;
  readable.push_back(std::filesystem::absolute(file, ignored).parent_path());
  readable.push_back(std::filesystem::current_path(ignored));

  return run_with_large_stack([&] {
    InterpreterOptions options;
    options.allowed_read_dirs = readable;
    Interpreter interpreter(std::move(options));
    try {
      // Only the declarations: disassembling a script must not run it.
      interpreter.load_declarations(file);
      std::cout << disassemble_rules(interpreter, rule, stage);
    } catch (const Error& error) {
      return report(error);
    }
    return kExitSuccess;
  });
}

}  // namespace

const CommandSpec kDisasmCommand{
    .name = "disasm",
    .usage = "disasm [--stage terms|patterns|program] [--allow-read DIR]... FILE [RULE]",
    .summary = "print what rules compile to, stage by stage",
    .details = R"(Loads the declarations of FILE (a .rules file, or a .twin script whose statements
are not run) and prints, for every rule (or only RULE, `name` or `ruleset.name`), one stage of
the rule compiler (docs/architecture.md):

  terms      the rule's terms as the front end built them, every operator applied by name
  patterns   the canonical patterns of each direction (registered op names, attributes in
             order with their defaults) and the guard in the engine's form; with declared
             ops' bodies expanded too, when that differs (what twin verify and twin check use)
  program    (the default) the program of the e-matching virtual machine each left side
             compiles to: `scan` (start from the classes holding the root operator), `bind`
             (take a node of an operator apart), `compare` (a variable that occurs twice),
             `lookup` (a ground subterm found in the hash-cons), the guard checked after a
             match, and the right side's instantiation. A `<=>` rule has two programs.

Options:
  --stage NAME       terms, patterns or program
  --allow-read DIR   also allow `use` to read under DIR

Exit status: 0 printed; 2 bad input (unparsable file, unknown rule or stage).)",
    .main = disasm_main,
};

}  // namespace twin::cli
