// The validation stages of the Equivalence skill (shared/seeds/equivalence-skill.txt) on two
// captured graphs, as `twin stages` runs them and docs/stages.md describes them for users.
//
//   ModelTrees trees = model_trees(reference, port);                 // stage 0
//   DivergenceReport matches = check::localize_divergence(reference, port);
//   ComponentMapping mapping = map_components(reference, port, matches);
//   Stage2 s2 = test_components(reference, port, mapping, {});      // 3-tensor R per component
//   TeacherForced tf = teacher_forced(reference, port, {});          // stages 5/6
//
// These are the measuring parts. Deciding (pass at tau_R, spike or step and root causes,
// the end-to-end criteria) and writing the skill's files is done by the stage scripts,
// stdlib/stages/*.twin, which reach these parts through the stages library
// (interp/lib/stages_library.h); `twin stages` runs them.
//
// The three runs of the 3-tensor method (capture/graph_runner.h):
//   ref32   the reference in F32 mode;
//   ref16   the reference as captured when it was captured in bf16 or f16 (so its own casts,
//           the `.float()` of a variance, are kept), else in BF16 mode;
//   port16  the port the same way.
// Every run starts from the graph's own f32 (or captured) weights, downcast by the run mode,
// and the reference's stored example inputs (the port's inputs are matched by position).
//
// A component's *outputs* are the values its module subtree computes from the graph inputs
// (not constants) that a node outside the subtree reads, or that are graph outputs.
#pragma once

#include "capture/graph.h"
#include "capture/graph_runner.h"
#include "check/divergence.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin::stages {

// ---------------------------------------------------------------- stage 0: trees and diff

struct StructuralDifference {
  std::string kind;       // "missing module", "extra module", "fused qkv", "layer count", ...
  std::string side;       // "source", "target" or "both"
  std::string module;     // the module path it is about
  bool expected = false;  // an expected porting difference, not a bug
  std::string reason;
};

// The compressed tree folds repeated numbered children with the same structure into one
// entry ("0-1", with "repeat": 2); the full tree lists every module.
std::string tree_json(const Graph& graph, bool compressed);  // JSON text
std::string flat_paths(const Graph& graph);                  // one module path a line
std::vector<StructuralDifference> structural_diff(const Graph& source, const Graph& target);

// ---------------------------------------------------------------- component mapping

// One reference value read as (a piece of) a port output: `ref_output` indexes the
// component's reference outputs; the view says how (check/value_matching.h).
struct OutputPiece {
  std::size_t ref_output = 0;
  check::ReadView view;
  std::int64_t length = 0;  // a concatenation's piece: its length along concat_dim
};

// A port output of the component and the reference values it is compared with.
struct ComparedOutput {
  std::size_t port_output = 0;  // indexes Component::port_outputs
  std::vector<OutputPiece> pieces;
  int concat_dim = -1;  // in the port value's squeezed shape
};

struct Component {
  std::string name;  // the target (port) module path
  std::vector<std::string> source_modules, target_modules;  // concrete paths
  std::string how;     // "values", "layer pattern", "module path"
  std::string reason;
  std::vector<GraphRef> ref_outputs, port_outputs;
  std::vector<ComparedOutput> compared;
  std::size_t order = 0;  // the port node index of its last output (execution order)
  int depth = 0;          // of the target module path
};

// An entry of component_mapping.json: module paths with `{i}` for a layer index.
struct MappingEntry {
  std::vector<std::string> source_modules, target_modules;
  std::string reason;
};

struct ComponentMapping {
  std::vector<Component> components;  // execution order (inner before outer on a tie)
  std::vector<MappingEntry> entries;  // the file: mapped components, then modules without counterpart
};

// From value matches (`matches`, check::localize_divergence on the same graphs): a port
// module whose outputs read as the outputs of reference modules is mapped to them (several:
// a fused projection); a match in one layer extends to the others by the `{i}` pattern; a
// module left unmatched is mapped by the reference modules its parameters come from
// (check::infer_parameter_relations), else to the reference module of the same path, if any.
ComponentMapping map_components(const Graph& reference, const Graph& port, const check::DivergenceReport& matches);
// A hand-written mapping in the skill's array format replaces the automatic entries it names
// (each pattern is instantiated for every layer index present). Throws Error (Value) naming
// the file for bad JSON or a module no graph has.
ComponentMapping merge_mapping(const Graph& reference, const Graph& port, ComponentMapping automatic,
                               const std::string& json_text, const std::string& file);
std::string mapping_json(const ComponentMapping& mapping);

// ---------------------------------------------------------------- stage 2: component R-ratios

inline constexpr int kMaxTeacherForcedSequences = 1024;

struct StageOptions {
  double tau_r = 1.2;   // R-ratio threshold
  double theta = 0.95;  // cosine p5 threshold (stage 6)
  double delta = 0.01;  // KL p95 threshold (stage 6; calibrated)
  double eps = 1e-12;
  // Stages 5/6: how many teacher-forced sequences (each from its own prompt: the example's
  // tokens rotated by the sequence's index, then greedy from ref_fp32). Each gives L - P + 1
  // positions; the percentiles are taken over all of them.
  int sequences = 1;  // 1 to kMaxTeacherForcedSequences
  std::function<void(const std::string&)> progress;  // called before each long step
};

struct ComponentResult {
  const Component* component = nullptr;
  double r_ratio = 0;            // isolated: inputs from the reference run
  double r_ratio_propagated = 0; // the same outputs in the full runs (errors carried in)
  double max_abs = 0, cosine = 0, baseline = 0, error = 0;
  std::string method;            // "3-tensor" or "2-tensor" (no bf16 baseline: epsilon perturbation)
  bool pass = false;
  std::string note;              // why R could not be computed, if it could not
  // Per element (flattened): port16 - ref32 and ref16 - ref32, for the plots.
  std::vector<double> port_error, baseline_error;
};

struct Stage2 {
  double tau_r = 1.2;
  std::string ref_mode, port_mode;  // the low-precision runs: "captured" or "bf16"
  std::vector<ComponentResult> components;
};

Stage2 test_components(const Graph& reference, const Graph& port, const ComponentMapping& mapping,
                       const StageOptions& options);
std::string stage2_json(const Stage2& stage2);

// ---------------------------------------------------------------- stages 5/6: teacher forced

struct PositionMetrics {
  int sequence = 0;  // which teacher-forced sequence (StageOptions::sequences)
  int position = 0;
  std::int64_t token = 0;  // the reference's greedy next token
  double r_ratio = 0, cosine = 0, kl = 0;
  bool top1 = false;
};

struct TeacherForced {
  bool applicable = false;
  std::string note;
  int prompt_length = 0, length = 0;
  std::vector<std::int64_t> tokens;  // the first teacher-forced sequence
  std::vector<std::vector<std::int64_t>> sequences;  // every sequence, `tokens` first
  std::vector<PositionMetrics> positions;
  double r_p95 = 0, cosine_p5 = 0, kl_p95 = 0, top1 = 0;
  bool pass = false;
  bool causal = false;  // checked: changing the last token leaves earlier logits unchanged
};

TeacherForced teacher_forced(const Graph& reference, const Graph& port, const StageOptions& options,
                             int prompt_length = 1);

// ---------------------------------------------------------------- calibration

// What one known-good pair measured: its worst isolated component R (stage 2) and its
// teacher-forced metrics (stages 5/6; absent when they do not apply).
struct CalibrationPair {
  std::string reference, port;  // the files
  double max_component_r = 0;
  std::string worst_component;
  bool teacher_forced = false;
  double r_p95 = 0, cosine_p5 = 1, kl_p95 = 0;
};

// Thresholds from known-good pairs, each with a margin over the worst good value:
//   tau_R = max(1.2, 1.1 x the worst R, isolated or end-to-end p95): never below the skill's
//           default, which separates precision noise from the 1.2-3 precision-bug band;
//   theta = 1 - 2 x (1 - the worst cosine p5): twice the worst good deviation from 1;
//   delta = max(1e-6, 2 x the worst KL p95).
// Throws twin::Error when `pairs` is empty.
struct Calibration {
  double tau_r = 1.2, theta = 0.95, delta = 0.01;
  std::vector<CalibrationPair> pairs;
};
CalibrationPair measure_known_good(const Graph& reference, const Graph& port, const StageOptions& options);
Calibration calibrate(std::vector<CalibrationPair> pairs);
// {"tau_r", "theta", "delta", "pairs": [...], "method": "..."}: what --thresholds reads.
std::string calibration_json(const Calibration& calibration);

// ---------------------------------------------------------------- helpers shared by the stages

// True when `path` is `root` or inside it ("layers.0.mlp" is inside "layers.0").
bool in_subtree(const std::string& path, const std::string& root);
// The run mode that gives a graph's low-precision run: as captured for a bf16/f16 capture.
RunMode low_precision_mode(const Graph& graph);
// The port's inputs from the reference's stored example inputs, matched by position.
std::map<std::string, ops::Tensor> reference_inputs(const Graph& reference);
std::map<std::string, ops::Tensor> port_inputs(const Graph& reference, const Graph& port);
// q-quantile (0..1) of `values` (linear interpolation); NaN when empty.
double quantile(std::vector<double> values, double q);

}  // namespace twin::stages
