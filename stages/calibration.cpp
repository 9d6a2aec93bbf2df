// Calibration of the stages' thresholds from known-good pairs (stages/stages.h states the
// rule; docs/stages.md, "Calibration").
#include "stages/stages.h"

#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace twin::stages {

CalibrationPair measure_known_good(const Graph& reference, const Graph& port, const StageOptions& options) {
  CalibrationPair p;
  p.reference = reference.file();
  p.port = port.file();
  const check::DivergenceReport matches = check::localize_divergence(reference, port);
  const ComponentMapping mapping = map_components(reference, port, matches);
  const Stage2 s2 = test_components(reference, port, mapping, options);
  for (const auto& c : s2.components)
    if (std::isfinite(c.r_ratio) && c.r_ratio > p.max_component_r) {
      p.max_component_r = c.r_ratio;
      p.worst_component = c.component->name;
    }
  const TeacherForced tf = teacher_forced(reference, port, options);
  if (tf.applicable) {
    p.teacher_forced = true;
    p.r_p95 = tf.r_p95;
    p.cosine_p5 = tf.cosine_p5;
    p.kl_p95 = tf.kl_p95;
  }
  return p;
}

Calibration calibrate(std::vector<CalibrationPair> pairs) {
  if (pairs.empty()) throw Error(ErrorKind::Value, "calibration needs at least one known-good pair");
  Calibration c;
  double worst_r = 0, worst_cosine = 1, worst_kl = 0;
  for (const auto& p : pairs) {
    worst_r = std::max(worst_r, p.max_component_r);
    if (p.teacher_forced) {
      worst_r = std::max(worst_r, p.r_p95);
      worst_cosine = std::min(worst_cosine, p.cosine_p5);
      worst_kl = std::max(worst_kl, p.kl_p95);
    }
  }
  c.tau_r = std::max(1.2, 1.1 * worst_r);
  c.theta = 1 - 2 * (1 - worst_cosine);
  c.delta = std::max(1e-6, 2 * worst_kl);
  c.pairs = std::move(pairs);
  return c;
}

std::string calibration_json(const Calibration& c) {
  nlohmann::ordered_json j;
  j["tau_r"] = c.tau_r;
  j["theta"] = c.theta;
  j["delta"] = c.delta;
  j["method"] =
      "tau_r = max(1.2, 1.1 x worst good R); theta = 1 - 2 x (1 - worst good cosine p5); delta = max(1e-6, 2 x worst good KL p95)";
  nlohmann::ordered_json pairs = nlohmann::ordered_json::array();
  for (const auto& p : c.pairs) {
    nlohmann::ordered_json e{{"reference", p.reference}, {"port", p.port}, {"max_component_r", p.max_component_r},
                             {"worst_component", p.worst_component}, {"teacher_forced", p.teacher_forced}};
    if (p.teacher_forced) e["r_p95"] = p.r_p95, e["cosine_p5"] = p.cosine_p5, e["kl_p95"] = p.kl_p95;
    pairs.push_back(std::move(e));
  }
  j["pairs"] = pairs;
  return j.dump(2) + "\n";
}

}  // namespace twin::stages
