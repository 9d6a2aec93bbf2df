// twin disasm FILE [RULE]
#include "cli/command.h"

#include "interp/egraph_bindings.h"
#include "interp/interpreter.h"

#include <iostream>

namespace twin::cli {

namespace {

int disasm_main(const Arguments& arguments) {
  std::vector<std::filesystem::path> readable;
  std::size_t index = 0;
  while (index < arguments.size() && arguments[index].starts_with("-")) {
    if (!take_allow_read(arguments, index, readable)) unknown_option(arguments[index]);
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
      std::cout << disassemble_rules(interpreter, rule);
    } catch (const Error& error) {
      return report(error);
    }
    return kExitSuccess;
  });
}

}  // namespace

const CommandSpec kDisasmCommand{
    .name = "disasm",
    .usage = "disasm [--allow-read DIR]... FILE [RULE]",
    .summary = "print the e-matching programs that rules compile to",
    .details = R"(Loads the declarations of FILE (a .rules file, or a .twin script whose statements
are not run) and prints, for every rule (or only RULE), the program of the e-matching
virtual machine its left side compiles to: `scan` (start from the classes holding the root
operator), `bind` (take a node of an operator apart), `compare` (a variable that occurs
twice), `lookup` (a ground subterm found in the hash-cons), and the guard checked after a
match. A `<=>` rule has two programs, one per direction.

Exit status: 0 printed; 2 bad input (unparsable file, unknown rule).)",
    .main = disasm_main,
};

}  // namespace twin::cli
