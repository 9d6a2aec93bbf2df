// Candidates for values no graph node computed: Ruler-style characteristic vectors of e-classes
// on the example inputs.
//
// Value matching (check/value_matching.h) pairs a port value with a reference *node's* value.
// A port value that matches none may still equal a term the reference never computed but that
// rules wrote into the e-graph (`matmul(x, transpose(w))` from the reference's `linear`, a
// reassociated product). Ruler finds such equalities by evaluating every e-class on a set of
// inputs and comparing the resulting vectors; here the inputs are the graphs' example inputs:
//
//   - seeds: the reference's node values and sources (inputs, parameters, buffers) from a run
//     of the reference at f32, and the constants the tensor-value analysis knows;
//   - propagation: an e-node whose operands all have values is evaluated (ops::evaluate, with
//     its attributes from the shape analysis), passes over the e-graph until nothing new, at
//     most `max_passes` passes, `max_evaluations` evaluations and `max_elements` elements a
//     value;
//   - candidates: each port value that value matching left unmatched (status "none", computed
//     from the inputs) is compared with the fingerprinted classes of its shape; a class within
//     a relative L2 error of `rel_tol` is its candidate (the closest of several).
//
// A candidate only proposes an equation: synthesis must still validate the rule it makes
// (Z3 or random testing), so a coincidence of values on one input never proves anything.
// Only captures at f32 or f64 are fingerprinted (at bf16, rounding makes values that differ
// in function look alike).
#pragma once

#include "check/divergence.h"
#include "check/saturation.h"

#include <cstddef>
#include <string>
#include <vector>

namespace twin::check {

struct FingerprintOptions {
  std::size_t max_evaluations = 20000;
  int max_passes = 8;  // over every class: each pass reaches terms whose operands got values
  std::int64_t max_elements = 1 << 16;
  double rel_tol = 1e-5;
};

struct FingerprintCandidate {
  egraph::EClassId port = 0, term = 0;  // the port value's class, and the class it reads as
  std::string node, module;             // the port node
  double rel_error = 0;
};

// Candidates for the unmatched port values of `numerics`, in the port's order. Runs the
// reference (for its values) and the port (for the unmatched ones).
std::vector<FingerprintCandidate> fingerprint_candidates(Saturation& s, const Graph& reference, const Graph& port,
                                                         const DivergenceReport& numerics,
                                                         const FingerprintOptions& options = {});

}  // namespace twin::check
