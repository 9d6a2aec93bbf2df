// The Z3 check's policy: from a rule to a verdict (verify/z3_checker.h states the contract).
//
// The rooms it draws on: the rule's reading and the walk of its sides (z3_rule_walk.h), the
// guard (z3_guard.h), the shape-instance search (z3_instances.h), the check of one instance
// (z3_instance_check.h) with its counterexamples (z3_counterexample.h), and the isolation of
// the whole check in a child process (isolated_call.h, with z3_verdict_json.h carrying the
// verdict back). The policy: an op without an encoding makes the rule NotEncodable before any
// solving; the first refuted instance refutes the rule; every instance unsat or vacuous, and
// at least one unsat, proves it (vacuous on all: unknown); anything else is Unknown.
#include "verify/z3_checker.h"

#include "verify/isolated_call.h"
#include "verify/z3_instance_check.h"
#include "verify/z3_instances.h"
#include "verify/z3_rule_walk.h"
#include "verify/z3_verdict_json.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

namespace twin::verify {

namespace eg = twin::egraph;

const char* z3_status_name(Z3Status status) {
  switch (status) {
    case Z3Status::Proved: return "proved";
    case Z3Status::Refuted: return "refuted";
    case Z3Status::Unknown: return "unknown";
    case Z3Status::NotEncodable: return "not encodable";
  }
  return "?";
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Z3Verdict check_rule_z3_here(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Options& options) {
  auto start = std::chrono::steady_clock::now();
  Z3Verdict verdict;
  auto finish = [&](Z3Status status, std::string reason) {
    verdict.status = status;
    if (verdict.reason.empty()) verdict.reason = std::move(reason);
    verdict.seconds = seconds_since(start);
    return verdict;
  };
  RuleInfo info;
  try {
    info = analyze(rule, ops);
  } catch (const std::exception& e) {
    return finish(Z3Status::NotEncodable, e.what());
  }
  if (!info.not_encodable.empty()) {
    verdict.not_encodable.assign(info.not_encodable.begin(), info.not_encodable.end());
    std::string names;
    for (const auto& n : verdict.not_encodable) names += (names.empty() ? "" : ", ") + n;
    return finish(Z3Status::NotEncodable, "no Z3 encoding for: " + names);
  }
  std::vector<Z3Instance> instances;
  std::string last_error;  // the search's, when it finds nothing
  try {
    if (!options.instances_given.empty()) {
      // The caller's search (find_instances), done once for Z3 and random testing: its first
      // `instances` instances, with their variants.
      int bases = 0;
      for (const auto& inst : options.instances_given) {
        if (!inst.variant && ++bases > std::max(1, options.instances)) break;
        instances.push_back(inst);
      }
    } else {
      instances = search_instances(rule, ops, options, info, &last_error);
    }
  } catch (const std::exception& e) {
    return finish(Z3Status::Unknown, std::string("instance search failed: ") + e.what());
  }
  if (instances.empty()) {
    if (last_error.find("no Z3 encoding") != std::string::npos) {
      verdict.not_encodable.push_back(last_error);
      return finish(Z3Status::NotEncodable, last_error);
    }
    return finish(Z3Status::Unknown, "no shape instantiation satisfies the guard and the ops' typing" +
                                         (last_error.empty() ? std::string() : " (last error: " + last_error + ")"));
  }
  std::set<std::string> ufs;
  bool all_proved = true, any_nonvacuous = false;
  std::string unknown_reason;
  for (const auto& inst : instances) {
    auto t0 = std::chrono::steady_clock::now();
    InstanceOutcome o;
    try {
      o = check_instance(rule, ops, inst, options, ufs);
    } catch (const NotEncodable& e) {
      verdict.not_encodable.push_back(e.op());
      verdict.seconds = seconds_since(start);
      return finish(Z3Status::NotEncodable, e.what());
    } catch (const z3::exception& e) {
      o.result = "unknown";
      o.reason = std::string("Z3 error: ") + e.msg();
    } catch (const std::exception& e) {
      o.result = "unknown";
      o.reason = e.what();
    }
    verdict.instances.push_back(Z3InstanceResult{inst, o.result, seconds_since(t0)});
    verdict.uninterpreted.assign(ufs.begin(), ufs.end());
    if (o.result == "sat") {
      verdict.counterexample = o.cex;
      verdict.numeric_confirmation = o.numeric;
      return finish(Z3Status::Refuted, o.reason.empty() ? "the two sides differ" : o.reason);
    }
    if (o.result == "unsat") any_nonvacuous = true;
    if (o.result != "unsat" && o.result != "vacuous") {
      all_proved = false;
      if (unknown_reason.empty()) unknown_reason = "on " + inst.to_string() + ": " + o.reason;
    }
  }
  if (!all_proved) return finish(Z3Status::Unknown, unknown_reason);
  // A guard that admits no input on any instance proves nothing: such a rule never fires where
  // Z3 reads the guard as the e-graph does, and where they differ the rule was never checked.
  if (!any_nonvacuous) return finish(Z3Status::Unknown, "vacuous: the guard admits no input on any instance tried");
  return finish(Z3Status::Proved, "unsat on every instance");
}

}  // namespace

Z3Verdict check_rule_z3(const eg::Rewrite& rule, const eg::OpTable& ops, const Z3Options& options) {
  if (!(options.wall_seconds > 0)) return check_rule_z3_here(rule, ops, options);
  IsolatedResult r = run_isolated([&] { return verdict_to_text(check_rule_z3_here(rule, ops, options)); },
                                  options.wall_seconds);
  if (r.status == IsolatedResult::Status::Unavailable) return check_rule_z3_here(rule, ops, options);
  Z3Verdict verdict;
  if (r.status == IsolatedResult::Status::Done) {
    try {
      return verdict_from_text(r.output);
    } catch (const std::exception& e) {
      r.why = std::string("unreadable verdict from the child process: ") + e.what();
    }
  }
  // No verdict: Unknown, never Proved.
  verdict.status = Z3Status::Unknown;
  verdict.seconds = r.seconds;
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g", options.wall_seconds);
  verdict.reason = r.status == IsolatedResult::Status::TimedOut
                       ? std::string("Z3 gave no answer within the limit of ") + limit +
                             " s per rule (stopped; its nonlinear arithmetic does not always honour its timeout)"
                       : "the Z3 check failed: " + r.why;
  return verdict;
}

}  // namespace twin::verify
