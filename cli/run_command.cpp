// twin run [--allow-read DIR]... [--allow-write DIR]... [--timeout SECONDS] [--max-memory SIZE] [--no-cache] FILE.twin [ARGS...]
#include "cli/command.h"

#include "interp/interpreter.h"

#include <unistd.h>

namespace twin::cli {

namespace {

int run_main(const Arguments& arguments) {
  std::vector<std::filesystem::path> readable;
  InterpreterOptions interpreter_options = options_granted_to_scripts();
  std::size_t index = 0;
  while (index < arguments.size() && arguments[index].starts_with("-")) {
    if (arguments[index] == "--") {
      ++index;
      break;
    }
    std::string value;
    if (arguments[index] == "--no-cache") {
      interpreter_options.verdict_cache = VerdictCacheAccess::None;
      ++index;
    } else if (take_option_value(arguments, index, "--timeout", value)) {
      interpreter_options.time_limit_seconds = parse_seconds(value, "--timeout");
    } else if (take_option_value(arguments, index, "--allow-write", value)) {
      interpreter_options.allowed_write_dirs.emplace_back(value);
    } else if (take_option_value(arguments, index, "--max-memory", value)) {
      interpreter_options.memory_limit_bytes = parse_size(value, "--max-memory");
    } else if (!take_allow_read(arguments, index, readable)) {
      unknown_option(arguments[index]);
    }
  }
  if (index >= arguments.size()) throw UsageError("no script to run");
  std::filesystem::path script = arguments[index++];
  std::vector<Value> script_arguments(arguments.begin() + static_cast<std::ptrdiff_t>(index), arguments.end());

  // The script may read its own directory and the current one, as the user ran it from there,
  // and each file its arguments name: the user handed those to it.
  std::error_code ignored;
  readable.push_back(std::filesystem::absolute(script, ignored).parent_path());
  readable.push_back(std::filesystem::current_path(ignored));
  for (const auto& argument : script_arguments)
    if (std::filesystem::is_regular_file(argument.as_string(), ignored))
      interpreter_options.allowed_read_files.emplace_back(argument.as_string());

  return run_with_large_stack([&] {
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
    .usage = "run [--allow-read DIR]... [--allow-write DIR]... [--timeout SECONDS] [--max-memory SIZE] [--no-cache] FILE.twin [ARGS...]",
    .summary = "run a script",
    .details = R"(Runs FILE.twin (or loads a .rules file). The script sees ARGS as the list of
strings `args`; everything after FILE is passed to it, options included.

The script may read files (read_text, use, load_graph) only in its own directory, the
current directory, each DIR given with --allow-read, each file that one of ARGS names, and
the library path ($TWIN_PATH, then the installed standard library). It writes files
(write_text) only under each DIR given with --allow-write, and starts no programs; when
it verifies rules (check_graphs), the verifier may fork its isolation process (a child that
bounds a Z3 check) and reads and writes the verdict cache (unless --no-cache).

Options:
  --allow-read DIR      also allow reading files under DIR (repeatable)
  --allow-write DIR     allow write_text to create and replace files under DIR (repeatable)
  --timeout SECONDS     stop the script after SECONDS of wall-clock time (long builtins too)
  --max-memory SIZE     stop the script when its values hold more than SIZE (256M, 2G, ...)
  --no-cache            check_graphs neither reads nor writes the verdict cache
  --                    end of options: the next argument is FILE even if it starts with '-'

Exit status: 0 the script finished; 1 an assert failed; 2 any other error (syntax, runtime,
unreadable file, a limit reached), printed as file:line:col: error: ... with the call chain.)",
    .main = run_main,
};

}  // namespace twin::cli
