// Internal to verify/: a failing random trial made into a counterexample a reader can use.
//
//   - Shrinking (shrink): instances from find_instances with dims up to 2 and 3, and the
//     instances tested, are tried smallest first (fewest input elements, below the failure's),
//     with 32 draws each; the first that fails replaces the failure. Then simplify_values
//     rounds the inputs to the coarsest grid (1, 1/2, 1/4, 1/8, 1/64) on which the trial still
//     fails, each value kept inside its variable's constraints.
//   - describe prints the instance, each input (`?a = [[0, 2], [-1, 0]]`), both sides and the
//     largest difference with its position; structured gives the same in RandomCounterexample.
#pragma once

#include "verify/random_evaluation.h"
#include "verify/random_inputs.h"
#include "verify/random_tester.h"

#include <map>
#include <string>
#include <vector>

namespace twin::verify::random_testing {

struct Failure {
  Z3Instance inst;
  std::map<std::string, VarInfo> infos;
  std::map<std::string, std::vector<double>> values;
  Trial trial;
};

// Input elements of an instance, over all its tensor variables.
std::size_t total_numel(const Z3Instance& inst);

// Replaces `failure` by one on a smaller instance where one fails, then simplifies its values.
void shrink(const Setup& s, const std::vector<Z3Instance>& tested, const RandomOptions& o, Failure& failure);
// Rounds inputs to a coarse grid while the trial still fails (readable counterexamples).
void simplify_values(const Setup& s, Failure& f, const RandomOptions& o);

// Multi-line text: the instance (evaluated in float64), inputs, both sides, the difference.
std::string describe(const Failure& f, const std::string& origin);
RandomCounterexample structured(const Failure& f);

}  // namespace twin::verify::random_testing
