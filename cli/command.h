// The commands of the `twin` tool and what they share.
//
// A command is a CommandSpec: its name, usage and help text, and an entry point that gets
// the arguments after the command's name and returns the exit status. main.cpp lists them;
// adding a command is a new <name>_command.cpp defining its spec plus one line in the table.
//
// Exit statuses (docs/cli.md): 0 success; 1 the checked property does not hold (a failed
// assert, a file that is not canonically formatted); 2 bad input or usage.
#pragma once

#include "util/error.h"
#include "interp/interpreter.h"

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace twin::cli {

inline constexpr int kExitSuccess = 0;
inline constexpr int kExitPropertyFails = 1;
inline constexpr int kExitBadInput = 2;

using Arguments = std::vector<std::string>;

struct CommandSpec {
  std::string_view name;
  std::string_view usage;    // after "twin ": "run [--allow-read DIR]... FILE.twin [ARGS...]"
  std::string_view summary;  // one line for `twin --help`
  std::string_view details;  // the rest of `twin help NAME`: options, exit statuses
  int (*main)(const Arguments& arguments);
};

// Thrown by a command for bad usage; main prints the message and the command's usage, exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The exit status for an error: 1 for a failed assertion, 2 for everything else.
int exit_status(const Error& error);
// Prints error.format() to standard error (after flushing standard output, so the order of
// what a script printed and the error is kept) and returns exit_status(error).
int report(const Error& error);

// Runs `body` on a thread with a 512 MiB stack, so that deep recursion in user input cannot
// overflow the 8 MiB default. Anything `body` throws is reported as an internal error (2).
int run_with_large_stack(const std::function<int()>& body);

// Reads `--allow-read DIR` or `--allow-read=DIR` at arguments[index], advancing index past
// it. Returns false (index unchanged) if arguments[index] is not that option.
bool take_allow_read(const Arguments& arguments, std::size_t& index, std::vector<std::filesystem::path>& dirs);

// Reads `--NAME VALUE` or `--NAME=VALUE` at arguments[index] into `value`, advancing index
// past it. Returns false (index unchanged) if arguments[index] is not that option.
bool take_option_value(const Arguments& arguments, std::size_t& index, const std::string& name, std::string& value);

// "2", "0.5": a positive number of seconds. Throws UsageError naming `option`.
double parse_seconds(const std::string& text, const std::string& option);
// "256M", "1G", "512K", "1048576": a positive size in bytes (K, M, G, T are powers of 1024;
// KiB/MiB/... and a trailing B are accepted too). Throws UsageError naming `option`.
std::size_t parse_size(const std::string& text, const std::string& option);

// What `twin run` and `twin repl` grant scripts beyond reading (docs/cli.md): the verifier
// may fork its isolation process and use the user's verdict cache.
InterpreterOptions options_granted_to_scripts();

// Shows progress on standard error when it is a terminal: one line, rewritten in place, at
// most every 100 ms and only after the first second; warnings are always printed.
class TerminalProgress {
 public:
  explicit TerminalProgress(bool enabled);
  void progress(const std::string& text, double seconds);
  void warning(const std::string& text);
  void clear();  // erases the progress line, if one is shown
  // A diagnostics callback for an Interpreter (InterpreterOptions::diagnostics).
  std::function<void(const Diagnostic&)> diagnostics();

 private:
  bool enabled_;
  bool shown_ = false;
  double started_ = 0;
  double last_ = -1;
};

// An interpreter for a command that runs scripts (run, repl): every library open, progress
// and warnings shown on a terminal.
void open_for_scripts(Interpreter& interpreter, TerminalProgress& progress);

// `arguments[index]` starts with '-' and is not an option the command knows.
[[noreturn]] void unknown_option(const std::string& option);

extern const CommandSpec kRunCommand;
extern const CommandSpec kReplCommand;
extern const CommandSpec kFmtCommand;
extern const CommandSpec kDisasmCommand;
extern const CommandSpec kVerifyCommand;
extern const CommandSpec kCaptureCommand;
extern const CommandSpec kCheckCommand;
extern const CommandSpec kOpsCommand;
extern const CommandSpec kStagesCommand;

}  // namespace twin::cli
