// Rendering a check's answer (check_result.h) for a terminal and as JSON.
#include "check/check_result.h"

#include "util/readable_number.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace twin::check {

std::string IndexDomainAssumption::describe() const {
  return "every element of input " + input + " is in [0, " + std::to_string(bound) +
         "), where both graphs are defined (they read it as indices)";
}

const char* check_verdict_name(CheckVerdict verdict) {
  switch (verdict) {
    case CheckVerdict::Equivalent: return "equivalent";
    case CheckVerdict::EquivalentReal: return "equivalent_real";
    case CheckVerdict::NotEquivalent: return "not_equivalent";
    case CheckVerdict::Unproven: return "unproven";
  }
  return "unproven";
}

namespace {

std::string module_name(const std::string& module) { return module.empty() ? "<model>" : module; }

// "mul_4 (mul) in layers.0.mlp at port.py:57"
std::string node_place(const std::string& node, const std::string& op, const std::string& module,
                       const std::string& source) {
  return node + " (" + op + ") in " + module_name(module) + (source.empty() ? "" : " at " + source);
}

}  // namespace

std::string CheckResult::reason() const {
  if (verdict == CheckVerdict::Equivalent || verdict == CheckVerdict::EquivalentReal) return "";
  if (alarm) return "soundness alarm: " + alarm->message;
  std::string out;
  for (const auto& n : not_run) {
    out += (out.empty() ? "" : "; ") + std::string("the ") + n.graph + " graph (" + n.file + ") cannot run: " + n.reason;
    for (std::size_t k = 0; k < n.ops.size(); ++k) out += (k ? "; " : ": ") + n.ops[k].describe();
  }
  if (!not_run.empty()) out += "; so the graphs were not run, and only a proof could decide";
  if (verdict == CheckVerdict::NotEquivalent) {
    if (numerics && !numerics->outputs_agree) {
      auto first = numerics->first_per_module();
      if (!first.empty())
        return "the port diverges from the reference at " +
               node_place(first.front()->node, first.front()->op, first.front()->module, first.front()->source) +
               (first.size() > 1 ? " (and " + std::to_string(first.size() - 1) + " more modules)" : "");
      return "the port's outputs differ from the reference's";
    }
    if (!findings.empty())
      return "a synthesized rule was refuted: the port computes another function than the reference at " +
             findings.front().node + " in " + module_name(findings.front().module);
    return out;
  }
  // Unproven.
  if (!unmatched.empty()) {
    const auto& u = unmatched.front();
    out += (out.empty() ? "" : "; ") + std::string("no rule connects ") + std::to_string(unmatched.size()) +
           " port piece" + (unmatched.size() == 1 ? "" : "s") + " to the reference, the first " +
           node_place(u.node, u.op, u.module, u.source);
  }
  if (out.empty()) out = "the rules do not connect the outputs";
  if (!stats.stop_reason.empty() && stats.stop_reason != "saturated") out += " (saturation stopped: " + stats.stop_reason + ")";
  return out;
}

std::string CheckResult::to_text(const ReportOptions& options) const {
  std::ostringstream out;
  switch (verdict) {
    case CheckVerdict::Equivalent: out << "equivalent"; break;
    case CheckVerdict::EquivalentReal: out << "equivalent in real arithmetic"; break;
    case CheckVerdict::NotEquivalent: out << "not equivalent"; break;
    case CheckVerdict::Unproven: out << "unproven"; break;
  }
  out << "\n";
  for (const auto& f : fixed_inputs) out << "assuming " << f.describe() << "\n";
  for (const auto& d : index_domains) out << "assuming " << d.describe() << "\n";
  for (const auto& r : reshaped) out << "reshaped: " << r << "\n";
  if (!unpaired_outputs.empty()) {
    out << "not compared: the port's output" << (unpaired_outputs.size() > 1 ? "s" : "");
    for (std::size_t k = 0; k < unpaired_outputs.size(); ++k) out << (k ? ", " : " ") << unpaired_outputs[k];
    out << " (the reference returns " << outputs_proved.size() << " output" << (outputs_proved.size() == 1 ? "" : "s")
        << ", paired with the port's first)\n";
  }
  if (std::string why = reason(); !why.empty()) out << "reason: " << why << "\n";
  if (alarm) {
    out << "SOUNDNESS ALARM: " << alarm->message << "\n  rules of the proof:";
    for (const auto& r : alarm->rules) out << " " << r;
    out << "\n";
    if (numerics)
      for (const auto& o : numerics->outputs)
        if (!o.agree) {
          char line[256];
          std::snprintf(line, sizeof line, "  output %s against %s: max abs %.3g, rel %.3g\n", o.port.c_str(),
                        o.reference.c_str(), o.max_abs_error, o.rel_error);
          out << line;
        }
  }
  if (verdict == CheckVerdict::Equivalent || verdict == CheckVerdict::EquivalentReal) {
    out << "proof: " << rules_used.size() << " rules\n";
    for (const auto& u : rules_used) {
      out << "  " << u.rule << " x" << u.steps << (u.changes_precision ? "  (changes precision)" : "") << "  in ";
      for (std::size_t i = 0; i < u.modules.size() && i < 4; ++i) out << (i ? ", " : "") << (u.modules[i].empty() ? "<model>" : u.modules[i]);
      if (u.modules.size() > 4) out << ", ... (" << u.modules.size() << " modules)";
      out << "\n";
    }
    if (!synthesized.empty()) {
      std::size_t used = 0;
      for (const auto& u : rules_used)
        if (u.rule.rfind("synthesized.", 0) == 0) ++used;
      out << "synthesis: " << synthesized.size() << " rules made, " << used << " in the proof\n";
    }
    if (random_tested_rules > 0)
      out << "strength: " << random_tested_rules << " of the proof's rules were random-tested, not proved\n";
    if (!precision_differences.empty()) {
      out << "precision differences (the two agree in real arithmetic, not in floating point):\n";
      for (const auto& p : precision_differences) out << "  " << p.module << ": " << p.rule << "  " << p.term << "\n";
    }
  }
  if (verdict == CheckVerdict::Unproven && !findings.empty())
    out << "suspects (a synthesized rule for these pairings was refuted; at the capture's low precision a pairing may "
           "be rounding, so they decide nothing):\n";
  if (verdict == CheckVerdict::NotEquivalent && !findings.empty() && !alarm)
    out << "the values agree on the example inputs, but these port terms compute other functions than the "
           "reference's (synthesized rules refuted):\n";
  if ((verdict == CheckVerdict::NotEquivalent && !alarm) || verdict == CheckVerdict::Unproven) {
    for (const auto& f : findings) {
      out << "  " << (f.module.empty() ? "<model>" : f.module) << "  " << f.node << "\n      port:      " << f.port_term
          << "\n      reference: " << f.reference_term << "\n";
      std::istringstream lines(f.counterexample);
      std::string line;
      for (int i = 0; std::getline(lines, line) && i < 8; ++i) out << "      " << line << "\n";
    }
  }
  if (verdict == CheckVerdict::NotEquivalent && numerics && !numerics->outputs_agree) {
    out << "first divergences (port nodes whose inputs match the reference but whose values do not):\n";
    for (const Divergence* d : numerics->first_per_module()) {
      char line[512];
      std::snprintf(line, sizeof line, "  %s  %s (%s)%s%s  max abs %.3g, rel %.3g, R-ratio %.3g",
                    module_name(d->module).c_str(), d->node.c_str(), d->op.c_str(), d->source.empty() ? "" : " at ",
                    d->source.c_str(), d->max_abs_error, d->rel_error, d->r_ratio);
      out << line;
      if (d->masked_mismatches > 0)
        out << ", " << d->masked_mismatches << " positions masked (infinite or a fill value) on one side only";
      out << "\n";
      if (!d->input_reference_modules.empty()) {
        out << "    its inputs match the reference's values in";
        for (std::size_t k = 0; k < d->input_reference_modules.size(); ++k)
          out << (k ? ", " : " ") << module_name(d->input_reference_modules[k]);
        out << "\n";
      }
      if (d->closest_is_counterpart)
        out << "    compared with its counterpart: " << d->closest_reference << " in "
            << module_name(d->closest_reference_module) << " (the reference's " << d->op
            << " of the values its inputs match)\n";
      else if (!d->closest_reference.empty())
        out << "    closest reference value: " << d->closest_reference << " in "
            << module_name(d->closest_reference_module) << "\n";
      for (const auto& diff : d->differences) out << "    reads " << diff << " (reference " << d->counterpart << ")\n";
    }
    out << "outputs, as torch.testing.assert_close compares them (port against the fp32 reference):\n";
    for (std::size_t k = 0; k < numerics->outputs.size(); ++k) {
      const auto& o = numerics->outputs[k];
      out << "  output " << k << " (" << o.port << " against " << o.reference << "): ";
      if (o.close) out << o.close->to_text() << "\n";
      else out << "not comparable (missing, or a different number of elements)\n";
    }
  }
  if (verdict == CheckVerdict::Unproven) {
    out << (numerics ? "the outputs agree numerically, but the rules do not connect them\n"
                     : "the rules do not connect the outputs (the graphs were not run)\n");
    for (const auto& n : not_run) {
      out << "the " << n.graph << " graph (" << n.file << ") cannot run: " << n.reason << "\n";
      for (const auto& o : n.ops) out << "  " << o.describe() << "\n";
    }
    out << "smallest unmatched port pieces:\n";
    for (const auto& u : unmatched) {
      out << "  " << (u.module.empty() ? "<model>" : u.module) << "  " << u.node << " (" << u.op << ") " << u.type
          << (u.source.empty() ? "" : " at " + u.source);
      if (!u.reference.empty())
        out << "  matches reference " << u.reference << " (" << (u.reference_module.empty() ? "<model>" : u.reference_module)
            << (u.numeric_match == "matched" ? "" : ", " + u.numeric_match) << ")";
      out << "\n      " << u.term << "\n";
      if (options.explain_gaps && !u.nearly_matched.empty()) {
        out << "      nearly matched here (pattern matched, guard refused):";
        for (std::size_t i = 0; i < u.nearly_matched.size(); ++i) out << (i ? ", " : " ") << u.nearly_matched[i];
        out << "\n";
      }
    }
  }
  // Shown for every verdict: after an "equivalent" whose proof needed synthesized rules, the
  // rules that nearly matched are why the given ones did not suffice.
  if (options.explain_gaps) {
    // Rules whose pattern matched but whose guard refused every match: the likeliest reason a
    // rule meant for a gap did not close it.
    std::vector<const RuleActivity*> near, active;
    std::size_t idle = 0;
    for (const auto& a : rule_activity) {
      if (a.applications == 0 && a.matches == 0 && a.guard_failures > 0) near.push_back(&a);
      else if (a.matches > 0) active.push_back(&a);
      else ++idle;
    }
    out << "gap diagnosis (--explain-gaps):\n";
    if (near.empty()) {
      out << "  no rule nearly matched (no rule's pattern matched only to be refused by its guard)\n";
    } else {
      out << "  rules that nearly matched: the pattern matched, the guard failed every time\n";
      for (const auto* a : near)
        out << "    " << a->rule << ": " << a->guard_failures << " matches refused by the guard `" << a->guard << "`\n";
    }
    std::sort(active.begin(), active.end(), [](const RuleActivity* a, const RuleActivity* b) {
      return a->applications != b->applications ? a->applications > b->applications : a->rule < b->rule;
    });
    out << "  per-rule counts (matches / applications that changed the e-graph / refused by the guard):\n";
    for (const auto* a : active)
      out << "    " << a->rule << "  " << a->matches << " / " << a->applications << " / " << a->guard_failures << "\n";
    out << "  " << idle << " other rules never matched\n";
  }
  if (!rejected_rules.empty()) {
    out << rejected_rules.size() << " rules not used (not verified):";
    for (std::size_t i = 0; i < rejected_rules.size() && i < 8; ++i)
      out << " " << rejected_rules[i].name << " (" << verify::verdict_name(rejected_rules[i].report.verdict) << ")";
    out << "\n";
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "%zu e-nodes, %zu iterations, %.2fs (rules %.2fs, saturation %.2fs, proof minimization %.2fs), peak %.0f MiB\n",
                stats.enodes, stats.iterations, stats.seconds, stats.rules_seconds, stats.saturation_seconds,
                stats.minimization_seconds, stats.peak_rss_mib);
  out << line;
  return options.exact_constants ? out.str() : readable_numbers_in(out.str());
}

std::string CheckResult::to_json(const ReportOptions& options) const {
  using nlohmann::json;
  json out;
  out["verdict"] = check_verdict_name(verdict);
  if (std::string why = reason(); !why.empty()) out["reason"] = why;
  else out["reason"] = nullptr;
  out["outputs_proved"] = outputs_proved;
  json fixed = json::array();
  for (const auto& f : fixed_inputs)
    fixed.push_back({{"input", f.name}, {"value", f.value}, {"reference_node", f.reference_node},
                     {"reference_module", f.reference_module}, {"description", f.describe()}});
  out["fixed_inputs"] = fixed;
  json domains = json::array();
  for (const auto& d : index_domains)
    domains.push_back({{"input", d.input}, {"bound", d.bound}, {"description", d.describe()}});
  out["index_domains"] = domains;
  out["unpaired_port_outputs"] = unpaired_outputs;
  out["reshaped_port_values"] = reshaped;
  json used = json::array();
  std::vector<std::string> names;
  for (const auto& u : rules_used) {
    names.push_back(u.rule);
    used.push_back({{"rule", u.rule}, {"steps", u.steps}, {"modules", u.modules}, {"changes_precision", u.changes_precision}});
  }
  out["rules_used"] = names;
  out["proof"] = used;
  json precision = json::array();
  for (const auto& p : precision_differences)
    precision.push_back({{"module", p.module}, {"rule", p.rule}, {"numerics", p.numerics}, {"term", p.term}});
  out["precision_differences"] = precision;
  json divergences = json::array();
  if (verdict == CheckVerdict::NotEquivalent && numerics) {
    for (const auto& d : numerics->divergences) {
      auto num = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
      divergences.push_back({{"module", d.module}, {"node", d.node}, {"op", d.op}, {"aten_op", d.aten_op},
                             {"type", d.type}, {"first_in_module", d.first_in_module},
                             {"closest_reference", d.closest_reference}, {"closest_is_counterpart", d.closest_is_counterpart},
                             {"max_abs_error", num(d.max_abs_error)},
                             {"masked_mismatches", d.masked_mismatches},
                             {"rel_error", num(d.rel_error)}, {"r_ratio", num(d.r_ratio)},
                             {"counterpart", d.counterpart}, {"differences", d.differences},
                             {"source", d.source}, {"closest_reference_module", d.closest_reference_module},
                             {"input_reference_modules", d.input_reference_modules}});
    }
  }
  for (const auto& f : verdict == CheckVerdict::NotEquivalent ? findings : std::vector<SynthesisFinding>{})
    divergences.push_back({{"module", f.module}, {"node", f.node}, {"op", ""}, {"first_in_module", true},
                           {"finding", true}, {"port_term", f.port_term}, {"reference_term", f.reference_term},
                           {"counterexample", f.counterexample}});
  out["divergences"] = divergences;
  json synthesized_json = json::array();
  for (const auto& r : synthesized)
    synthesized_json.push_back({{"rule", r.name}, {"verdict", verify::verdict_name(r.report.verdict)},
                                {"method", r.report.method}, {"trials", r.report.trials}, {"numerics", r.report.numerics},
                                {"node", r.node}, {"module", r.module}});
  out["synthesized_rules"] = synthesized_json;
  out["random_tested_rules"] = random_tested_rules;
  json unmatched_json = json::array();
  for (const auto& u : unmatched)
    unmatched_json.push_back({{"module", u.module}, {"node", u.node}, {"op", u.op}, {"type", u.type}, {"term", u.term},
                              {"matches_reference", u.reference}, {"reference_module", u.reference_module}, {"source", u.source},
                              {"match", u.numeric_match}, {"nearly_matched", u.nearly_matched}});
  out["unmatched"] = unmatched_json;
  if (!not_run.empty()) {
    json list = json::array();
    for (const auto& n : not_run) {
      json ops = json::array();
      for (const auto& o : n.ops) ops.push_back({{"op", o.op}, {"count", o.count}, {"modules", o.modules}, {"reason", o.reason}});
      list.push_back({{"graph", n.graph}, {"file", n.file}, {"reason", n.reason}, {"ops", ops}});
    }
    out["not_run"] = list;
  }
  if (numerics) {
    json outputs = json::array();
    for (const auto& o : numerics->outputs) {
      json entry = {{"port", o.port}, {"reference", o.reference}, {"agree", o.agree}};
      if (o.close) {
        auto num = [](double x) { return std::isfinite(x) ? json(x) : json(nullptr); };
        entry["assert_close"] = {{"elements", o.close->elements}, {"mismatched", o.close->mismatched},
                                 {"rtol", o.close->rtol}, {"atol", o.close->atol},
                                 {"max_abs", num(o.close->max_abs)}, {"max_abs_index", o.close->max_abs_index},
                                 {"max_rel", num(o.close->max_rel)}, {"max_rel_index", o.close->max_rel_index}};
      }
      outputs.push_back(entry);
    }
    out["numerics"] = {{"outputs_agree", numerics->outputs_agree}, {"outputs", outputs}};
  }
  json relations_json = json::array();
  for (const auto& r : relations)
    relations_json.push_back({{"port", r.port}, {"kind", relation_kind_name(r.kind)}, {"relation", describe(r)}});
  out["relations"] = relations_json;
  out["declared_relations"] = declared;
  json rejected = json::array();
  for (const auto& r : rejected_rules)
    rejected.push_back({{"rule", r.name}, {"verdict", verify::verdict_name(r.report.verdict)}, {"detail", r.report.detail}});
  out["rules_rejected"] = rejected;
  if (options.explain_gaps) {
    json activity = json::array();
    for (const auto& a : rule_activity)
      activity.push_back({{"rule", a.rule}, {"matches", a.matches}, {"applications", a.applications},
                          {"guard_failures", a.guard_failures}, {"guard", a.guard}});
    out["rule_activity"] = activity;
  }
  if (alarm) out["soundness_alarm"] = {{"rules", alarm->rules}, {"message", alarm->message}};
  out["stats"] = {{"seconds", stats.seconds},
                  {"rules_seconds", stats.rules_seconds},
                  {"lowering_seconds", stats.lowering_seconds},
                  {"saturation_seconds", stats.saturation_seconds},
                  {"numerics_seconds", stats.numerics_seconds},
                  {"enodes", stats.enodes},
                  {"eclasses", stats.eclasses},
                  {"iterations", stats.iterations},
                  {"constant_value_unions", stats.value_unions},
                  {"rules_admitted", stats.rules_admitted},
                  {"reference_nodes", stats.reference_nodes},
                  {"port_nodes", stats.port_nodes},
                  {"peak_rss_mib", stats.peak_rss_mib},
                  {"stop_reason", stats.stop_reason},
                  {"minimization_seconds", stats.minimization_seconds},
                  {"minimization_drops", stats.minimization_drops},
                  {"synthesis_seconds", stats.synthesis_seconds},
                  {"synthesis_candidates", stats.synthesis_candidates},
                  {"synthesis_fingerprint_candidates", stats.synthesis_fingerprint_candidates},
                  {"synthesis_stopped", stats.synthesis_stopped}};
  return out.dump(2);
}

}  // namespace twin::check
