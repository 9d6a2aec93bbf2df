// Constraint-aware random testing of a rewrite rule, in real arithmetic (float64): the
// policy of test_rule_random (verify/random_tester.h states the contract; docs/verification.md,
// "Random testing", the definitions). judge_numerics lives in numerics.cpp.
//
// The rooms it draws on: what is drawn (random_inputs.h), how sides are evaluated and compared
// (random_evaluation.h), and how a failure is shrunk and printed (random_counterexample.h).
// The policy:
//   - `trials` draws spread over the instances (an instance that does not evaluate, or whose
//     constraints cannot be met, is left with an error); a draw on which no lhs element is
//     finite is skipped (RandomVerdict::skipped);
//   - then, for one-variable elementwise rules, every finite bf16 value in one sweep (in f64);
//   - the first failure refutes, shrunk; past the time budget nothing more is drawn, and a
//     rule not refuted by then is Unknown, never Passed; no compared draw at all is Unknown.
#include "verify/random_tester.h"

#include "verify/random_counterexample.h"
#include "verify/random_evaluation.h"
#include "verify/random_inputs.h"
#include "verify/z3_rule_walk.h"

#include <algorithm>
#include <chrono>
#include <optional>

namespace twin::verify {

namespace eg = twin::egraph;
using namespace random_testing;

const char* random_status_name(RandomStatus status) {
  switch (status) {
    case RandomStatus::Passed: return "passed";
    case RandomStatus::Refuted: return "refuted";
    case RandomStatus::Unknown: return "unknown";
  }
  return "unknown";
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What the draws found.
struct Draws {
  std::optional<Failure> failure;
  std::vector<std::string> errors;  // instances that did not evaluate, and why
  int compared_trials = 0;
  bool out_of_time = false;
};

// `options.trials` draws spread over the instances; stops at the first failure.
Draws run_draws(const Setup& setup, const std::vector<Z3Instance>& instances, const RandomOptions& options,
                Clock::time_point start, RandomVerdict& verdict) {
  Draws d;
  std::optional<Failure>& failure = d.failure;
  std::vector<std::string>& errors = d.errors;
  int& compared_trials = d.compared_trials;
  bool& out_of_time = d.out_of_time;
  int n = static_cast<int>(instances.size());
  auto over_budget = [&] { return options.seconds > 0 && seconds_since(start) > options.seconds; };
  for (int i = 0; i < n && !failure && !out_of_time; ++i) {
    const Z3Instance& inst = instances[i];
    auto infos = var_infos(setup, inst);
    int count = options.trials / n + (i < options.trials % n ? 1 : 0);
    for (int t = 0; t < count; ++t) {
      if (over_budget()) {
        out_of_time = true;
        break;
      }
      std::map<std::string, std::vector<double>> values;
      try {
        values = draw_inputs(setup, inst, infos, mix_seed(options.seed, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(t)));
      } catch (const std::exception& e) {
        errors.push_back(inst.to_string() + ": " + e.what());
        break;
      }
      Trial trial = run_trial(setup, inst, infos, values, options);
      if (!trial.evaluated) {
        errors.push_back(inst.to_string() + ": " + trial.error);
        break;  // the instance does not evaluate
      }
      ++verdict.trials;
      if (trial.cmp.compared == 0 && !trial.cmp.differ) {
        ++verdict.skipped;
        continue;
      }
      ++compared_trials;
      if (fails(trial)) {
        failure = Failure{inst, infos, std::move(values), std::move(trial)};
        break;
      }
    }
  }
  return d;
}

// One-variable elementwise rules: every finite bf16 value (in f64), in one trial. A failure
// is reported on the worst value alone where that still fails.
std::optional<Failure> sweep_bf16(const Setup& setup, const Z3Instance& first, const RandomOptions& options,
                                  RandomVerdict& verdict) {
  std::optional<Failure> failure;
  const std::string& name = setup.tensor_vars[0];
  Z3Instance inst = first;
  auto infos = var_infos(setup, inst);
  VarInfo& vi = infos.at(name);
  if (ops::is_floating(vi.type.dtype) && vi.kind != DomainKind::Index) {
    std::vector<double> values = all_values(ops::DType::BF16, vi);
    VarInfo swept = vi;
    swept.type.shape = {static_cast<std::int64_t>(values.size())};
    auto sweep_infos = infos;
    sweep_infos[name] = swept;
    Z3Instance sweep_inst = inst;
    sweep_inst.tensors[name] = swept.type;
    Trial trial = run_trial(setup, sweep_inst, sweep_infos, {{name, values}}, options);
    if (trial.evaluated) {
      verdict.swept_values = static_cast<std::int64_t>(values.size());
      verdict.exhaustive = vi.type.dtype == ops::DType::BF16;  // its whole input space
      if (fails(trial)) {
        // Report the worst value as a one-element tensor.
        // (No position when the shapes differ or the rhs does not evaluate: the first value.)
        double x = values[trial.cmp.where >= 0 ? static_cast<std::size_t>(trial.cmp.where) : 0];
        VarInfo one = vi;
        one.type.shape = {1};
        auto one_infos = infos;
        one_infos[name] = one;
        Z3Instance one_inst = inst;
        one_inst.tensors[name] = one.type;
        std::map<std::string, std::vector<double>> v{{name, {x}}};
        Trial t1 = run_trial(setup, one_inst, one_infos, v, options);
        if (fails(t1)) failure = Failure{one_inst, one_infos, v, std::move(t1)};
        else failure = Failure{sweep_inst, sweep_infos, {{name, values}}, std::move(trial)};
      }
    }
  }
  return failure;
}

}  // namespace

RandomVerdict test_rule_random(const eg::Rewrite& rule, const eg::OpTable& ops, const RandomOptions& options) {
  auto start = std::chrono::steady_clock::now();
  RandomVerdict verdict;
  auto finish = [&](RandomVerdict& v) -> RandomVerdict& {
    v.seconds = seconds_since(start);
    return v;
  };
  std::vector<Z3Instance> instances = !options.instances_given.empty()
                                          ? options.instances_given
                                          : instances_for(rule, ops, std::max(1, options.instances), 5);
  if (instances.empty()) {
    verdict.reason = "no shape instance satisfies the guard and the ops' typing";
    return finish(verdict);
  }
  // Every instance types the lhs (the search keeps only those); where the rhs does not type
  // at the instance's dtypes, it is not a program PyTorch would run there: refuted before any
  // draw (the draws run in f64).
  for (const auto& inst : instances) {
    std::string rhs_error = typing_error(ops, rule.rhs, inst);
    if (rhs_error.empty()) continue;
    verdict.status = RandomStatus::Refuted;
    verdict.reason = "the rhs does not type where the lhs does";
    verdict.counterexample = "instance: " + inst.to_string() + "\n  the lhs types; the rhs does not: " + rhs_error;
    return finish(verdict);
  }
  Setup setup = make_setup(rule, ops, instances[0]);

  Draws draws = run_draws(setup, instances, options, start, verdict);
  std::optional<Failure>& failure = draws.failure;
  if (!failure && !draws.out_of_time && sweepable(setup)) failure = sweep_bf16(setup, instances[0], options, verdict);

  if (failure) {
    shrink(setup, instances, options, *failure);
    verdict.status = RandomStatus::Refuted;
    verdict.counterexample = describe(*failure, "");
    verdict.example = structured(*failure);
    verdict.reason = failure->trial.cmp.rhs_failed      ? "the rhs does not evaluate where the lhs does"
                     : failure->trial.cmp.shapes_differ ? "the sides' shapes differ"
                                                        : "the sides differ";
    return finish(verdict);
  }

  const std::vector<std::string>& errors = draws.errors;
  if (draws.out_of_time) {
    verdict.status = RandomStatus::Unknown;
    verdict.reason = "out of time after " + std::to_string(verdict.trials) + " of " + std::to_string(options.trials) +
                     " trials (no failure among them)";
    return finish(verdict);
  }
  if (draws.compared_trials == 0 && verdict.swept_values == 0) {
    verdict.status = RandomStatus::Unknown;
    if (!errors.empty()) verdict.reason = "evaluation failed: " + errors.front();
    else verdict.reason = "no draw fell inside the lhs's domain (" + std::to_string(verdict.skipped) + " skipped)";
    return finish(verdict);
  }
  verdict.status = RandomStatus::Passed;
  std::string note;
  if (verdict.skipped) note += std::to_string(verdict.skipped) + " draws outside the lhs's domain skipped";
  if (!errors.empty()) note += std::string(note.empty() ? "" : "; ") + std::to_string(errors.size()) + " instance(s) did not evaluate: " + errors.front();
  verdict.reason = note;
  return finish(verdict);
}

}  // namespace twin::verify
