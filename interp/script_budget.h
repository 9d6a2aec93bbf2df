// The host's limits on a running script: a wall-clock deadline, a step budget and a memory
// limit (InterpreterOptions; docs/embedding.md "Limits").
//
// As Lua's hosts stop a runaway script with a count hook and an allocator limit, the
// evaluator counts a step at every loop iteration and every call (the only ways a script can
// run for long), and every operation that builds a string, a list, a map or a large number
// reserves its size first. When a limit is reached the operation raises a twin::Error of kind
// Limit that names it; nothing has been half-built, so the interpreter stays usable.
//
// Each limit runs per outermost call (Interpreter::eval_string, eval_file, load_declarations,
// call): the deadline and the step count restart there; a host function that calls back into
// the interpreter shares its caller's budget. Long builtins (g.run, check_graphs, a rule's
// verification) read the deadline (seconds_left, stop_requested) and stop at it.
//
// The memory limit bounds the heap the process holds beyond what it held when the interpreter
// was created (glibc's mallinfo2: bytes in use, mmapped blocks included). It counts what a
// script makes the process hold: its values, e-graphs, loaded graphs and tensors. It is a
// guard against runaway growth, not an exact account: in a host with other threads, their
// allocations count too. It is checked before each large allocation (64 KiB and more), and
// after every 1 MiB of small ones or 65,536 steps.
//
// Invariant: a reached limit stays reached until the outermost call returns: `catch(f)` does not
// catch it, and a host function that swallows it meets it again at the script's next step or
// allocation. (The integer digits limit is not one of these: it refuses one conversion.)
#pragma once

#include "util/source.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace twin {

class ScriptBudget {
 public:
  using Clock = std::chrono::steady_clock;

  struct Limits {
    double time_seconds = 0;         // 0: no deadline
    std::uint64_t steps = 0;         // 0: no step limit
    std::size_t memory_bytes = 0;    // 0: no memory limit
  };

  explicit ScriptBudget(Limits limits);

  // Begins an outermost call (nested Scopes do nothing): restarts the deadline and the step
  // count, and makes this the budget that reserve_memory() charges on this thread.
  class Scope {
   public:
    explicit Scope(ScriptBudget& budget);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    ScriptBudget& budget_;
    ScriptBudget* previous_current_;
  };

  // One step of the script: counts it; checks the step limit every step, the deadline every
  // 1,024 steps, and memory every 65,536.
  void step(const SourceLocation& where);
  // Before building something of about `bytes`: throws when the memory limit would be passed.
  void reserve(std::size_t bytes, const SourceLocation& where = {});
  // Throws when the deadline has passed.
  void check_deadline(const SourceLocation& where = {});
  // Throws when the script's heap and `extra` more would pass the memory limit.
  void check_memory(std::size_t extra, const SourceLocation& where = {});
  // Whether the memory limit is passed now (for a long builtin's stop condition).
  bool memory_exceeded() const;

  // Whether a limit was reached in the outermost call running (it stays reached).
  bool exhausted() const { return !exhausted_message_.empty(); }

  // What long builtins bound themselves by.
  std::optional<Clock::time_point> deadline() const { return deadline_; }
  double seconds_left() const;  // +infinity when there is no deadline; 0 once it has passed
  bool deadline_passed() const { return deadline_ && Clock::now() >= *deadline_; }

  const Limits& limits() const { return limits_; }
  void set_limits(Limits limits) { limits_ = limits; }

  // The budget of the outermost call running on this thread, if any.
  static ScriptBudget* current();

  // The process's heap in use, in bytes (what the memory limit measures).
  static std::size_t heap_in_use();

 private:
  std::size_t heap_used() const;
  // Throws the Limit error `message`, remembering it: the limit stays reached.
  [[noreturn]] void exhaust(std::string message, const SourceLocation& where);
  [[noreturn]] void deadline_exceeded(const SourceLocation& where);

  Limits limits_;
  std::size_t heap_baseline_;
  int depth_ = 0;
  std::optional<Clock::time_point> deadline_;
  std::uint64_t steps_ = 0;
  std::size_t unchecked_bytes_ = 0;
  std::string exhausted_message_;  // non-empty once a limit is reached in this outermost call
};

// Charges `bytes` to the budget of the script running on this thread (nothing when none):
// what code without an Interpreter at hand (value printing, for one) calls before it builds.
void reserve_memory(std::size_t bytes, const SourceLocation& where = {});

// count * size, or SIZE_MAX when that does not fit: what `count` elements would take.
inline std::size_t bytes_for(std::size_t count, std::size_t size) {
  return size != 0 && count > SIZE_MAX / size ? SIZE_MAX : count * size;
}

// "256 MiB", "1.5 GiB", "512 bytes": for messages.
std::string format_bytes(std::size_t bytes);

}  // namespace twin
