#include "egraph/runner.h"

#include <chrono>
#include <cstdio>

namespace twin::egraph {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

EClassId instantiate(EGraph& graph, const std::vector<CompiledRewrite::Step>& plan, std::span<const EClassId> subst,
                     std::vector<EClassId>& ids, std::vector<EClassId>& children) {
  ids.clear();
  for (const CompiledRewrite::Step& step : plan) {
    if (step.is_var) {
      ids.push_back(subst[step.slot]);
      continue;
    }
    children.clear();
    for (std::uint32_t c : step.children) children.push_back(ids[c]);
    ids.push_back(graph.add(step.op, children));
  }
  return ids.back();
}
}  // namespace

std::string_view to_string(StopReason reason) {
  switch (reason) {
    case StopReason::Saturated:
      return "saturated";
    case StopReason::IterationLimit:
      return "iteration_limit";
    case StopReason::NodeLimit:
      return "node_limit";
    case StopReason::Goal:
      return "goal";
    case StopReason::TimeLimit:
      return "time_limit";
  }
  return "?";
}

std::string Report::to_string() const {
  char line[256];
  std::string out;
  std::snprintf(line, sizeof line, "stop: %s, iterations: %zu, nodes: %zu, classes: %zu, time: %.3fs\n",
                std::string(twin::egraph::to_string(stop_reason)).c_str(), iterations, nodes, classes, seconds);
  out += line;
  std::snprintf(line, sizeof line, "  search %.3fs, apply %.3fs, rebuild %.3fs\n", search_seconds, apply_seconds,
                rebuild_seconds);
  out += line;
  for (const RuleReport& r : rules) {
    std::snprintf(line, sizeof line, "  %-24s matches %8zu  applied %8zu  search %.3fs  apply %.3fs\n",
                  r.name.c_str(), r.matches, r.applications, r.search_seconds, r.apply_seconds);
    out += line;
  }
  return out;
}

bool apply_match(EGraph& graph, const CompiledRewrite& rule, EClassId root, std::span<const EClassId> subst,
                 std::uint32_t justification) {
  thread_local std::vector<EClassId> ids, children;
  Justification why{justification, rule.rule->reversed};
  if (!graph.explanations_enabled()) {
    EClassId rhs = instantiate(graph, rule.rhs, subst, ids, children);
    return graph.union_justified(root, rhs, why);
  }
  std::vector<EClassId> lhs_ids, lhs_children;
  EClassId lhs = instantiate(graph, rule.lhs, subst, lhs_ids, lhs_children);
  EClassId rhs = instantiate(graph, rule.rhs, subst, ids, children);
  return graph.union_justified(lhs, rhs, why);
}

Report run(EGraph& graph, const std::vector<Rewrite>& rules, const RunLimits& limits, SchedulerKind scheduler,
           const ProgressCallback& progress, const QueryRegistry& queries) {
  std::vector<CompiledRewrite> compiled;
  compiled.reserve(rules.size());
  for (const Rewrite& r : rules) compiled.push_back(compile_rule(r, graph.ops(), queries));
  auto sched = make_scheduler(scheduler);
  return run(graph, compiled, limits, *sched, progress, queries);
}

Report run(EGraph& graph, const std::vector<CompiledRewrite>& rules, const RunLimits& limits, Scheduler& scheduler,
           const ProgressCallback& progress, const QueryRegistry& queries) {
  const auto start = Clock::now();
  Report report;
  for (const CompiledRewrite& r : rules) report.rules.push_back(RuleReport{r.rule->name});
  std::vector<std::uint32_t> justification;
  for (const CompiledRewrite& r : rules) justification.push_back(graph.intern_justification(r.rule->name));

  auto last_progress = start;
  auto offer_progress = [&](std::size_t iteration, std::string_view rule) {
    if (!progress) return;
    auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_progress).count() < limits.progress_interval_seconds) return;
    last_progress = now;
    progress(Progress{iteration, graph.live_node_count(), rule, std::chrono::duration<double>(now - start).count()});
  };
  auto out_of_time = [&] { return seconds_since(start) > limits.time_seconds; };
  const Deadline deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                  std::min(limits.time_seconds, 1e9)));

  std::optional<ProgramSet> program_set;
  if (limits.shared_search) {
    std::vector<const MatchProgram*> programs;
    for (const CompiledRewrite& r : rules) programs.push_back(&r.program);
    program_set.emplace(std::move(programs));
  }

  graph.rebuild();
  std::optional<StopReason> stop;
  std::vector<MatchSet> matches(rules.size());
  for (std::size_t iteration = 0;; ++iteration) {
    if (out_of_time()) stop = StopReason::TimeLimit;
    else if (graph.live_node_count() > limits.nodes) stop = StopReason::NodeLimit;
    else if (iteration >= limits.iterations) stop = StopReason::IterationLimit;
    if (stop) break;

    const std::size_t nodes_before = graph.live_node_count();
    const std::size_t classes_before = graph.class_count();

    // Search every rule on the clean e-graph.
    auto search_start = Clock::now();
    std::vector<std::size_t> limit(rules.size());
    std::vector<MatchFilter> filters(rules.size());
    for (std::size_t r = 0; r < rules.size(); ++r) {
      limit[r] = scheduler.search_limit(iteration, r);
      const CompiledRewrite& rule = rules[r];
      if (rule.guard)
        filters[r] = [&rule, &graph, &queries, &failures = report.rules[r].guard_failures,
                      &refused = report.rules[r].refused_at](EClassId root, std::span<const EClassId> subst) {
          bool holds = guard_holds(*rule.guard, graph, subst, queries);
          if (!holds) {
            ++failures;
            if (refused.size() < RuleReport::kRefusedRootsKept) refused.push_back(root);
          }
          return holds;
        };
    }
    auto accept = [&](std::size_t r) {
      if (matches[r].timed_out) {
        stop = StopReason::TimeLimit;
        matches[r] = MatchSet{};
      }
      if (limit[r] == 0) return;
      if (!scheduler.accept(iteration, r, matches[r].size())) matches[r] = MatchSet{};
      report.rules[r].matches += matches[r].size();
    };
    if (limits.shared_search) {
      offer_progress(iteration, "(all rules)");
      matches = search_all(*program_set, graph, limit, filters, deadline);
      for (std::size_t r = 0; r < rules.size(); ++r) accept(r);
      if (out_of_time()) stop = StopReason::TimeLimit;
    } else {
      for (std::size_t r = 0; r < rules.size() && !stop; ++r) {
        offer_progress(iteration, rules[r].rule->name);
        matches[r] = MatchSet{};
        if (limit[r] == 0) continue;
        auto t = Clock::now();
        matches[r] = search(rules[r].program, graph, limit[r], filters[r], deadline);
        accept(r);
        report.rules[r].search_seconds += seconds_since(t);
        if (out_of_time()) stop = StopReason::TimeLimit;
      }
    }
    report.search_seconds += seconds_since(search_start);

    // Apply every accepted match.
    auto apply_start = Clock::now();
    std::size_t applied = 0;
    for (std::size_t r = 0; r < rules.size() && !stop; ++r) {
      offer_progress(iteration, rules[r].rule->name);
      auto t = Clock::now();
      const MatchSet& ms = matches[r];
      for (std::size_t k = 0; k < ms.size(); ++k) {
        if (apply_match(graph, rules[r], ms.roots[k], ms.subst(k), justification[r])) {
          ++applied;
          ++report.rules[r].applications;
        }
        if (graph.live_node_count() > limits.nodes) {
          stop = StopReason::NodeLimit;
          break;
        }
        if ((k & 255) == 255) {
          if (out_of_time()) {
            stop = StopReason::TimeLimit;
            break;
          }
          offer_progress(iteration, rules[r].rule->name);
        }
      }
      report.rules[r].apply_seconds += seconds_since(t);
      matches[r] = MatchSet{};
    }
    report.apply_seconds += seconds_since(apply_start);

    auto rebuild_start = Clock::now();
    graph.rebuild();
    report.rebuild_seconds += seconds_since(rebuild_start);
    report.iterations = iteration + 1;
    if (stop) break;
    if (limits.stop_when && limits.stop_when(graph)) {
      stop = StopReason::Goal;
      break;
    }
    bool unchanged = applied == 0 && graph.live_node_count() == nodes_before && graph.class_count() == classes_before;
    if (unchanged && scheduler.can_stop(iteration)) {
      stop = StopReason::Saturated;
      break;
    }
  }
  report.stop_reason = *stop;
  report.nodes = graph.num_nodes();
  report.classes = graph.num_classes();
  report.seconds = seconds_since(start);
  return report;
}

}  // namespace twin::egraph
