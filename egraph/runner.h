// Running rules to saturation (or to a limit).
//
// One iteration (egg's Runner): on the clean e-graph, every rule the scheduler allows
// searches (its guard filters each match as it is found); then every accepted match is
// applied (the rhs is instantiated and unioned with the matched class); then the e-graph
// is rebuilt. The run stops when
//   - saturated: an iteration changed nothing (no union did anything, no node or class
//     appeared) and the scheduler has no banned rule left;
//   - iteration_limit: `iterations` iterations have run;
//   - node_limit: the hash-cons holds more than `nodes` e-nodes. This is checked after
//     every applied match, not only between iterations, so a run ends within a few nodes
//     of the limit (plus what the final rebuild adds, e.g. folded constants);
//   - time_limit: checked between rules, inside searches, and every 256 applied matches.
// The e-graph is clean when run() returns.
//
// Progress: the callback is offered a report between every two rules and during long
// applications; it is invoked at most once per `progress_interval_seconds`.
#pragma once

#include "egraph/egraph.h"
#include "egraph/rewrite.h"
#include "egraph/scheduler.h"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace twin::egraph {

struct RunLimits {
  std::size_t iterations = 30;
  std::size_t nodes = 10'000;
  double time_seconds = 5.0;
  double progress_interval_seconds = 0.1;
  // Search all rules in one pass over a trie of their programs (machine.h, ProgramSet), so
  // instruction prefixes the rules share run once. Same matches, faster for large rulesets;
  // per-rule search_seconds are then not measured (the shared search time is reported as a
  // whole in Report::search_seconds).
  bool shared_search = false;
  // Checked after every iteration (on the rebuilt e-graph): true stops the run with
  // StopReason::Goal (egg's hooks), e.g. once the terms a caller wants equal have met.
  std::function<bool(const EGraph&)> stop_when;
};

enum class StopReason { Saturated, IterationLimit, NodeLimit, TimeLimit, Goal };
std::string_view to_string(StopReason reason);  // "saturated", "iteration_limit", ..., "goal"

struct RuleReport {
  std::string name;
  std::size_t matches = 0;       // matches found (after the guard), over all iterations
  std::size_t applications = 0; // matches whose union changed the e-graph
  // Matches of the pattern that the guard refused, over all iterations: a rule that never
  // applies but has these nearly matched (twin check --explain-gaps names it and its guard).
  std::size_t guard_failures = 0;
  // Where the guard refused: the match roots (as found, not canonicalized), at most
  // kRefusedRootsKept per run, so a gap diagnosis can say which rules nearly matched there.
  std::vector<EClassId> refused_at;
  static constexpr std::size_t kRefusedRootsKept = 256;
  double search_seconds = 0;
  double apply_seconds = 0;
};

struct Report {
  StopReason stop_reason = StopReason::Saturated;
  std::size_t iterations = 0;
  std::size_t nodes = 0;    // e-nodes in classes at the end (egg's total_number_of_nodes)
  std::size_t classes = 0;
  double seconds = 0;
  double search_seconds = 0, apply_seconds = 0, rebuild_seconds = 0;
  std::vector<RuleReport> rules;  // in the order of the rules given

  std::string to_string() const;
};

struct Progress {
  std::size_t iteration = 0;
  std::size_t nodes = 0;  // e-nodes in the hash-cons now
  std::string_view rule;  // the rule about to run or running
  double seconds = 0;     // since the run started
};
using ProgressCallback = std::function<void(const Progress&)>;

Report run(EGraph& graph, const std::vector<Rewrite>& rules, const RunLimits& limits = {},
           SchedulerKind scheduler = SchedulerKind::Backoff, const ProgressCallback& progress = nullptr,
           const QueryRegistry& queries = QueryRegistry::builtins());

// The same with a caller-owned scheduler (custom limits) and precompiled rules.
Report run(EGraph& graph, const std::vector<CompiledRewrite>& rules, const RunLimits& limits, Scheduler& scheduler,
           const ProgressCallback& progress = nullptr, const QueryRegistry& queries = QueryRegistry::builtins());

// Applies one match of a compiled rule: instantiates the rhs and unions it with the match
// root (with explanations on, the instantiated lhs is unioned with the rhs instead, so
// the step is recorded between exact terms). Returns whether the e-graph changed.
bool apply_match(EGraph& graph, const CompiledRewrite& rule, EClassId root, std::span<const EClassId> subst,
                 std::uint32_t justification);

}  // namespace twin::egraph
