// Running a computation that may not stop in a child process, with a hard wall-clock limit.
//
// Z3 4.8.12 does not always stop when asked: its nonlinear real arithmetic can run on for
// minutes in code that checks neither its `timeout` nor Z3_interrupt (found with
// `layer_norm(?x, ...) => ?x - mean(?x, ...)`, whose first check never returned). The only
// bound that always holds is a process boundary: run_isolated forks, runs `work` in the child,
// and kills the child (SIGKILL) if it has not answered within `seconds`. The child is a
// copy-on-write image of the caller, so `work` may read anything the caller built (rules, op
// tables); it must not touch the caller's threads, locks or files, and should use only
// self-contained machinery (a fresh z3::context). Its result comes back as a string.
//
// The child also dies with its parent (PR_SET_PDEATHSIG) and has a CPU-time limit a little
// above `seconds`, so it cannot outlive a killed caller (bench/mutants kills verifications
// that take too long).
#pragma once

#include <functional>
#include <string>

namespace twin::verify {

struct IsolatedResult {
  enum class Status {
    Done,         // `work` returned; `output` is its string
    TimedOut,     // no answer within the limit: the child was killed
    Failed,       // the child died without an answer (a crash, out of memory): `why`
    Unavailable,  // no child could be started (fork or pipe failed): `why`
  };
  Status status = Status::Unavailable;
  std::string output;
  std::string why;
  double seconds = 0;
};

// `work` runs in a forked child; an exception escaping it is reported as Failed.
IsolatedResult run_isolated(const std::function<std::string()>& work, double seconds);

}  // namespace twin::verify
