// twin stages --ref A --port B --out DIR [--mapping FILE] [--thresholds FILE] [--tau-r X]
//
// Runs the validation stages (stages/stages.h, docs/stages.md) in order and writes the
// Equivalence skill's file organization under DIR: model_tree/, component_mapping.json,
// results/stage2.json, results/stage3.json, results/teacher_forced.json, plots/ (SVG and CSV)
// and report.md.
#include "cli/command.h"
#include "stages/plots.h"
#include "stages/stages.h"
#include "util/atomic_file.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

namespace twin::cli {
namespace {

namespace fs = std::filesystem;
using namespace twin::stages;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw Error(ErrorKind::Io, "cannot write " + path.string());
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

double parse_number(const std::string& option, const std::string& text) {
  try {
    std::size_t used = 0;
    double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v) && v > 0) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(option + " takes a positive number, not `" + text + "`");
}

// Thresholds computed by calibration: {"tau_r": .., "theta": .., "delta": ..}, any subset.
void read_thresholds(const std::string& file, StageOptions& options) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read(file));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Value, file + ": not JSON: " + e.what());
  }
  if (!j.is_object()) throw Error(ErrorKind::Value, file + ": thresholds are an object {\"tau_r\", \"theta\", \"delta\"}");
  for (auto [key, target] : {std::pair{"tau_r", &options.tau_r}, {"theta", &options.theta}, {"delta", &options.delta}})
    if (j.contains(key)) {
      if (!j[key].is_number()) throw Error(ErrorKind::Value, file + ": " + key + " is not a number");
      *target = j[key].get<double>();
    }
}

std::string fmt(double x, int precision = 3) {
  std::ostringstream o;
  o.precision(precision);
  o << x;
  return o.str();
}

std::string slug(const std::string& name) {
  std::string out;
  for (char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  return out.empty() ? "model" : out;
}

void write_chart(const fs::path& dir, const std::string& stem, const Chart& chart) {
  write(dir / (stem + ".svg"), svg(chart));
  write(dir / (stem + ".csv"), csv(chart));
}

// twin stages calibrate --pair REF PORT [--pair REF PORT]... --out FILE
int calibrate_main(const Arguments& arguments) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string out_path;
  bool quiet = false;
  for (std::size_t i = 1; i < arguments.size();) {
    const std::string& a = arguments[i];
    if (a == "--pair") {
      if (i + 2 >= arguments.size() || arguments[i + 1].starts_with("-") || arguments[i + 2].starts_with("-"))
        throw UsageError("--pair takes two files: REFERENCE PORT");
      pairs.emplace_back(arguments[i + 1], arguments[i + 2]);
      i += 3;
      continue;
    }
    if (take_option_value(arguments, i, "--out", out_path)) continue;
    if (a == "--quiet" || a == "-q") { quiet = true; ++i; continue; }
    if (!a.empty() && a[0] == '-') unknown_option(a);
    throw UsageError("unexpected argument `" + a + "`");
  }
  if (pairs.empty() || out_path.empty()) throw UsageError("calibrate needs at least one --pair REF PORT and --out FILE");
  TerminalProgress terminal(!quiet && isatty(STDERR_FILENO));
  const auto started = std::chrono::steady_clock::now();
  StageOptions options;
  options.progress = [&](const std::string& text) {
    terminal.progress(text, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  };
  std::vector<CalibrationPair> measured;
  for (const auto& [ref, port] : pairs) {
    measured.push_back(measure_known_good(Graph::load(ref), Graph::load(port), options));
    terminal.clear();
    const auto& m = measured.back();
    if (!quiet)
      std::cout << ref << " / " << port << ": worst component R " << fmt(m.max_component_r) << " (" << m.worst_component
                << ")"
                << (m.teacher_forced ? ", end to end R p95 " + fmt(m.r_p95) + ", cosine p5 " + fmt(m.cosine_p5, 6) +
                                           ", KL p95 " + fmt(m.kl_p95)
                                     : std::string(", end to end not applicable"))
                << "\n";
  }
  const Calibration c = calibrate(std::move(measured));
  replace_file_atomically(out_path, calibration_json(c));
  if (!quiet)
    std::cout << "thresholds: tau_r " << fmt(c.tau_r) << ", theta " << fmt(c.theta, 6) << ", delta " << fmt(c.delta)
              << " -> " << out_path << " (read it with twin stages --thresholds)\n";
  return 0;
}

int stages_main(const Arguments& arguments) {
  if (!arguments.empty() && arguments[0] == "calibrate") return calibrate_main(arguments);
  std::string reference_path, port_path, out_dir, mapping_path, thresholds_path;
  StageOptions options;
  int prompt_length = 1;
  bool quiet = false;
  for (std::size_t i = 0; i < arguments.size();) {
    const std::string& a = arguments[i];
    std::string v;
    if (take_option_value(arguments, i, "--ref", reference_path) || take_option_value(arguments, i, "--port", port_path) ||
        take_option_value(arguments, i, "--out", out_dir) || take_option_value(arguments, i, "--mapping", mapping_path) ||
        take_option_value(arguments, i, "--thresholds", thresholds_path))
      continue;
    if (take_option_value(arguments, i, "--tau-r", v)) { options.tau_r = parse_number("--tau-r", v); continue; }
    if (take_option_value(arguments, i, "--prompt-length", v)) { prompt_length = int(parse_number("--prompt-length", v)); continue; }
    if (a == "--quiet" || a == "-q") { quiet = true; ++i; continue; }
    if (!a.empty() && a[0] == '-') unknown_option(a);
    throw UsageError("unexpected argument `" + a + "`");
  }
  if (reference_path.empty() || port_path.empty() || out_dir.empty()) throw UsageError("--ref, --port and --out are required");
  if (!thresholds_path.empty()) read_thresholds(thresholds_path, options);

  TerminalProgress terminal(!quiet && isatty(STDERR_FILENO));
  const auto started = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  options.progress = [&](const std::string& text) { terminal.progress(text, seconds()); };
  auto say = [&](const std::string& line) {
    terminal.clear();
    if (!quiet) std::cout << line << std::endl;
  };

  const Graph reference = Graph::load(reference_path);
  const Graph port = Graph::load(port_path);
  const fs::path out(out_dir);
  fs::create_directories(out / "results");
  fs::create_directories(out / "plots");

  // Stage 0.
  options.progress("stage 0: model trees");
  for (auto [graph, role] : {std::pair{&reference, "source"}, {&port, "target"}}) {
    const fs::path dir = out / "model_tree";
    const std::string stem = std::string("model_tree_") + role;
    write(dir / (stem + ".json"), tree_json(*graph, true));
    write(dir / (stem + "_full.json"), tree_json(*graph, false));
    write(dir / (stem + "_pretty.txt"), graph->module_tree());
    write(dir / (stem + "_flat_paths.txt"), flat_paths(*graph));
  }
  const auto diff = structural_diff(reference, port);
  {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& d : diff)
      j.push_back({{"kind", d.kind}, {"side", d.side}, {"module", d.module}, {"expected", d.expected}, {"reason", d.reason}});
    write(out / "model_tree" / "structural_diff.json", j.dump(2) + "\n");
  }
  std::size_t suspicious = 0;
  for (const auto& d : diff) suspicious += !d.expected;
  say("stage 0: " + std::to_string(reference.module_paths().size()) + " source modules, " +
      std::to_string(port.module_paths().size()) + " target modules; " + std::to_string(diff.size()) +
      " structural differences (" + std::to_string(suspicious) + " suspicious)");

  // Mapping, from the value matches of the divergence report.
  options.progress("stage 0: value matching for the component mapping");
  const check::DivergenceReport matches = check::localize_divergence(reference, port);
  ComponentMapping mapping = map_components(reference, port, matches);
  if (!mapping_path.empty()) mapping = merge_mapping(reference, port, std::move(mapping), read(mapping_path), mapping_path);
  write(out / "component_mapping.json", mapping_json(mapping));
  say("mapping: " + std::to_string(mapping.components.size()) + " components, " + std::to_string(mapping.entries.size()) +
      " entries in component_mapping.json");

  // Stage 2.
  const Stage2 s2 = test_components(reference, port, mapping, options);
  write(out / "results" / "stage2.json", stage2_json(s2));
  std::size_t failing = 0;
  for (const auto& r : s2.components) failing += !r.pass;
  say("stage 2: " + std::to_string(s2.components.size() - failing) + " of " + std::to_string(s2.components.size()) +
      " components pass (R < " + fmt(options.tau_r) + ")");

  // Stage 3.
  const Stage3 s3 = localize_faults(s2, matches, options);
  write(out / "results" / "stage3.json", stage3_json(s3));
  say(s3.primary ? "stage 3: primary suspect " + s3.primary->component + " (" + s3.primary->pattern + ", R " +
                       fmt(s3.primary->r_ratio) + ": " + s3.primary->root_cause + ")"
                 : "stage 3: no suspect");

  // Stages 5/6.
  const TeacherForced tf = teacher_forced(reference, port, options, prompt_length);
  write(out / "results" / "teacher_forced.json", teacher_forced_json(tf, options));
  say(tf.applicable ? std::string("stages 5/6: ") + (tf.pass ? "pass" : "FAIL") + " (R p95 " + fmt(tf.r_p95) + ", cosine p5 " +
                          fmt(tf.cosine_p5, 5) + ", KL p95 " + fmt(tf.kl_p95) + ", top-1 " + fmt(100 * tf.top1) + "%)"
                    : "stages 5/6: not applicable: " + tf.note);

  // Plots.
  options.progress("plots");
  const fs::path plots = out / "plots";
  {
    Chart c;
    c.title = "Stage 2: R-ratio per component (execution order)";
    c.x_label = "component";
    c.y_label = "R-ratio";
    c.log_y = true;
    Series iso{"isolated R", {}, {}, "bars", "#1f77b4"}, prop{"propagated R (full run)", {}, {}, "bars", "#aec7e8"};
    for (std::size_t k = 0; k < s2.components.size(); ++k) {
      c.x_ticks.push_back(s2.components[k].component->name);
      iso.x.push_back(double(k));
      iso.y.push_back(std::max(s2.components[k].r_ratio, 1e-3));
      prop.x.push_back(double(k));
      prop.y.push_back(std::max(s2.components[k].r_ratio_propagated, 1e-3));
    }
    c.series = {iso, prop};
    c.hlines = {{options.tau_r, "tau_R = " + fmt(options.tau_r)}};
    write_chart(plots, "r_ratio_components", c);
  }
  for (const auto& r : s2.components) {
    if (r.port_error.empty()) continue;
    write_chart(plots, "qq_" + slug(r.component->name), qq_chart(r.component->name, r.port_error, r.baseline_error));
    write_chart(plots, "hist_" + slug(r.component->name), histogram_chart(r.component->name, r.port_error, r.baseline_error));
  }
  if (tf.applicable) {
    auto per_position = [&](const std::string& stem, const std::string& title, const std::string& label, auto get, double line,
                            const std::string& line_label, bool log) {
      Chart c;
      c.title = title;
      c.x_label = "position";
      c.y_label = label;
      c.log_y = log;
      Series s{label, {}, {}, "line", "#1f77b4"};
      for (const auto& p : tf.positions) {
        s.x.push_back(p.position);
        s.y.push_back(get(p));
      }
      c.series = {s};
      c.hlines = {{line, line_label}};
      write_chart(plots, stem, c);
    };
    per_position("e2e_r_ratio", "Teacher forced: R-ratio per position", "R-ratio", [](const PositionMetrics& p) { return p.r_ratio; },
                 options.tau_r, "tau_R", true);
    per_position("e2e_cosine", "Teacher forced: cosine per position", "cosine", [](const PositionMetrics& p) { return p.cosine; },
                 options.theta, "theta", false);
    per_position("e2e_kl", "Teacher forced: KL(ref_fp32 || target) per position", "KL", [](const PositionMetrics& p) { return std::max(p.kl, 1e-12); },
                 options.delta, "delta", true);
  }

  // report.md
  std::ostringstream md;
  md << "# Twin stages report\n\n"
     << "- reference (source): `" << reference.file() << "` (captured at " << ops::dtype_name(reference.capture_dtype()) << ")\n"
     << "- port (target): `" << port.file() << "` (captured at " << ops::dtype_name(port.capture_dtype()) << ")\n"
     << "- runs: ref_fp32 = reference in f32 mode; ref_bf16 = reference " << s2.ref_mode << "; target_bf16 = port " << s2.port_mode
     << "\n- thresholds: tau_R = " << options.tau_r << ", theta = " << options.theta << ", delta = " << options.delta << "\n\n";
  md << "## Stage 0: structure\n\nTrees in `model_tree/`. " << diff.size() << " structural differences, " << suspicious
     << " suspicious (`model_tree/structural_diff.json`):\n\n| module | difference | expected | reason |\n|---|---|---|---|\n";
  for (const auto& d : diff) md << "| `" << d.module << "` | " << d.kind << " | " << (d.expected ? "yes" : "**no**") << " | " << d.reason << " |\n";
  md << "\n## Component mapping\n\n`component_mapping.json`, " << mapping.entries.size() << " entries:\n\n| source | target | reason |\n|---|---|---|\n";
  for (const auto& e : mapping.entries) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ", ") + ("`" + x + "`");
      return s.empty() ? std::string("(none)") : s;
    };
    md << "| " << list(e.source_modules) << " | " << list(e.target_modules) << " | " << e.reason << " |\n";
  }
  md << "\n## Stage 2: component R-ratios\n\n`results/stage2.json`; chart `plots/r_ratio_components.svg`; per component QQ plot "
        "and histogram `plots/qq_*.svg`, `plots/hist_*.svg`.\n\n| component | mapped by | R (isolated) | R (full run) | max abs | cosine | pass |\n|---|---|---|---|---|---|---|\n";
  for (const auto& r : s2.components)
    md << "| `" << r.component->name << "` | " << r.component->how << " | " << fmt(r.r_ratio) << " | " << fmt(r.r_ratio_propagated) << " | "
       << fmt(r.max_abs) << " | " << fmt(r.cosine, 6) << " | " << (r.pass ? "pass" : "**FAIL**") << " |\n";
  md << "\n## Stage 3: fault localization\n\n";
  if (!s3.primary) md << "No component fails: no suspect.\n";
  else {
    md << "Primary suspect: **`" << s3.primary->component << "`** (" << s3.primary->pattern << ", R = " << fmt(s3.primary->r_ratio)
       << "): " << s3.primary->root_cause << ".\n\n" << s3.primary->description << ".\n";
    if (!s3.primary->check_evidence.empty()) md << "\n" << s3.primary->check_evidence << ".\n";
    md << "\n| rank | component | R | pattern | root cause |\n|---|---|---|---|---|\n";
    for (std::size_t k = 0; k < s3.suspects.size(); ++k)
      md << "| " << k + 1 << " | `" << s3.suspects[k].component << "` | " << fmt(s3.suspects[k].r_ratio) << " | " << s3.suspects[k].pattern
         << " | " << s3.suspects[k].root_cause << " |\n";
  }
  md << "\n## Stages 5/6: teacher-forced end to end\n\n";
  if (!tf.applicable) md << "Not applicable: " << tf.note << "\n";
  else {
    md << "`results/teacher_forced.json`; plots `plots/e2e_*.svg`. " << tf.positions.size() << " positions at captured length "
       << tf.length << " (prompt " << tf.prompt_length << " token(s), the rest greedy from ref_fp32; causal mask checked).\n\n"
       << "| criterion | value | threshold | holds |\n|---|---|---|---|\n"
       << "| R p95 | " << fmt(tf.r_p95) << " | < " << options.tau_r << " | " << (tf.r_p95 < options.tau_r ? "yes" : "**no**") << " |\n"
       << "| cosine p5 | " << fmt(tf.cosine_p5, 6) << " | >= " << options.theta << " | " << (tf.cosine_p5 >= options.theta ? "yes" : "**no**") << " |\n"
       << "| KL p95 | " << fmt(tf.kl_p95) << " | <= " << options.delta << " | " << (tf.kl_p95 <= options.delta ? "yes" : "**no**") << " |\n"
       << "| top-1 agreement | " << fmt(100 * tf.top1) << "% | > 50% | " << (tf.top1 > 0.5 ? "yes" : "**no**") << " |\n\n"
       << "End to end: **" << (tf.pass ? "pass" : "FAIL") << "**.\n";
  }
  write(out / "report.md", md.str());
  terminal.clear();
  if (!quiet) std::cout << "wrote " << out.string() << " in " << fmt(seconds(), 2) << " s\n";
  return kExitSuccess;
}

int stages_entry(const Arguments& arguments) {
  try {
    return stages_main(arguments);
  } catch (const Error& e) {
    return report(e);
  } catch (const fs::filesystem_error& e) {
    std::cerr << "twin stages: " << e.what() << "\n";
    return kExitBadInput;
  }
}

}  // namespace

const CommandSpec kStagesCommand = {
    "stages",
    "stages --ref REF.graph --port PORT.graph --out DIR [--mapping FILE] [--thresholds FILE] [--tau-r X] [--prompt-length N] [--quiet]\n"
    "       twin stages calibrate --pair REF PORT [--pair REF PORT]... --out THRESHOLDS.json",
    "run the validation stages (trees, mapping, component R-ratios, fault localization, end to end)",
    "Runs the Equivalence skill's stages on a reference and a port and writes under DIR:\n"
    "  model_tree/               both module trees (compressed and full JSON, pretty text, flat paths)\n"
    "                            and structural_diff.json\n"
    "  component_mapping.json    [source_modules, target_modules, reason] entries, {i} for a layer\n"
    "  results/stage2.json       the 3-tensor R-ratio per component, pass at tau_R\n"
    "  results/stage3.json       the primary suspect and ranked suspects (spike/step, root cause)\n"
    "  results/teacher_forced.json  per-position R, cosine, KL, top-1 and the pass criteria\n"
    "  plots/                    SVG charts, each with its data as CSV\n"
    "  report.md                 all of it, tied together\n\n"
    "Options:\n"
    "  --mapping FILE      a hand-written mapping (the skill's array format), merged over the automatic one\n"
    "  --thresholds FILE   {\"tau_r\", \"theta\", \"delta\"} from calibration on known-good ports\n"
    "  --tau-r X           the R-ratio threshold (default 1.2)\n"
    "  --prompt-length N   prompt tokens before greedy teacher forcing (default 1)\n\n"
    "twin stages calibrate measures known-good pairs (stage 2's worst component R, stages 5/6's\n"
    "metrics) and writes thresholds with a margin over the worst good values: tau_r = max(1.2,\n"
    "1.1 x worst R), theta = 1 - 2 x (1 - worst cosine p5), delta = max(1e-6, 2 x worst KL p95).\n\n"
    "Exit status: 0 the stages ran (read the results for pass/fail); 2 bad input or usage.\n"
    "docs/stages.md walks through an example.",
    &stages_entry,
};

}  // namespace twin::cli
