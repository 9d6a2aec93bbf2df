// twin::Interpreter: the embedding API. This header is what a host program sees.
//
//   twin::Interpreter twin({.allowed_read_dirs = {"/srv/port"}});
//   twin.register_function("now", [](twin::CallContext&, twin::CallArgs&) { return twin::Value(1.5); });
//   twin.set_output([&](std::string_view text) { log << text; });
//   twin.eval_file("/srv/port/check.twin");
//   twin::Value v = twin.get_global("report");
//
// As in Lua, the host is in charge. A script touches nothing outside the interpreter unless
// the host allows it: it reads files (read_text, use, load_graph) only under the allowed
// directories and the library path, through one race-free open (util/sandboxed_open.h). By
// default it writes no files and starts no processes: the host grants those capabilities
// (InterpreterOptions: the verifier's isolation process, the verdict cache), and sets the
// limits a script runs under (a deadline, a step budget, a memory limit, the integer digits
// limit; interp/script_budget.h). docs/embedding.md lists each with its default. The
// interpreter starts with the language alone; the host opens the libraries scripts may use
// (interp/lib/libraries.h: egraph, graph, check), and only those link their dependencies.
// Errors reach the host as twin::Error exceptions (util/error.h) carrying file:line:col, what
// was expected, and the call chain; the interpreter stays usable after any error, a reached
// limit included. Progress of long builtins and warnings reach the host through the
// diagnostics callback, never a terminal directly.
//
// An Interpreter is not thread-safe: use one per thread.
#pragma once

#include "util/error.h"
#include "util/rational.h"
#include "util/sandboxed_open.h"
#include "compiler/declarations.h"
#include "interp/relation.h"
#include "interp/script_budget.h"
#include "interp/value.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace twin {

class Evaluator;
class RulesetValue;
class CostValue;

// Something a builtin wants the host to show while it runs.
struct Diagnostic {
  enum class Kind {
    Progress,      // a long builtin's progress ("running: iteration 3, 12034 e-nodes ...")
    ProgressDone,  // the progress shown so far may be erased
    Warning,       // something the user should know (a stale cache entry, a refused file)
  } kind = Kind::Progress;
  std::string source;   // the builtin: "g.run", "check_graphs"
  std::string message;
};

// Whether scripts may use the per-user verdict cache (verify/verdict_cache.h) when they verify
// rules (check_graphs): reading it saves re-verifying; writing it creates files in the user's
// cache directory and, on first use, the user's signing key.
enum class VerdictCacheAccess { None, ReadOnly, ReadWrite };

struct InterpreterOptions {
  // Directories under which scripts may read files (read_text, use, load_graph). Empty: none.
  std::vector<std::filesystem::path> allowed_read_dirs;
  // Single files scripts may read besides (`twin run` allows those named by its arguments).
  std::vector<std::filesystem::path> allowed_read_files;
  // Directories under which scripts may write files (write_text in the io library). Empty:
  // none. `twin run --allow-write DIR` and `twin stages` (its --out directory) grant one.
  std::vector<std::filesystem::path> allowed_write_dirs;
  // Where `use "x.rules"` looks when x.rules is not beside the importing file. Always readable.
  // Empty: $TWIN_PATH (colon-separated) if set, then the installed stdlib directory.
  std::vector<std::filesystem::path> library_path;
  // Receives everything scripts print. Default: standard output.
  std::function<void(std::string_view)> output;
  // Receives progress and warnings (Diagnostic). Default: none (nothing is shown).
  std::function<void(const Diagnostic&)> diagnostics;

  // Capabilities. The defaults grant nothing.
  // Whether the verifier may fork a child process to bound a Z3 check with a hard time limit
  // (verify/isolated_call.h). Without it Z3 runs in this process, bounded by its own timeout;
  // a check that would need the hard limit is `unknown`, never `proved`.
  bool allow_processes = false;
  // The verdict cache, and where it is (empty: $TWIN_CACHE_DIR, else $XDG_CACHE_HOME/twin/verify,
  // else ~/.cache/twin/verify).
  VerdictCacheAccess verdict_cache = VerdictCacheAccess::None;
  std::filesystem::path verdict_cache_directory;

  // Limits, each per outermost call (eval_string, eval_file, load_declarations, call); a reached
  // one is a twin::Error of kind Limit naming it. 0: none.
  double time_limit_seconds = 0;       // wall clock; also stops g.run, check_graphs, verification
  std::uint64_t step_limit = 0;        // loop iterations and calls
  std::size_t memory_limit_bytes = 0;  // heap the script's work holds (interp/script_budget.h)
  // Integers of more decimal digits are not converted to or from text (printing, str, number,
  // literals): the conversion is quadratic. 4,300 as in Python; 0: none.
  std::size_t integer_digits_limit = kDefaultIntegerDigitsLimit;
};

class Interpreter {
 public:
  explicit Interpreter(InterpreterOptions options = {});
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Runs source text; `chunk_name` names it in errors. Returns the value of the last
  // statement when that is an expression statement, nil otherwise.
  Value eval_string(std::string_view source, const std::string& chunk_name = "<string>");
  // Runs a `.twin` script or loads a `.rules` file (declarations only). Errors name the file
  // as given. The file itself must be readable under the allowed directories.
  Value eval_file(const std::filesystem::path& path);
  // Loads only the declarations (version, use, op, ruleset, cost, relation) of a script or rules file,
  // running none of its statements: what `twin disasm` and `twin verify` need from a script.
  void load_declarations(const std::filesystem::path& path);
  // The parameter relations (`relation PORT = TERM`) declared by every file and script loaded
  // so far, in load order, each with its source location: what `twin check` instantiates
  // against two graphs (check/declared_relations.h).
  //   twin.load_declarations("bench/check_7b_shape.rules");
  //   for (const auto& r : twin.declared_relations()) ... r.port, r.location ...
  const std::vector<DeclaredRelation>& declared_relations() const;
  // Everything declared so far (ops, rulesets, costs, relations), frozen: what the rule
  // compiler, the checker and the verifier read (compiler/declarations.h).
  std::shared_ptr<const compiler::Declarations> declarations() const;

  // Globals.
  bool has_global(const std::string& name) const;
  Value get_global(const std::string& name) const;  // nil when undefined
  void set_global(const std::string& name, Value value);
  std::vector<std::string> global_names() const;  // sorted

  // Host functions callable from scripts as name(args...).
  void register_function(const std::string& name, NativeFunctionBody body);
  // Calls a script (or native) function value from the host.
  Value call(const Value& function, std::vector<Value> positional = {});

  // Output and permissions.
  void set_output(std::function<void(std::string_view)> output);
  void print(std::string_view text);
  void set_diagnostics(std::function<void(const Diagnostic&)> diagnostics);
  // Passes a diagnostic to the host's callback (nothing happens without one).
  void diagnose(const Diagnostic& diagnostic);
  void allow_read(const std::filesystem::path& directory);
  void allow_read_file(const std::filesystem::path& file);
  // Whether `path` lies, by name, under a directory scripts may read (symbolic links on the
  // way are judged when the file is opened).
  bool may_read(const std::filesystem::path& path) const;
  // Opens a file a script named: the one way scripts reach files (read_text, use, load_graph,
  // check_graphs). The result says why when it did not open; file_error turns that into the
  // error to raise. A denied path answers the same whether or not it exists.
  SandboxedFile open_for_script(const std::filesystem::path& path) const;
  Error file_error(const SandboxedFile& file, const std::filesystem::path& path, const SourceLocation& where) const;
  // Reads a file for a script: open_for_script, then its contents (counted against the memory
  // limit). Errors: Permission (outside the allowed directories), Io (missing, not a regular
  // file, unreadable), Value (a NUL byte in the path).
  std::string read_text(const std::filesystem::path& path, const SourceLocation& where) const;
  // Writes a file for a script (write_text): `path` must lie, by name and with every symbolic
  // link of its directory resolved, under a directory the host allows writing to; the file
  // itself may not be a symbolic link. Missing directories on the way are created. The text
  // replaces the file atomically (util/atomic_file.h): a reader sees the old or the new text.
  // Errors: Permission (outside the allowed directories), Io (the system refused), Value (a
  // NUL byte in the path).
  void write_text(const std::filesystem::path& path, const std::string& text, const SourceLocation& where) const;
  void allow_write(const std::filesystem::path& directory);
  // The contents of a file open_for_script opened.
  std::string read_opened(const SandboxedFile& file, const std::filesystem::path& path, const SourceLocation& where) const;
  // The directories and files scripts may read, as the host named them (the library path not
  // included).
  const std::vector<std::filesystem::path>& allowed_read_dirs() const { return options_.allowed_read_dirs; }
  const std::vector<std::filesystem::path>& allowed_read_files() const { return options_.allowed_read_files; }
  const std::vector<std::filesystem::path>& allowed_write_dirs() const { return options_.allowed_write_dirs; }
  // The directory relative paths in scripts are resolved against (the current directory).
  std::filesystem::path base_directory() const;
  // A path a script named: relative paths are relative to the calling script's directory
  // (`where`'s file), or to base_directory() for code that came from no file.
  std::filesystem::path resolve_script_path(const std::filesystem::path& path, const SourceLocation& where) const;

  const std::vector<std::filesystem::path>& library_path() const;

  // The capabilities and limits the host set (the output callbacks aside).
  const InterpreterOptions& options() const { return options_; }
  // The limits of the call now running: what long builtins bound themselves by.
  ScriptBudget& budget() { return budget_; }
  // Changes the limits for the next outermost call.
  void set_limits(double time_limit_seconds, std::uint64_t step_limit, std::size_t memory_limit_bytes);

  // Names a script may complete at the REPL: keywords, globals, rule and ruleset names.
  std::vector<std::string> completion_candidates() const;

  // Stops the running script at its next loop iteration or call with an "interrupted" error.
  // Async-signal-safe: a SIGINT handler may call it.
  void request_interrupt();

  Evaluator& evaluator() { return *evaluator_; }

 private:
  // Runs a piece of the host's work as an outermost call (or inside the one running): under
  // this interpreter's limits, with anything that is not a twin::Error turned into one.
  template <class F>
  Value guarded(F&& work);

  InterpreterOptions options_;
  ReadSandbox sandbox_;  // allowed_read_dirs and library_path
  ScriptBudget budget_;
  std::unique_ptr<Evaluator> evaluator_;
};

// The directory of the standard library installed with Twin (configured at build time).
std::filesystem::path installed_stdlib_directory();

}  // namespace twin
