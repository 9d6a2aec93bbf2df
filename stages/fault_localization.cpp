// Stage 3: change-point detection over the components in execution order, and root-cause
// classes by the skill's R bands.
//
// A component *fails* when its isolated R-ratio is at least tau_R. Its pattern is a *step*
// when, in the full runs, the R-ratio of every later component's output stays at least
// tau_R (the error reaches everything downstream: a functional bug), a *spike* otherwise
// (an alignment artifact or an error that washes out). The primary suspect is the earliest
// step; suspects are ranked steps first (earliest first), then spikes by R.
#include "stages/stages.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace twin::stages {
namespace {
using json = nlohmann::ordered_json;
}

std::string root_cause_for(double r, double tau_r) {
  if (std::isnan(r)) return "unknown (no R-ratio)";
  if (r < 1.0) return "over-precision (an extra .float() the reference does not have)";
  if (r < tau_r) return "none (within tolerance)";
  if (r < 3) return "precision ordering or a missing multiplier";
  if (r < 10) return "likely porting bug: missing multiplier or precision ordering";
  if (r < 100) return "missing algorithm or wrong formula";
  return "completely wrong computation (missing algorithm or wrong formula)";
}

Stage3 localize_faults(const Stage2& stage2, const check::DivergenceReport& matches, const StageOptions& options) {
  Stage3 out;
  const auto& comps = stage2.components;
  std::vector<Suspect> steps, spikes;
  for (std::size_t k = 0; k < comps.size(); ++k) {
    const auto& r = comps[k];
    if (std::isnan(r.r_ratio) || r.r_ratio < options.tau_r) continue;
    bool step = true;
    for (std::size_t j = k; j < comps.size(); ++j)
      if (!(comps[j].r_ratio_propagated >= options.tau_r)) step = false;
    Suspect s;
    s.component = r.component->name;
    s.modules = r.component->target_modules;
    for (const auto& m : r.component->source_modules)
      if (std::find(s.modules.begin(), s.modules.end(), m) == s.modules.end()) s.modules.push_back(m);
    s.r_ratio = r.r_ratio;
    s.pattern = step ? "step" : "spike";
    s.root_cause = root_cause_for(r.r_ratio, options.tau_r);
    std::ostringstream d;
    d << "R = " << r.r_ratio << " in isolation (inputs from the reference run), "
      << (step ? "and every later component's output stays above tau_R in the full run: the error propagates"
               : "but later components' outputs return below tau_R in the full run");
    s.description = d.str();
    for (const auto* div : matches.first_per_module()) {
      bool here = false;
      for (const auto& m : r.component->target_modules) here = here || in_subtree(div->module, m);
      if (!here) continue;
      std::ostringstream e;
      e << "twin check: " << div->node << " (" << div->op << ") in " << div->module << " diverges";
      if (!div->closest_reference.empty()) e << "; closest reference " << div->closest_reference << " in " << div->closest_reference_module;
      for (const auto& diff : div->differences) e << "; reads " << diff;
      s.check_evidence = e.str();
      break;
    }
    (step ? steps : spikes).push_back(std::move(s));
  }
  std::stable_sort(spikes.begin(), spikes.end(), [](const Suspect& a, const Suspect& b) { return a.r_ratio > b.r_ratio; });
  if (!steps.empty()) out.primary = steps.front();
  else if (!spikes.empty()) out.primary = spikes.front();
  out.suspects = steps;
  out.suspects.insert(out.suspects.end(), spikes.begin(), spikes.end());
  return out;
}

std::string stage3_json(const Stage3& s) {
  auto suspect = [](const Suspect& x) {
    json j;
    j["component"] = x.component;
    j["modules"] = x.modules;
    j["r_ratio"] = std::isfinite(x.r_ratio) ? json(x.r_ratio) : json(1e300);
    j["pattern"] = x.pattern;
    j["root_cause"] = x.root_cause;
    j["description"] = x.description;
    if (!x.check_evidence.empty()) j["check_evidence"] = x.check_evidence;
    return j;
  };
  json out;
  out["primary"] = s.primary ? suspect(*s.primary) : json(nullptr);
  json list = json::array();
  for (const auto& x : s.suspects) list.push_back(suspect(x));
  out["suspects"] = list;
  return out.dump(2) + "\n";
}

}  // namespace twin::stages
