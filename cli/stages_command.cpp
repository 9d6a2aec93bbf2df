// twin stages --ref A --port B --out DIR [--mapping FILE] [--thresholds FILE] [--tau-r X]
//
// Runs the validation stages (stages/stages.h, docs/stages.md) in order and writes the
// Equivalence skill's file organization under DIR: model_tree/, component_mapping.json,
// results/stage2.json, results/stage3.json, results/teacher_forced.json, plots/ (SVG and CSV)
// and report.md.
#include "check/port_inputs.h"
#include "cli/command.h"
#include "interp/interpreter.h"
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

// twin stages calibrate --pair REF PORT [--pair REF PORT]... --out FILE [--sequences N]
// `--sequences N`: teacher-forced sequences, a whole number from 1 to kMaxTeacherForcedSequences.
int parse_sequences(const std::string& text) {
  const double n = parse_number("--sequences", text);
  if (n < 1 || n > kMaxTeacherForcedSequences || n != double(int(n)))
    throw UsageError("--sequences takes a whole number from 1 to " + std::to_string(kMaxTeacherForcedSequences));
  return int(n);
}

int calibrate_main(const Arguments& arguments) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string out_path;
  bool quiet = false;
  int sequences = 1;
  for (std::size_t i = 1; i < arguments.size();) {
    const std::string& a = arguments[i];
    std::string v;
    if (take_option_value(arguments, i, "--sequences", v)) {
      sequences = parse_sequences(v);
      continue;
    }
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
  options.sequences = sequences;
  options.progress = [&](const std::string& text) {
    terminal.progress(text, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  };
  std::vector<CalibrationPair> measured;
  for (const auto& [ref, port] : pairs) {
    Graph reference = Graph::load(ref);
    measured.push_back(measure_known_good(reference, check::port_for(reference, Graph::load(port)), options));
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

// The configuration run_stages(config) reads (stdlib/stages/stages.twin).
Value stages_config(const std::string& reference, const std::string& port, const fs::path& out, const std::string& mapping,
                    const StageOptions& thresholds, int prompt_length, bool quiet, bool proof) {
  auto t = make_map();
  t->set(Value("tau_r"), Value(thresholds.tau_r));
  t->set(Value("theta"), Value(thresholds.theta));
  t->set(Value("delta"), Value(thresholds.delta));
  auto config = make_map();
  config->set(Value("ref"), Value(fs::absolute(reference).string()));
  config->set(Value("port"), Value(fs::absolute(port).string()));
  config->set(Value("out"), Value(out.string()));
  config->set(Value("mapping"), mapping.empty() ? Value() : Value(fs::absolute(mapping).string()));
  config->set(Value("prompt_length"), Value(prompt_length));
  config->set(Value("sequences"), Value(thresholds.sequences));
  config->set(Value("thresholds"), Value(t));
  config->set(Value("quiet"), Value(quiet));
  config->set(Value("proof"), Value(proof));
  return Value(config);
}

int stages_main(const Arguments& arguments) {
  if (!arguments.empty() && arguments[0] == "calibrate") return calibrate_main(arguments);
  std::string reference_path, port_path, out_dir, mapping_path, thresholds_path, script_path;
  StageOptions thresholds;
  int prompt_length = 1;
  bool quiet = false, proof = true;
  for (std::size_t i = 0; i < arguments.size();) {
    const std::string& a = arguments[i];
    std::string v;
    if (a == "--no-proof") { proof = false; ++i; continue; }
    if (take_option_value(arguments, i, "--ref", reference_path) || take_option_value(arguments, i, "--port", port_path) ||
        take_option_value(arguments, i, "--out", out_dir) || take_option_value(arguments, i, "--mapping", mapping_path) ||
        take_option_value(arguments, i, "--thresholds", thresholds_path) || take_option_value(arguments, i, "--script", script_path))
      continue;
    if (take_option_value(arguments, i, "--tau-r", v)) { thresholds.tau_r = parse_number("--tau-r", v); continue; }
    if (take_option_value(arguments, i, "--prompt-length", v)) { prompt_length = int(parse_number("--prompt-length", v)); continue; }
    if (take_option_value(arguments, i, "--sequences", v)) {
      thresholds.sequences = parse_sequences(v);
      continue;
    }
    if (a == "--quiet" || a == "-q") { quiet = true; ++i; continue; }
    if (!a.empty() && a[0] == '-') unknown_option(a);
    throw UsageError("unexpected argument `" + a + "`");
  }
  if (reference_path.empty() || port_path.empty() || out_dir.empty()) throw UsageError("--ref, --port and --out are required");
  if (!thresholds_path.empty()) read_thresholds(thresholds_path, thresholds);
  // Named files are checked here, so a typo is the command's error, not a script's.
  for (const auto& file : {reference_path, port_path, mapping_path, script_path}) {
    std::error_code ec;
    if (!file.empty() && !fs::is_regular_file(file, ec)) throw Error(ErrorKind::Io, "cannot read " + file + ": no such file");
  }

  // The stages are scripts (stdlib/stages/stages.twin, or the user's --script): they read the
  // two graphs, the mapping file and the library, and write only under --out.
  const auto started = std::chrono::steady_clock::now();
  const fs::path out = fs::absolute(out_dir).lexically_normal();
  fs::create_directories(out);
  // As `twin run` grants: the proof step (check_graphs) may fork the verifier's isolation
  // process and use the verdict cache.
  InterpreterOptions granted = options_granted_to_scripts();
  granted.allowed_write_dirs = {out};
  for (const auto& file : {reference_path, port_path, mapping_path})
    if (!file.empty()) granted.allowed_read_files.push_back(fs::absolute(file));
  if (!script_path.empty()) granted.allowed_read_dirs.push_back(fs::absolute(script_path).parent_path());
  return run_with_large_stack([&] {
    Interpreter interpreter(std::move(granted));
    TerminalProgress terminal(!quiet && isatty(STDERR_FILENO));
    open_for_scripts(interpreter, terminal);
    // A graph given as NAME.pt2 is read with NAME.io.safetensors beside it.
    for (const auto& file : {reference_path, port_path})
      if (fs::path(file).extension() == ".pt2") {
        fs::path io = fs::absolute(file);
        io.replace_extension(".io.safetensors");
        interpreter.allow_read_file(io);
      }
    try {
      if (script_path.empty()) interpreter.eval_string("use \"std/stages/stages.twin\"\n", "<twin stages>");
      else interpreter.eval_file(script_path);
      const Value run = interpreter.get_global("run_stages");
      if (run.is_nil())
        throw Error(ErrorKind::Name, (script_path.empty() ? std::string("the standard library's stages.twin") : script_path) +
                                         " defines no run_stages(config)");
      interpreter.call(run, {stages_config(reference_path, port_path, out, mapping_path, thresholds, prompt_length, quiet, proof)});
    } catch (const Error& e) {
      terminal.clear();
      return report(e);
    }
    terminal.clear();
    if (!quiet)
      std::cout << "wrote " << out.string() << " in "
                << fmt(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 2) << " s\n";
    return kExitSuccess;
  });
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
    "stages --ref REF.graph --port PORT.graph --out DIR [--mapping FILE] [--thresholds FILE] [--tau-r X] [--prompt-length N] [--sequences N]\n"
    "       [--script FILE.twin] [--no-proof] [--quiet]\n"
    "       twin stages calibrate --pair REF PORT [--pair REF PORT]... --out THRESHOLDS.json [--sequences N]",
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
    "  --prompt-length N   prompt tokens before greedy teacher forcing (default 1)\n"
    "  --sequences N       teacher-forced sequences, each from the example's tokens rotated\n"
    "                      (default 1); the end-to-end percentiles are over all their positions\n"
    "  --script FILE.twin  run this script's run_stages(config) instead of the standard library's\n"
    "                      stages.twin (each stage is a script in stdlib/stages/: copy and change it)\n"
    "  --no-proof          skip the proof (twin check on the pair) that stage 3 quotes beside the R evidence\n\n"
    "twin stages calibrate measures known-good pairs (stage 2's worst component R, stages 5/6's\n"
    "metrics) and writes thresholds with a margin over the worst good values: tau_r = max(1.2,\n"
    "1.1 x worst R), theta = 1 - 2 x (1 - worst cosine p5), delta = max(1e-6, 2 x worst KL p95).\n\n"
    "Exit status: 0 the stages ran (read the results for pass/fail); 2 bad input or usage.\n"
    "docs/stages.md walks through an example.",
    &stages_entry,
};

}  // namespace twin::cli
