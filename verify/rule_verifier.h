// Validating one rule with the strongest method that applies, and judging its numerics.
//
// Policy (docs/verification.md):
//   - Z3 when every op of the rule has an encoding (or --method z3): unsat on every instance
//     is `proved`; a confirmed model is `refuted` with its counterexample.
//   - Otherwise, or when Z3 can say neither (uninterpreted functions, timeouts), constraint-
//     aware random testing: a failing trial is `refuted`; all trials passing is `tested N
//     trials`; no instance or no evaluation is `unknown`. "unknown" is never "proved".
//   - Every rule that is not refuted also gets a numerics verdict: `exact`, `within bf16
//     baseline`, or `changes precision` (random_tester.h has the R-ratio definition).
#pragma once

#include "egraph/op_table.h"
#include "egraph/rewrite.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace twin::verify {

enum class Method { Auto, Z3, Random };

struct VerifyOptions {
  Method method = Method::Auto;
  int trials = 256;
  std::uint64_t seed = 7;
  unsigned z3_timeout_ms = 10000;  // per solver call
  // Wall-clock limit per rule direction, in seconds (0: none). Z3 gets three quarters of it as a
  // hard limit (Z3Options::wall_seconds: a check that runs over is stopped and says unknown);
  // random testing and numerics stop drawing once the whole limit has passed (a rule that
  // runs out of time before its trials are done is unknown, never tested).
  double rule_seconds = 60;
  // Z3 is not asked about an instance whose tensor variables hold more elements than this
  // (a rule pinned to a model's own shapes: its encoding would be too large to decide);
  // random testing decides it.
  std::int64_t z3_max_elements = 4096;
  // Whether a Z3 check may run in a forked child that is killed at its hard limit
  // (verify/isolated_call.h). false: Z3 runs in this process, each call bounded by its own
  // timeout (and the watchdog that interrupts it); a check that runs over says unknown, never
  // proved. A host that grants no processes (InterpreterOptions::allow_processes) sets false.
  bool isolate = true;
  // A wall-clock deadline (the host's): every limit above is cut to what is left of it, and a
  // rule whose time runs out is unknown. Neither this nor `isolate` changes a verdict that is
  // reached, so neither is part of the cache key.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

enum class Verdict { Proved, Tested, Refuted, Unknown };
const char* verdict_name(Verdict verdict);  // "proved", "tested", "refuted", "unknown"

struct RuleReport {
  Verdict verdict = Verdict::Unknown;
  std::string method;        // "z3", "random", "exhaustive"
  int trials = 0;            // random trials run (Tested)
  std::uint64_t seed = 0;
  std::string numerics;      // "exact", "within bf16 baseline", "changes precision", "" when not judged
  double r_ratio = 0;
  std::string counterexample;  // Refuted
  std::string detail;          // the other method's word, reasons for unknown
  double seconds = 0;

  // "proved", "tested 256 trials", "refuted", "unknown"
  std::string verdict_text() const;
};

// The version of the verification methods: cached verdicts from another version are stale.
inline constexpr const char* kVerifierVersion = "twin-verify-8";

RuleReport verify_rule(const egraph::Rewrite& rule, const egraph::OpTable& ops, const VerifyOptions& options);

}  // namespace twin::verify
