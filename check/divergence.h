// Where a port diverges from its reference: the numerical half of `twin check` (issue 6,
// "not equivalent"). Both graphs run on the same inputs; every port value is compared with
// every reference value, and Twin names the first port nodes whose values match no reference
// value although their inputs do. docs/checking.md, "Where a port diverges", is the user's
// description; this comment is the implementer's.
//
//   DivergenceReport r = localize_divergence(Graph::load("reference.graph"),
//                                            Graph::load("port.graph"), {});
//   if (!r.outputs_agree) for (const auto& d : r.divergences) if (d.first_in_module) ...
//
// Runs. The port runs as captured on the reference's stored example inputs (matched by
// position). The reference runs in F32 (the fp32 reference, r32) and in BF16 (the precision
// baseline, r16) modes (capture/graph_runner.h). Reference values are its inputs,
// parameters, buffers and every node output.
//
// Matching a port value with a reference value: check/value_matching.h (a whole value under a
// view, an aligned part, a concatenation), with the precision baseline of the 3-tensor
// R-ratio: for a bf16 or f16 capture the reference also runs in bf16 (the baseline is
// ||r16 - r32||), for an f32 capture in f64 (||r32 - r64||); a value matches when its error is
// within tau times that baseline.
//
// The rule. A port value is *matched* when it matches a reference value, a part of one or a
// concatenation of them, or holds one as its leading slice along one dim (*extends* it: a
// preallocated KV cache, and the scores over it, whose extra columns a mask removes). Sources count as matched: the port's inputs, parameters, buffers and
// constants, and every value computed from those alone without the graph inputs (masks, RoPE
// caches, converted weights; the port may build its constants as it likes, so a wrong one is
// reported at its first data-dependent consumer).
// A port that factors its computation differently still has unmatched values that are
// harmless: the partial products of a row-parallel layer (matched once they are added), the
// products of a RoPE computed half by half, a boolean mask applied with masked_fill. What
// these have in common is that their unmatched-ness never reaches the model's output: every
// path from them to a graph output passes through a matched value. So a value v *diverges* when
//   1. v is not matched (not a reference value, a part or a concatenation of them),
//   2. every tensor input of v's node is matched (or a source), and
//   3. some path from v to a graph output runs through unmatched values only (v's error
//      reaches the output without ever being "healed" into a reference value).
// The divergent nodes are reported in topological order; `first_in_module` marks the first
// one of each module path. When every graph output matches the reference's output at its
// position (`outputs_agree`), condition 3 can hold for no value, so the report is empty:
// the outputs agree, and a failure to prove equivalence is "unproven", not a divergence.
// Conversely, when an output disagrees there is always at least one divergent value (walk
// back from the output through unmatched values to one whose inputs all match; if that ends
// only at data-independent values, the rule is re-run with those not counted as sources).
//
// Known limit: a harmless unmatched value feeding the buggy node is named when it comes
// first in topological order (rope_wrong_direction names the product x2*sin, a `mul` in the
// same rotary_emb module, one node before the `add` with the wrong sign).
//
// Errors: a graph that cannot run (an opaque node, captured without weights) or a reference
// without stored example inputs throws twin::Error (Value) naming the file.
#pragma once

#include "capture/graph.h"
#include "check/value_matching.h"
#include "ops/dtype.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace twin::check {

struct DivergenceOptions {
  MatchTolerance tolerance = [] {
    MatchTolerance t;
    t.floor = 1.0 / 256;  // a bf16 / f16 capture: one rounding of the port's dtype, for exact references
    return t;
  }();
  bool part_matches = true;  // a value equal to an aligned chunk of a reference value matches
  bool concat_matches = true;  // so does a concatenation (along one dim) of matching pieces
  // and, for localization only, a value whose leading slice along one dim is a reference
  // value (a preallocated KV cache, a padded vocabulary)
  bool extension_matches = true;
  std::size_t max_divergences = 50;  // report at most this many (in topological order)
};

// One port value that diverges.
struct Divergence {
  std::string node;            // the port node ("add_1")
  int output = 0;              // which output of it
  std::string op;              // Twin's op (GraphNode::twin_op(): "add", "mul+add")
  std::string aten_op;         // as traced ("aten::add")
  std::string module;          // the port module path ("" for the model itself)
  std::string source;          // where the port's code made the call ("port.py:57"; "" unrecorded)
  std::string type;            // the value's type ("f32[8, 4, 8]")
  bool first_in_module = false;  // the first divergence reported with this module path
  // The reference modules whose values the node's inputs matched (unique, in input order).
  std::vector<std::string> input_reference_modules;
  // The reference value the errors below compare against: the counterpart's (below) when it
  // is comparable, under the views above or through the port value's leading slice along the
  // one dim where it is longer (padded logits); else the closest reference value with the
  // same number of elements; "" when there is none, and then the errors are NaN.
  std::string closest_reference;         // "linear_3" or "linear_3[1]" or a parameter name
  std::string closest_reference_module;
  bool closest_is_counterpart = false;
  // The errors leave out positions where either side is non-finite or a mask fill (|x| >= 1e9);
  // masked_mismatches counts those where only one side is.
  double max_abs_error = 0;   // max |p - r32| over the closest view
  double rel_error = 0;       // ||p - r32|| / ||r32||
  double r_ratio = 0;         // ||p - r32|| / (baseline + eps); NaN without a baseline run
  std::int64_t masked_mismatches = 0;
  // The reference node computing the same op from the values the node's inputs matched (its
  // counterpart), and how the two calls differ: "2e-06 where the reference has 1e-06" (a
  // constant), "dim=-2 where the reference has dim=-1" (an attribute). Empty when no
  // counterpart exists or the calls read the same constants.
  std::string counterpart;
  std::vector<std::string> differences;
};

// One reference value a port value (or a piece of it) reads as.
struct MatchPiece {
  std::string reference;         // "linear_3", "linear_3[1]", or a parameter or buffer name
  std::string reference_module;
  ReadView view;                 // how to read it (value_matching.h)
  std::int64_t length = 0;       // a concatenation's piece: its length along concat_dim
};

// What one port value matched among the reference's values.
struct ValueMatch {
  std::string node;
  int output = 0;
  std::string status;  // "matched" (a whole value), "part" (an aligned chunk of one),
                       // "concat" (a concatenation of them), "extends" (its leading slice
                       // along `concat_dim` is pieces[0] read through its view: for
                       // localization only), "negated" (the negation of a whole or a part:
                       // for synthesis only), "none"
  std::string reference, reference_module;  // the reference value (a concatenation: its first piece)
  // The equation the match suggests (synthesis reads it): the port value, squeezed to
  // `port_shape`, is pieces[0] read through its view, or the concatenation of the pieces
  // along `concat_dim`.
  std::vector<MatchPiece> pieces;
  int concat_dim = -1;
  std::vector<std::int64_t> port_shape;
  bool data_dependent = true;  // computed from the graph inputs (not a constant)
};

// How torch.testing.assert_close would see one output: the port against the fp32 reference,
// element by element, with assert_close's default tolerances for the port's dtype (f32: rtol
// 1.3e-6, atol 1e-5; bf16: 1.6e-2, 1e-5; f16: 1e-3, 1e-5). Unlike the R-ratio verdict, it
// knows nothing of the precision baseline: it is the summary a PyTorch user knows.
struct CloseSummary {
  std::int64_t elements = 0, mismatched = 0;  // |p - r| > atol + rtol * |r| (NaN against a number too)
  double rtol = 0, atol = 0;
  double max_abs = 0, max_rel = 0;            // the greatest differences ...
  std::vector<std::int64_t> max_abs_index, max_rel_index;  // ... and where (a multi-index)
  std::string to_text() const;  // "mismatched elements: 3 / 64 (4.7%); greatest absolute difference: ..."
};

struct OutputComparison {
  std::string port, reference;  // the graph outputs' references, by position
  bool agree = false;
  double max_abs_error = 0, rel_error = 0, r_ratio = 0;
  std::optional<CloseSummary> close;  // when both values exist with the same number of elements
};

struct DivergenceReport {
  ops::DType port_capture_dtype = ops::DType::F32;
  bool outputs_agree = false;                // every output matches (and the counts agree)
  std::vector<OutputComparison> outputs;
  std::vector<Divergence> divergences;       // topological order, at most max_divergences
  std::size_t port_values = 0;               // port node outputs compared
  std::vector<ValueMatch> value_matches;     // per port node output, in topological order
  std::size_t matched_values = 0;            // ... that match a reference value
  std::size_t part_matched_values = 0;       // ... that match a part of one
  std::size_t concat_matched_values = 0;     // ... that are a concatenation of matching pieces
  std::size_t extension_matched_values = 0;  // ... that hold one as their leading slice (localization only)
  bool reference_bf16_run = false;           // whether R-ratios could be computed (a baseline run)
  std::string baseline;                      // "bf16" or "f64": the reference's baseline run

  // The divergences with first_in_module set, in order.
  std::vector<const Divergence*> first_per_module() const;
  // A few lines for a terminal: the outputs' agreement, then each first-in-module divergence.
  std::string to_text() const;
};

DivergenceReport localize_divergence(const Graph& reference, const Graph& port,
                                     const DivergenceOptions& options = {});

}  // namespace twin::check
