// Internal to verify/: what random testing draws for a rule's variables, and how.
//
//   - Numbers come from a splitmix64 generator of our own (Rng), bit-identical on every
//     platform: the same seed gives the same draws, verdicts and counterexamples everywhere.
//     mix_seed derives one stream per (seed, instance, trial) and per variable.
//   - Shapes come from find_instances (the Z3 checker's shape solver); integer attribute
//     variables (?k) take the instance's values.
//   - A variable's values honour the lhs ops' operand domains (Positive, NonZero, Index with
//     its bound resolved on the instance, BoolMask; where several ops constrain a variable, the
//     strictest kind wins and an Index takes the smallest bound) and the guard's elementwise
//     value constraints between a variable and a constant (`?x > 0`, `?x <= 3`, `?x != 0`).
//     Floating values: standard normal; Positive uniform in [0.1, 4]; NonZero ±[0.5, 4];
//     intervals uniformly. Variables are drawn in the order the lhs first mentions them.
//   - A boolean mask the guard says `every_row_attends(?m)` gets a true in every row (along
//     its last dim), one under `every_row_keeps(?m)` a false: a row that drew none gets one
//     at a random place. A mask the guard says
//     `additive_mask(?a)` is drawn as 0 or a huge negative number per element, the same way
//     with a 0 forced into a row that drew none.
//   - Indices the guard says `indexes_rows_of(?i, ?w)` are drawn below ?w's first dim (a
//     tighter bound than the lhs's ops may give: an embedding of a padded table).
//   - Sweeps: where a rule has one tensor variable and only elementwise ops (casts and
//     identities included), every finite value of a 16-bit float dtype in its domain is a
//     small enough input space to test whole (all_values, sweepable).
#pragma once

#include "egraph/op_table.h"
#include "egraph/rewrite.h"
#include "egraph/scalar_expr.h"
#include "ops/op_spec.h"
#include "ops/tensor.h"
#include "verify/z3_checker.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace twin::verify::random_testing {

// ---- deterministic random numbers ----------------------------------------------------------

std::uint64_t splitmix(std::uint64_t& state);
std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b, std::uint64_t c = 0);

struct Rng {
  std::uint64_t state;
  explicit Rng(std::uint64_t seed) : state(seed) {}
  double uniform();                                 // [0, 1)
  double normal();                                  // Box-Muller
  std::int64_t integer(std::int64_t lo, std::int64_t hi);  // [lo, hi)
};

// ---- what the guard and the ops say about a variable's values -------------------------------

struct ValueConstraint {
  std::optional<double> lo, hi;
  bool lo_strict = false, hi_strict = false;
  std::vector<double> excluded;

  void lower(double v, bool strict);
  void upper(double v, bool strict);
  bool admits(double v) const;
};

using DomainKind = ops::OperandDomain::Kind;

// How strict a domain kind is (Any < NonZero < Positive < Index < BoolMask).
int domain_rank(DomainKind k);

struct VarInfo {
  ops::TensorType type;            // the instance's type (dtype from guard or domain hints)
  DomainKind kind = DomainKind::Any;
  std::int64_t index_bound = -1;   // Index: the smallest bound seen
  ValueConstraint constraint;      // guard + op domain
};

// A rule with what its guard says, shared by every instance.
struct Setup {
  const egraph::Rewrite& rule;
  const egraph::OpTable& ops;
  std::vector<std::string> tensor_vars;  // lhs order
  std::map<std::string, ValueConstraint> guard_constraints;
  std::map<std::string, ops::DType> guard_dtypes;
  bool infinite_values = false;  // the lhs writes an infinite constant ("-inf"): see compare
  // Boolean masks the guard requires `every_row_attends`: drawn with a true in every row.
  std::set<std::string> attending_masks;
  // ... `every_row_keeps`: drawn with a false in every row.
  std::set<std::string> keeping_masks;
  // Floating masks the guard requires `additive_mask`: each element 0 or a huge negative
  // number (-1e30 or finfo(f32).min), with a 0 in every row.
  std::set<std::string> additive_masks;
  // Tensors the guard requires `all_zero`: drawn as zeros.
  std::set<std::string> zero_tensors;
  // Index vectors the guard requires `distinct_indices`: drawn as distinct positions within
  // the index's bound.
  std::set<std::string> distinct_index_vectors;
  // `masks_unlisted(?m, ?i)` pairs (mask, indices): the mask is drawn, then made masked (true;
  // -1e30 in an additive mask) at every column its indices do not list (and, if it must also
  // keep a score in every row, kept (false; 0) at one listed column of a row that kept none).
  std::vector<std::pair<std::string, std::string>> unlisted_masks;
  // `indexes_rows_of(?i, ?w)` pairs (indices, table): the indices are drawn in [0, dim(?w, 0)).
  std::vector<std::pair<std::string, std::string>> row_indices;
};

Setup make_setup(const egraph::Rewrite& rule, const egraph::OpTable& ops, const Z3Instance& any_instance);

// Variable information on one instance: domains from a pass over the lhs with placeholder
// inputs (ones, zeros for integer and bool tensors), merged with the guard's constraints.
std::map<std::string, VarInfo> var_infos(const Setup& s, const Z3Instance& inst);

// Values for every tensor variable (row-major); throws std::runtime_error when a variable's
// constraints cannot be met.
std::map<std::string, std::vector<double>> draw_inputs(const Setup& s, const Z3Instance& inst,
                                                       const std::map<std::string, VarInfo>& infos, std::uint64_t seed);

// The values as tensors, each in the dtype `dtype(name, instance dtype)` gives it.
std::map<std::string, ops::Tensor> tensors_of(const std::map<std::string, std::vector<double>>& values,
                                              const std::map<std::string, VarInfo>& infos,
                                              const std::function<ops::DType(const std::string&, ops::DType)>& dtype);

// The instances to test: find_instances with `count` instances and dims up to `max_dim`, or
// nothing.
std::vector<Z3Instance> instances_for(const egraph::Rewrite& rule, const egraph::OpTable& ops, int count,
                                      std::int64_t max_dim);

// ---- exhaustive 16-bit sweeps --------------------------------------------------------------

// Every finite value of a 16-bit float dtype (bf16 or f16) that the variable admits, in
// ascending bit order.
std::vector<double> all_values(ops::DType dtype, const VarInfo& vi);
// One tensor variable, every op elementwise (dtype casts included): the input space of a
// 16-bit variable is small enough to sweep.
bool sweepable(const Setup& s);

}  // namespace twin::verify::random_testing
