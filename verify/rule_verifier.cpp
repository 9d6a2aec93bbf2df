#include "verify/rule_verifier.h"

#include "verify/pinned_instance.h"
#include "verify/random_tester.h"
#include "verify/z3_checker.h"

#include <algorithm>
#include <chrono>

namespace twin::verify {

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::Proved: return "proved";
    case Verdict::Tested: return "tested";
    case Verdict::Refuted: return "refuted";
    case Verdict::Unknown: return "unknown";
  }
  return "unknown";
}

std::string RuleReport::verdict_text() const {
  if (verdict == Verdict::Tested) return "tested " + std::to_string(trials) + " trials";
  return verdict_name(verdict);
}

namespace {

// The options with the rule's time cut to what is left before the deadline (nullopt: none left).
std::optional<VerifyOptions> within_deadline(const VerifyOptions& options) {
  if (!options.deadline) return options;
  double left = std::chrono::duration<double>(*options.deadline - std::chrono::steady_clock::now()).count();
  if (!(left > 0)) return std::nullopt;
  VerifyOptions bounded = options;
  if (!(bounded.rule_seconds > 0) || bounded.rule_seconds > left) bounded.rule_seconds = left;
  return bounded;
}

}  // namespace

RuleReport verify_rule(const egraph::Rewrite& rule, const egraph::OpTable& ops, const VerifyOptions& given) {
  auto start = std::chrono::steady_clock::now();
  RuleReport report;
  report.seed = given.seed;
  std::optional<VerifyOptions> bounded = within_deadline(given);
  if (!bounded) {
    report.detail = "not verified: the deadline has passed";
    return report;
  }
  const VerifyOptions& options = *bounded;

  bool try_z3 = options.method != Method::Random;
  bool try_random = options.method != Method::Z3;
  bool decided = false;

  // One search for shape instances, shared by Z3 (the first Z3Options::instances of them) and
  // random testing: the search is often the larger part of a rule's time.
  RandomOptions random_options;
  random_options.trials = options.trials;
  random_options.seed = options.seed;
  random_options.instances_given = find_instances(rule, ops, [&] {
    Z3Options search;
    search.instances = std::max(1, random_options.instances);
    return search;
  }());

  if (try_z3 && !random_options.instances_given.empty() &&
      instance_elements(random_options.instances_given.front()) > options.z3_max_elements) {
    try_z3 = false;
    report.detail = "z3: not asked (the instance holds " +
                    std::to_string(instance_elements(random_options.instances_given.front())) +
                    " elements, more than it can decide)";
  }
  if (try_z3) {
    Z3Options z3_options;
    z3_options.instances_given = random_options.instances_given;
    z3_options.timeout_ms = options.z3_timeout_ms;
    // A hard limit (a check that runs over is stopped: unknown), leaving a quarter of the
    // rule's time to random testing. Without isolation there is no hard limit: each solver
    // call is cut to Z3's share of the rule's time instead.
    double z3_seconds = options.rule_seconds > 0 ? options.rule_seconds * 0.75 : 0;
    z3_options.wall_seconds = options.isolate ? z3_seconds : 0;
    if (!options.isolate && z3_seconds > 0)
      z3_options.timeout_ms = std::min<unsigned>(z3_options.timeout_ms, static_cast<unsigned>(std::max(1.0, z3_seconds * 1000)));
    Z3Verdict z3 = check_rule_z3(rule, ops, z3_options);
    switch (z3.status) {
      case Z3Status::Proved:
        report.verdict = Verdict::Proved;
        report.method = "z3";
        decided = true;
        break;
      case Z3Status::Refuted:
        report.verdict = Verdict::Refuted;
        report.method = "z3";
        report.counterexample = z3.counterexample ? z3.counterexample->to_string() : z3.reason;
        decided = true;
        break;
      case Z3Status::Unknown:
        report.detail = "z3: unknown (" + z3.reason + ")";
        break;
      case Z3Status::NotEncodable: {
        // z3.reason is already a sentence ("no Z3 encoding for `pow`: exponent 1/2"); the
        // not_encodable list only names the ops, so it is not repeated.
        std::string reason = z3.reason;
        if (reason.starts_with("no Z3 encoding for")) reason.replace(0, 18, "no encoding for");
        report.detail = "z3: " + reason;
        break;
      }
    }
    if (!decided && options.method == Method::Z3) report.verdict = Verdict::Unknown, report.method = "z3";
  }

  // What is left of the rule's time (a budget of 0 would mean none, so at least 1 µs).
  auto time_left = [&] {
    if (!(options.rule_seconds > 0)) return 0.0;
    double used = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::max(options.rule_seconds - used, 1e-6);
  };
  if (!decided && try_random) {
    random_options.seconds = time_left();
    RandomVerdict random = test_rule_random(rule, ops, random_options);
    report.method = random.exhaustive ? "exhaustive" : "random";
    report.trials = random.trials;
    switch (random.status) {
      case RandomStatus::Passed: report.verdict = Verdict::Tested; break;
      case RandomStatus::Refuted:
        report.verdict = Verdict::Refuted;
        report.counterexample = random.counterexample;
        break;
      case RandomStatus::Unknown:
        report.verdict = Verdict::Unknown;
        report.detail += (report.detail.empty() ? "" : "; ") + std::string("random: ") + random.reason;
        break;
    }
  }

  if (report.verdict == Verdict::Proved || report.verdict == Verdict::Tested) {
    random_options.seconds = time_left();
    NumericsVerdict numerics = judge_numerics(rule, ops, random_options);
    if (numerics.numerics != Numerics::Unknown) report.numerics = numerics_name(numerics.numerics);
    report.r_ratio = numerics.r_ratio;
    if (!numerics.detail.empty()) report.detail += (report.detail.empty() ? "" : "; ") + numerics.detail;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace twin::verify
