// egg's math_ematching_bench, ported: the math rules of egg 0.9.5's tests/math.rs run with
// the Simple scheduler and a 1M node limit from its seven start expressions, then every
// rule pattern and extra pattern is searched on the resulting e-graph.
//
// Usage: egg_ematching [iterations=7] [samples=10] [mode=twin]
//   mode shared:   as twin, with RunLimits::shared_search (all rules searched in one pass).
//   mode twin:     Twin's runner as is: the 1M node limit is checked after every applied
//                  match (on the live hash-cons size).
//   mode egg-stop: reproduces where egg stops. egg checks its node limit only between
//                  rules, against its hash-cons size, which keeps stale entries; at 8
//                  iterations that fires after the 4th rule (assoc-mul) of the last
//                  iteration. Since searching does not change the e-graph, running the last
//                  iteration with only the first four rules is exactly that state.
// Prints the run report, e-nodes, classes, seconds (wall and CPU), resident bytes per
// e-node, and the search time of each pattern (5th percentile of `samples` runs, as egg
// reports).
#include "egraph/egg_math_workload.h"
#include "egraph/pattern_compiler.h"
#include "egraph/runner.h"
#include "egraph/sexpr.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sys/resource.h>
#include <unistd.h>

using namespace twin::egraph;

namespace {
std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total = 0, resident = 0;
  statm >> total >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}
double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}
}  // namespace

int main(int argc, char** argv) {
  std::size_t iterations = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 7;
  std::size_t samples = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 10;
  const std::string mode = argc > 3 ? argv[3] : "twin";
  const bool egg_stop = mode == "egg-stop";

  auto ops = std::make_shared<OpTable>();
  std::vector<Rewrite> rules = egg_math::rules(*ops);
  std::size_t rss_before = resident_bytes();
  EGraph graph = egg_math::make_egraph(ops);
  for (const std::string& e : egg_math::bench_expressions()) graph.add_expr(parse_term(e, *ops));

  RunLimits limits;
  limits.iterations = iterations;
  limits.nodes = 1'000'000;
  limits.time_seconds = 1000;
  limits.shared_search = mode == "shared";
  double cpu_before = cpu_seconds();
  Report report;
  if (!egg_stop || iterations == 0) {
    report = run(graph, rules, limits, SchedulerKind::Simple);
  } else {
    limits.iterations = iterations - 1;
    report = run(graph, rules, limits, SchedulerKind::Simple);
    std::vector<Rewrite> first_four(rules.begin(), rules.begin() + 4);
    limits.iterations = 1;
    limits.nodes = SIZE_MAX;  // egg's limit fires after these four rules, not during them
    Report last = run(graph, first_four, limits, SchedulerKind::Simple);
    report.iterations += last.iterations;
    report.nodes = last.nodes;
    report.classes = last.classes;
    report.seconds += last.seconds;
    report.search_seconds += last.search_seconds;
    report.apply_seconds += last.apply_seconds;
    report.rebuild_seconds += last.rebuild_seconds;
    for (std::size_t r = 0; r < 4; ++r) {
      report.rules[r].matches += last.rules[r].matches;
      report.rules[r].applications += last.rules[r].applications;
    }
    report.stop_reason = StopReason::NodeLimit;
  }
  std::size_t rss_after = resident_bytes();
  std::printf("%s", report.to_string().c_str());
  std::printf("iterations %zu: %zu e-nodes, %zu classes, %.3f s, hash-cons %zu, %.1f resident bytes/e-node\n",
              report.iterations, report.nodes, report.classes, report.seconds, graph.live_node_count(),
              double(rss_after - rss_before) / double(report.nodes));
  std::printf("class ids created: %zu; process CPU time %.3f s (wall time above suffers on a loaded machine)\n",
              graph.id_count(), cpu_seconds() - cpu_before);
  // The baseline: egg 0.9.5 on a 2-core machine of CI's kind (the reference figures;
  // egg itself cannot be built offline here). Ratios below 1 mean Twin is smaller or faster.
  struct EggFigures {
    std::size_t nodes, classes;
    double seconds;
  };
  const EggFigures egg = iterations == 7 ? EggFigures{52432, 20449, 0.19} : EggFigures{632085, 0, 2.0};
  if (iterations == 7 || iterations == 8) {
    std::printf("ratio vs egg 0.9.5 (%zu iterations): e-nodes %.3f", iterations, double(report.nodes) / double(egg.nodes));
    if (egg.classes) std::printf(", classes %.3f", double(report.classes) / double(egg.classes));
    std::printf(", time %.2f (egg %.2f s)\n", report.seconds / egg.seconds, egg.seconds);
  }

  if (samples == 0) return 0;
  // The patterns egg's bench_egraph searches: every rule's lhs and rhs plus the extras,
  // without bare variables, deduplicated.
  std::set<std::string> seen;
  std::vector<Pattern> patterns;
  auto consider = [&](const Pattern& p) {
    if (p.is_var()) return;
    if (seen.insert(p.to_string(*ops)).second) patterns.push_back(p);
  };
  for (const Rewrite& r : rules) {
    consider(r.lhs);
    consider(r.rhs);
  }
  for (const std::string& text : egg_math::bench_extra_patterns()) consider(parse_pattern(text, *ops));
  double total_ns = 0;
  for (const Pattern& p : patterns) {
    MatchProgram program = compile(p, *ops);
    std::vector<double> times;
    std::size_t found = 0;
    for (std::size_t s = 0; s < samples; ++s) {
      auto t = std::chrono::steady_clock::now();
      MatchSet m = search(program, graph);
      times.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t).count());
      found = m.size();
    }
    std::sort(times.begin(), times.end());
    double p5 = times[static_cast<std::size_t>(0.05 * times.size())];
    total_ns += p5;
    std::printf("search %-70s %10.0f ns  %8zu matches\n", p.to_string(*ops).c_str(), p5, found);
  }
  std::printf("total search time of %zu patterns: %.3f ms\n", patterns.size(), total_ns / 1e6);
  return 0;
}
