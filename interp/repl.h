// The interactive loop: `twin repl`.
//
// Three rooms, so that everything but the terminal can be tested without one:
//
//   ReplSession  the core. It is fed one line at a time and answers what to print and
//                whether the entry is complete. It owns the continuation buffer (input goes
//                on while a bracket or brace is open), the `:command` table, evaluation
//                with every error caught, and completion of the word under the cursor.
//   ReplHistory  the history file: one entered line per line of text, appended (and so on
//                disk) as soon as the line is entered, trimmed to a cap.
//   run_repl     the front end: libedit line editing, prompts, Ctrl-C and Ctrl-D when
//                standard input is a terminal; plain line reading when it is not.
//
// Invariant: nothing a user types ends the session except `:quit` and end of input. Every
// twin::Error is printed with Error::format(), and anything else thrown is printed as an
// internal error; the interpreter stays usable after either (see interpreter.h).
#pragma once

#include "interp/interpreter.h"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace twin {

// What the front end prints after a line: `output` to standard output, `error` to standard
// error. Each is empty or ends with a newline.
struct ReplResponse {
  std::string output;
  std::string error;
  bool needs_more_input = false;  // an open bracket: show the continuation prompt
  bool quit = false;              // `:quit`: end the session
};

class ReplSession {
 public:
  // A `:command`. `argument` is the rest of the line after the name, trimmed. A handler
  // appends to response.output (or .error) and may throw twin::Error like any evaluation.
  using CommandHandler = std::function<void(ReplSession& session, const std::string& argument,
                                            ReplResponse& response)>;

  static constexpr const char* kPrompt = "twin> ";
  static constexpr const char* kContinuationPrompt = "...> ";
  // The chunk name entries are evaluated under; errors point into it as `<repl>:line:col`.
  static constexpr const char* kChunkName = "<repl>";

  explicit ReplSession(Interpreter& interpreter);

  // One line of input, without its newline. At the start of an entry a line beginning with
  // ':' is a command; otherwise lines accumulate until no bracket is open, then the entry is
  // evaluated and the value of a final expression statement is echoed with to_repr() unless
  // it is nil.
  ReplResponse feed_line(const std::string& line);
  // End of input: evaluates a pending unfinished entry so that the user sees what the parser
  // expected, and asks to quit.
  ReplResponse finish();
  // Drops a pending unfinished entry (Ctrl-C).
  void cancel_input() { pending_.clear(); }
  bool has_pending_input() const { return !pending_.empty(); }
  const char* prompt() const { return pending_.empty() ? kPrompt : kContinuationPrompt; }

  // Adds (or replaces) `:name`. `help` is one line, starting with the argument synopsis if
  // the command takes one: register_command("disasm", "RULE  show a rule's match program", h).
  void register_command(std::string name, std::string help, CommandHandler handler);
  // Runs a `.twin` script or loads a `.rules` file, as `twin repl FILE` and `:load` do. The
  // file's directory becomes readable, like a script's own directory under `twin run`.
  ReplResponse load_file(const std::filesystem::path& path);

  // Completion of the word that ends at the cursor. `line` is the text before the cursor.
  // The word is a (possibly dotted) name; at the start of a line, a `:command`; after
  // `:load `, a file path. Candidates replace line[word_start, end) and are sorted.
  struct Completion {
    std::size_t word_start = 0;
    std::vector<std::string> candidates;
  };
  Completion complete(std::string_view line) const;

  // The text of `:help`.
  std::string help_text() const;
  Interpreter& interpreter() { return interpreter_; }

 private:
  struct Command {
    std::string name;  // without the ':'
    std::string help;
    CommandHandler handler;
  };

  ReplResponse evaluate(const std::string& source);
  ReplResponse run_command(const std::string& line);
  // Runs `action`, turning every exception into text in response.error.
  void guarded(ReplResponse& response, const std::function<void()>& action);
  std::vector<std::string> member_candidates(const std::string& dotted_prefix) const;
  void add_builtin_commands();

  Interpreter& interpreter_;
  std::string pending_;            // the lines of an unfinished entry, newline-separated
  std::vector<Command> commands_;  // in registration order, which :help keeps
};

// The history file: `$XDG_STATE_HOME/twin/history`, or `~/.local/state/twin/history` when
// XDG_STATE_HOME is unset or not absolute. Empty when neither that nor a home is known.
std::filesystem::path default_history_path();

// Entered lines, one per line of the file, oldest first. Each line is appended with its own
// open/write/close, so a session that is killed loses nothing and two sessions appending at
// once interleave rather than overwrite. When the file holds more than twice `max_entries`
// lines it is rewritten (atomically: a temporary file renamed over it) to the newest
// `max_entries`.
class ReplHistory {
 public:
  explicit ReplHistory(std::filesystem::path file, std::size_t max_entries = 1000);

  // The newest `max_entries` lines. Creates the file's directory. Trims an oversized file.
  std::vector<std::string> load();
  // Records one entered line (blank lines and repeats of the previous line are skipped).
  // Returns false if the file cannot be written; the session goes on without it.
  bool add(const std::string& line);

  const std::filesystem::path& file() const { return file_; }
  std::size_t max_entries() const { return max_entries_; }

 private:
  void shrink_file();

  std::filesystem::path file_;
  std::size_t max_entries_;
  std::size_t lines_in_file_ = 0;
  std::string last_line_;
};

struct ReplOptions {
  // Loaded (run) in order before the first prompt; an error in one is printed and the
  // session goes on.
  std::vector<std::filesystem::path> files;
  // Empty: no history. Default: default_history_path().
  std::filesystem::path history_file = default_history_path();
  std::size_t history_size = 1000;
};

// Runs the loop on standard input until `:quit` or end of input. Uses libedit (line
// editing, history, tab completion) when standard input and output are terminals, and
// plain reading without prompts or history otherwise. Returns the exit status: 0.
int run_repl(Interpreter& interpreter, const ReplOptions& options = {});

// Runs the loop with `session` as run_repl does; for hosts that register extra commands.
int run_repl(ReplSession& session, const ReplOptions& options);

}  // namespace twin
