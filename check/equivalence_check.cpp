#include "check/equivalence_check.h"

#include "capture/index_bounds.h"
#include "check/declared_relations.h"
#include "check/gaps.h"
#include "check/port_inputs.h"
#include "check/proof.h"
#include "check/saturation.h"
#include "check/synthesis_stage.h"
#include "compiler/guard_queries.h"
#include "compiler/rule_compiler.h"
#include "util/error.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

namespace twin::check {

namespace eg = twin::egraph;

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool deadline_passed(const CheckOptions& options) { return options.deadline && Clock::now() >= *options.deadline; }

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// The graphs must take the same inputs (by position, same types) and give as many outputs.
void check_correspondence(const Graph& reference, const Graph& port) {
  if (reference.inputs().size() != port.inputs().size())
    throw Error(ErrorKind::Value, port.file() + ": the port takes " + std::to_string(port.inputs().size()) +
                                      " inputs, the reference " + std::to_string(reference.inputs().size()));
  if (reference.outputs().size() != port.outputs().size())
    throw Error(ErrorKind::Value, port.file() + ": the port returns " + std::to_string(port.outputs().size()) +
                                      " outputs, the reference " + std::to_string(reference.outputs().size()));
  for (std::size_t i = 0; i < reference.inputs().size(); ++i) {
    const GraphTensor& r = reference.inputs()[i];
    const GraphTensor& p = port.inputs()[i];
    if (!(r.type == p.type))
      throw Error(ErrorKind::Value, port.file() + ": input " + std::to_string(i) + " (" + p.name + ") is " +
                                        p.type.to_string() + ", the reference's (" + r.name + ") is " + r.type.to_string());
  }
}

// Why each graph cannot run, if it cannot: ops Twin cannot run (named with their counts and
// module paths), or no stored values (captured without weights).
std::vector<NotRun> why_not_runnable(const Graph& reference, const Graph& port) {
  std::vector<NotRun> out;
  for (const auto* g : {&reference, &port}) {
    NotRun n{g == &reference ? "reference" : "port", g->file(), "", g->opaque_summary()};
    if (!n.ops.empty()) n.reason = "it holds ops Twin cannot run";
    else
      for (const auto& t : g->parameters())
        if (!t.value) n.reason = "it was captured without weights";
    if (!n.reason.empty()) out.push_back(std::move(n));
  }
  return out;
}

// Whether both graphs carry every parameter's value and only ops Twin runs.
bool runnable(const Graph& reference, const Graph& port) { return why_not_runnable(reference, port).empty(); }

// Defence in depth: a proof is a chain of verified rules, and a rule can only have been admitted
// wrongly by a route that bypassed verification (a forged cache, a bug). When both graphs can
// run, the proof is confirmed on the example inputs; outputs that disagree beyond what
// precision explains (the matcher's tolerance: relative for f32 captures, the 3-tensor R-ratio
// at bf16) raise the alarm instead of answering "equivalent". An "equivalent in real
// arithmetic" proof moved a cast, so its outputs may differ by precision; only a disagreement
// far beyond precision (relative error above 5%) raises the alarm there.
void confirm_proof(const Graph& reference, const Graph& port, const CheckOptions& options, CheckResult& result,
                   const std::function<void(const std::string&, const std::string&)>& report) {
  // Past the deadline the caller discards this check's result (CheckOptions::deadline).
  if (!options.numerics || !runnable(reference, port) || deadline_passed(options)) return;
  report("numerics", "confirming the proof on the example inputs");
  try {
    result.numerics = localize_divergence(reference, port);
  } catch (const Error&) {
    result.numerics.reset();  // no stored inputs: nothing to confirm with
    return;
  }
  bool contradicted = false;
  for (const auto& o : result.numerics->outputs) {
    bool far = !(o.rel_error <= 0.05);  // NaN counts as far
    if (!o.agree && (result.verdict == CheckVerdict::Equivalent || far)) contradicted = true;
  }
  if (!contradicted) return;
  SoundnessAlarm alarm;
  for (const auto& use : result.rules_used) alarm.rules.push_back(use.rule);
  alarm.message = "the rules prove the graphs equal, but their outputs on the example inputs differ beyond what "
                  "precision explains: a rule of the proof is wrong (re-verify them with `twin verify --no-cache`)";
  result.alarm = std::move(alarm);
  result.verdict = CheckVerdict::NotEquivalent;
}

}  // namespace

namespace {

bool calls_query(const egraph::ScalarExpr& e, std::string_view query) {
  if (e.kind == egraph::ScalarExpr::Kind::Query && e.text == query) return true;
  return std::any_of(e.args.begin(), e.args.end(), [&](const auto& a) { return calls_query(a, query); });
}

// Whether the rule's guard reads the inputs' index domain (ops/index_domain.h).
bool reads_index_domain(const AdmittedRule& rule) {
  return std::any_of(rule.rewrites.begin(), rule.rewrites.end(),
                     [](const egraph::Rewrite& r) { return r.guard && calls_query(*r.guard, "indexes_rows_of"); });
}

// The reference's inputs with a bound in the check's index domain, named.
std::vector<IndexDomainAssumption> index_domain_assumptions(const Graph& reference,
                                                            const std::vector<std::optional<std::int64_t>>& bounds) {
  std::vector<IndexDomainAssumption> out;
  for (std::size_t i = 0; i < bounds.size() && i < reference.inputs().size(); ++i)
    if (bounds[i]) out.push_back({reference.inputs()[i].name, *bounds[i]});
  return out;
}

// Cuts every time limit to what is left before the deadline, as of now.
void cut_to_deadline(CheckOptions& options) {
  if (!options.deadline) return;
  options.verification.verify.deadline = options.deadline;
  double left = std::max(0.0, std::chrono::duration<double>(*options.deadline - Clock::now()).count());
  options.limits.time_seconds = std::min(options.limits.time_seconds, left);
  options.minimize_seconds = std::min(options.minimize_seconds, left);
}

}  // namespace

CheckResult check_equivalence(const Graph& reference, const Graph& given_port,
                              std::shared_ptr<const compiler::Declarations> declarations, const CheckOptions& given) {
  CheckResult result;
  // A port input the reference computes inside (vLLM's positions) is fixed at its example value.
  FixedPortInputs fixed = fix_extra_port_inputs(reference, given_port);
  const Graph& port = fixed.port ? *fixed.port : given_port;
  result.fixed_inputs = fixed.fixed;
  result.unpaired_outputs = fixed.unpaired_outputs;
  result.reshaped = fixed.reshaped;
  auto start = Clock::now();
  CheckOptions options = given;
  cut_to_deadline(options);
  auto report = [&](const std::string& stage, const std::string& detail) {
    if (options.progress) options.progress(CheckProgress{stage, detail, since(start)});
  };
  if (!declarations) declarations = std::make_shared<compiler::Declarations>();

  // ---- 1. rules -----------------------------------------------------------------------------
  auto ops = std::make_shared<eg::OpTable>();
  compiler::RuleCompiler compiler(declarations, ops);
  verify::VerificationOptions verification = options.verification;
  if (!verification.on_verify) verification.on_verify = [&](const std::string& rule) { report("rules", "verifying " + rule); };
  std::vector<AdmittedRule> rules = admit_rules(compiler, verification);
  std::vector<eg::Rewrite> rewrites;  // stable: the compiled programs point into it
  std::map<std::string, const AdmittedRule*> rule_by_name;
  std::set<std::string> rule_names;
  for (const auto& r : rules) {
    rule_by_name[r.name] = &r;
    rule_names.insert(r.name);
    if (!r.admitted) {
      result.rejected_rules.push_back(r);
      continue;
    }
    ++result.stats.rules_admitted;
    rewrites.insert(rewrites.end(), r.rewrites.begin(), r.rewrites.end());
  }
  std::vector<eg::CompiledRewrite> programs;
  for (const auto& rw : rewrites) programs.push_back(eg::compile_rule(rw, *ops, compiler::guard_queries()));
  result.stats.rules_rejected = result.rejected_rules.size();
  result.stats.rules_seconds = since(start);

  // ---- 2. relations -------------------------------------------------------------------------
  check_correspondence(reference, port);
  cut_to_deadline(options);  // the rules took some of the time
  report("relations", "inferring parameter relations");
  // Declared relations (`relation` in the rule files) first, the inferred ones for the rest.
  result.relations = declared_and_inferred_relations(declarations->relations, reference, port);
  SaturationInput input;
  input.reference = &reference;
  input.port = &port;
  input.ops = ops;
  input.limits = options.limits;
  input.idle_iterations = options.idle_iterations;
  input.progress = report;
  input.input_index_bounds = capture::paired_input_index_bounds(reference, port);
  for (const auto& r : result.relations) {
    if (r.declared) result.declared.push_back(r.port);
    if (r.related()) input.relation_terms[r.port] = r.term();
  }

  // ---- 3. saturation ------------------------------------------------------------------------
  std::unique_ptr<Saturation> best = saturate(input, programs, options.limits.iterations, true);
  result.stats.lowering_seconds = best->lowering_seconds;
  result.stats.saturation_seconds = best->saturation_seconds;
  result.stats.reference_nodes = best->ref_lowered.nodes.size();
  result.stats.port_nodes = best->port_lowered.nodes.size();
  cut_to_deadline(options);
  // A proof found by a saturation with `programs` keeps only the rules it needs.
  auto minimize = [&] {
    if (!best->all_equal() || options.minimize_seconds <= 0) return;
    Minimization m = minimize_proof(input, std::move(best), programs, rule_names, options.minimize_seconds);
    best = std::move(m.proof);
    result.stats.minimization_seconds += m.seconds;
    result.stats.minimization_drops += m.drops;
  };
  minimize();
  bool proved = best->all_equal();

  // ---- 5, 6. numerics, and synthesis where they agree -----------------------------------------
  SynthesizedRewrites synthesized;
  if (!proved) {
    auto numerics_start = Clock::now();
    const std::vector<NotRun> not_runnable = why_not_runnable(reference, port);
    if (options.numerics && not_runnable.empty() && !deadline_passed(options)) {
      report("numerics", "running both graphs on the example inputs");
      try {
        result.numerics = localize_divergence(reference, port);
      } catch (const Error&) {
        result.numerics.reset();  // cannot run (e.g. no stored inputs): the answer stays unproven
      }
    }
    result.stats.numerics_seconds = since(numerics_start);
    if (options.numerics) result.not_run = not_runnable;
    if (result.numerics && result.numerics->outputs_agree) {
      // The equations the values suggest, as terms: rules written for the reference's form of
      // a piece (by synthesis, earlier) meet the port there.
      input.definitions = &*result.numerics;
      report("saturating", "again, with the terms the values suggest");
      std::unique_ptr<Saturation> defined = saturate(input, programs, options.limits.iterations, true);
      result.stats.saturation_seconds += defined->saturation_seconds;
      best = std::move(defined);
      minimize();
      proved = best->all_equal();
    }
    if (!proved && result.numerics && result.numerics->outputs_agree && options.synthesis.enabled) {
      verify::CachedVerifier synthesis_verifier([&] {
        verify::VerificationOptions v = verification;
        v.verify.rule_seconds = options.synthesis.rule_seconds;
        v.on_verify = nullptr;
        return v;
      }());
      SynthesisSummary summary = synthesize(best, input, *result.numerics, programs, synthesized, compiler,
                                            synthesis_verifier, options.synthesis);
      result.synthesized = summary.rules;
      result.findings = summary.findings;
      result.stats.synthesis_seconds = summary.seconds;
      result.stats.synthesis_candidates = summary.candidates;
      result.stats.synthesis_fingerprint_candidates = summary.fingerprint_candidates;
      result.stats.synthesis_stopped = summary.stopped;
      for (const auto& r : summary.rules) rule_names.insert(r.name);
      proved = best->all_equal();
      // Not minimized: the proof's path names the synthesized rules it needs, and each trial of
      // a minimization would saturate afresh (seconds per rule, for rules that were each made
      // because nothing else closed their gap).
    }
  }
  result.outputs_proved = best->outputs_proved;
  result.stats.iterations = best->iterations;
  result.stats.stop_reason = best->stop_reason;
  for (const auto& r : best->rule_reports) {
    auto guard = best->guards.find(r.name);
    result.rule_activity.push_back({r.name, r.matches, r.applications, r.guard_failures,
                                    guard == best->guards.end() ? "" : guard->second});
  }
  result.stats.enodes = best->graph.num_nodes();
  result.stats.eclasses = best->graph.num_classes();
  result.stats.value_unions = best->values->value_unions();

  if (proved) {
    // ---- 4. proof ---------------------------------------------------------------------------
    report("proof", "summarizing");
    std::vector<AdmittedRule> synthesized_rules;  // the proof's view of them
    for (const auto& r : result.synthesized) {
      AdmittedRule a;
      a.name = r.name;
      a.report = r.report;
      a.admitted = true;
      // Judged as given rules are (a synthesized cast(?x, dtype=bf16) => ?x included).
      a.changes_precision = r.changes_precision;
      synthesized_rules.push_back(std::move(a));
    }
    for (const auto& a : synthesized_rules) rule_by_name[a.name] = &a;
    summarize_proof(*best, rule_by_name, options.full_proof, result);
    for (const auto& use : result.rules_used)
      if (auto it = rule_by_name.find(use.rule); it != rule_by_name.end() && it->second->report.verdict == verify::Verdict::Tested)
        ++result.random_tested_rules;
    for (const auto& use : result.rules_used)
      if (auto it = rule_by_name.find(use.rule); it != rule_by_name.end() && reads_index_domain(*it->second)) {
        result.index_domains = index_domain_assumptions(reference, input.input_index_bounds);
        break;
      }
    result.verdict = result.precision_differences.empty() ? CheckVerdict::Equivalent : CheckVerdict::EquivalentReal;
    if (result.numerics) {
      // Confirmed already: the numbers agreed before synthesis.
    } else {
      confirm_proof(reference, port, options, result, report);
    }
  } else if (result.numerics && !result.numerics->outputs_agree) {
    result.verdict = CheckVerdict::NotEquivalent;
  } else if (!result.findings.empty() && result.numerics && result.numerics->port_capture_dtype != ops::DType::BF16 &&
             result.numerics->port_capture_dtype != ops::DType::F16) {
    // ---- a refuted candidate: the port computes another function there ------------------------
    // Only where the pairing behind it is tight: an f32 capture's values are matched within
    // a few roundings of the f64 run. At bf16 a value can match a nearby different one (`v + eps`
    // against `v`), so a refuted rule there says the pairing was wrong, not the port: it is
    // reported as a suspect and the answer stays unproven.
    result.verdict = CheckVerdict::NotEquivalent;
  } else {
    // ---- 7. gaps ------------------------------------------------------------------------------
    result.verdict = CheckVerdict::Unproven;
    result.unmatched = find_gaps(*best, result.numerics ? &*result.numerics : nullptr);
    for (auto& piece : result.unmatched)
      if (const GraphNode* node = port.find_node(piece.node.substr(0, piece.node.find('[')))) piece.source = node->source;
  }
  result.stats.seconds = since(start);
  result.stats.peak_rss_mib = peak_rss_mib();
  return result;
}

}  // namespace twin::check
