// twin run [--allow-read DIR]... FILE.twin [ARGS...]
#include "cli/command.h"

#include "interp/interpreter.h"

#include <unistd.h>

namespace twin::cli {

namespace {

int run_main(const Arguments& arguments) {
  std::vector<std::filesystem::path> readable;
  std::size_t index = 0;
  while (index < arguments.size() && arguments[index].starts_with("-")) {
    if (arguments[index] == "--") {
      ++index;
      break;
    }
    if (!take_allow_read(arguments, index, readable)) unknown_option(arguments[index]);
  }
  if (index >= arguments.size()) throw UsageError("no script to run");
  std::filesystem::path script = arguments[index++];
  std::vector<Value> script_arguments(arguments.begin() + static_cast<std::ptrdiff_t>(index), arguments.end());

  // The script may read its own directory and the current one, as the user ran it from there.
  std::error_code ignored;
  readable.push_back(std::filesystem::absolute(script, ignored).parent_path());
  readable.push_back(std::filesystem::current_path(ignored));

  return run_with_large_stack([&] {
    InterpreterOptions interpreter_options;
    interpreter_options.allowed_read_dirs = readable;
    Interpreter interpreter(std::move(interpreter_options));
    TerminalProgress progress(isatty(STDERR_FILENO));
    open_for_scripts(interpreter, progress);
    interpreter.set_global("args", make_list(script_arguments));
    try {
      interpreter.eval_file(script);
    } catch (const Error& error) {
      return report(error);
    }
    return kExitSuccess;
  });
}

}  // namespace

const CommandSpec kRunCommand{
    .name = "run",
    .usage = "run [--allow-read DIR]... FILE.twin [ARGS...]",
    .summary = "run a script",
    .details = R"(Runs FILE.twin (or loads a .rules file). The script sees ARGS as the list of
strings `args`; everything after FILE is passed to it, options included.

The script may read files (read_text, use) only in its own directory, the current
directory, each DIR given with --allow-read, and the library path ($TWIN_PATH, then the
installed standard library).

Options:
  --allow-read DIR   also allow reading files under DIR (repeatable)
  --                 end of options: the next argument is FILE even if it starts with '-'

Exit status: 0 the script finished; 1 an assert failed; 2 any other error (syntax, runtime,
unreadable file), printed as file:line:col: error: ... with the call chain.)",
    .main = run_main,
};

}  // namespace twin::cli
