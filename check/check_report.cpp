// Rendering a check's answer (check_result.h) for a terminal and as JSON.
#include "check/check_result.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>

namespace twin::check {

const char* check_verdict_name(CheckVerdict verdict) {
  switch (verdict) {
    case CheckVerdict::Equivalent: return "equivalent";
    case CheckVerdict::EquivalentReal: return "equivalent_real";
    case CheckVerdict::NotEquivalent: return "not_equivalent";
    case CheckVerdict::Unproven: return "unproven";
  }
  return "unproven";
}

std::string CheckResult::to_text() const {
  std::ostringstream out;
  switch (verdict) {
    case CheckVerdict::Equivalent: out << "equivalent"; break;
    case CheckVerdict::EquivalentReal: out << "equivalent in real arithmetic"; break;
    case CheckVerdict::NotEquivalent: out << "not equivalent"; break;
    case CheckVerdict::Unproven: out << "unproven"; break;
  }
  out << "\n";
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
  if (verdict == CheckVerdict::NotEquivalent && !findings.empty() && !alarm) {
    out << "the values agree on the example inputs, but these port terms compute other functions than the "
           "reference's (synthesized rules refuted):\n";
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
      std::snprintf(line, sizeof line, "  %s  %s (%s)  max abs %.3g, rel %.3g, R-ratio %.3g",
                    d->module.empty() ? "<model>" : d->module.c_str(), d->node.c_str(), d->op.c_str(), d->max_abs_error,
                    d->rel_error, d->r_ratio);
      out << line;
      if (d->masked_mismatches > 0)
        out << ", " << d->masked_mismatches << " positions masked (infinite or a fill value) on one side only";
      out << "\n";
      for (const auto& diff : d->differences) out << "    reads " << diff << " (reference " << d->counterpart << ")\n";
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
      out << "  " << (u.module.empty() ? "<model>" : u.module) << "  " << u.node << " (" << u.op << ") " << u.type;
      if (!u.reference.empty())
        out << "  matches reference " << u.reference << " (" << (u.reference_module.empty() ? "<model>" : u.reference_module)
            << (u.numeric_match == "matched" ? "" : ", " + u.numeric_match) << ")";
      out << "\n      " << u.term << "\n";
    }
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
  return out.str();
}

std::string CheckResult::to_json() const {
  using nlohmann::json;
  json out;
  out["verdict"] = check_verdict_name(verdict);
  out["outputs_proved"] = outputs_proved;
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
                             {"closest_reference", d.closest_reference}, {"max_abs_error", num(d.max_abs_error)},
                             {"masked_mismatches", d.masked_mismatches},
                             {"rel_error", num(d.rel_error)}, {"r_ratio", num(d.r_ratio)},
                             {"counterpart", d.counterpart}, {"differences", d.differences}});
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
                              {"matches_reference", u.reference}, {"reference_module", u.reference_module},
                              {"match", u.numeric_match}});
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
    for (const auto& o : numerics->outputs)
      outputs.push_back({{"port", o.port}, {"reference", o.reference}, {"agree", o.agree}});
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
                  {"synthesis_stopped", stats.synthesis_stopped}};
  return out.dump(2);
}

}  // namespace twin::check
