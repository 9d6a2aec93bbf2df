// twin repl [--allow-read DIR]... [--allow-write DIR]... [FILE...]
#include "cli/command.h"

#include "interp/repl.h"

#include <unistd.h>

namespace twin::cli {

namespace {

int repl_main(const Arguments& arguments) {
  std::vector<std::filesystem::path> readable, writable;
  ReplOptions options;
  bool options_ended = false;
  for (std::size_t index = 0; index < arguments.size();) {
    const std::string& argument = arguments[index];
    if (!options_ended && argument == "--") {
      options_ended = true;
      ++index;
    } else if (!options_ended && argument.starts_with("-")) {
      std::string dir;
      if (take_option_value(arguments, index, "--allow-write", dir)) writable.emplace_back(dir);
      else if (!take_allow_read(arguments, index, readable)) unknown_option(argument);
    } else {
      options.files.emplace_back(argument);  // load_file makes its directory readable
      ++index;
    }
  }
  std::error_code ignored;
  readable.push_back(std::filesystem::current_path(ignored));

  return run_with_large_stack([&] {
    InterpreterOptions interpreter_options = options_granted_to_scripts();
    interpreter_options.allowed_read_dirs = readable;
    interpreter_options.allowed_write_dirs = writable;
    Interpreter interpreter(std::move(interpreter_options));
    TerminalProgress progress(isatty(STDERR_FILENO));
    open_for_scripts(interpreter, progress);
    interpreter.set_global("args", make_list());
    return run_repl(interpreter, options);
  });
}

}  // namespace

const CommandSpec kReplCommand{
    .name = "repl",
    .usage = "repl [--allow-read DIR]... [--allow-write DIR]... [FILE...]",
    .summary = "start the interactive interpreter",
    .details = R"(Runs each FILE (a .twin script or a .rules file) and then reads statements and
expressions, printing the value of each expression. Input continues on '...>' lines while a
bracket or brace is open. :help lists the commands (:load, :type, :rules, :quit).

When standard input is a terminal: line editing, Tab completion, and history kept in
$XDG_STATE_HOME/twin/history (default ~/.local/state/twin/history). Otherwise lines are read
plainly, without prompts, e.g. `echo 'print(1 + 2)' | twin repl`.

Files may be read in the current directory, each loaded file's directory, and each DIR given
with --allow-read; write_text writes only under each DIR given with --allow-write. As in
`twin run`, check_graphs may fork the verifier's isolation process
and use the verdict cache.

Options:
  --allow-read DIR   also allow reading files under DIR (repeatable)
  --allow-write DIR  allow write_text to create and replace files under DIR (repeatable)

Exit status: 0. Errors are printed and the session goes on.)",
    .main = repl_main,
};

}  // namespace twin::cli
