// Parameter relations: how each of a port's parameters (and buffers) is computed from the
// reference's. A port's weights come from the reference's through a conversion script: fused
// QKV is `cat([q, k, v], dim=0)`, tensor-parallel shards are slices, some weights are
// transposed, KV heads are duplicated. Twin infers these relations from the stored values and
// confirms each one exactly before returning it:
//
//   auto relations = twin::check::infer_parameter_relations(reference_graph, port_graph);
//   for (const auto& r : relations)
//     if (r.related()) print_term(*r.term());   // cat([layers.0.self_attn.q_proj.weight, ...], dim=0)
//     else ... r.note ...                       // the caller reports it as unrelated
//
// Kinds tried, in order (the first confirmed one wins):
//   equal              same dtype, shape and bits (any name; ties prefer the same name)
//   transpose          the last two dims swapped
//   repeat_interleave  every index along one dim repeated k times (KV-head duplication)
//   repeat             the whole tensor tiled k times along one dim (`repeat`)
//   slice              a contiguous range [start, end) along one dim (chunks, TP shards)
//   grouped_transpose  the rows of a matrix permuted within groups: viewed as [g, a, b, n],
//                      the a and b dims swapped (HF's Llama converter permutes each head's
//                      q/k rows from Meta's interleaved RoPE pairs to halves, a or b = 2):
//                      reshape(transpose(reshape(w, [g, a, b, n]), 1, 2), [g*a*b, n])
//   concat             contiguous blocks along one dim, each a whole reference tensor, a
//                      slice of one or a block of zeros, in order (fused QKV, gate_up; a
//                      vocabulary padded with zero rows: `cat([lm_head.weight, zeros(shape=
//                      [28, 64], dtype=f32)], dim=0)`). A zero block needs +0 in every element
//                      and at least one reference part beside it.
// Then repeat, slice and concat are tried on the port transposed (last two dims), for a
// Conv1D-style fused weight: `transpose(cat([q, k, v], dim=0), dim0=0, dim1=1)`.
// When nothing matches in the stored dtypes and the port's dtype is floating, the same kinds are
// tried on the reference's floating tensors cast to the port's dtype (`cast(..., dtype=bf16)`).
// A relation is confirmed by evaluating its term with ops::evaluate on the reference's tensors
// and comparing the result with the port's tensor bit for bit, in the stored dtype (floating
// values compare by their bits, so -0 differs from +0; i64 values compare through doubles,
// exact below 2^53). Nothing unconfirmed is returned as a relation.
#pragma once

#include "capture/graph.h"
#include "compiler/term.h"
#include "compiler/term_printer.h"
#include "ops/dtype.h"
#include "ops/tensor.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace twin::check {

enum class RelationKind { Unrelated, Equal, Transpose, Repeat, RepeatInterleave, Slice, Concat, GroupedTranspose };

// "unrelated", "equal", "transpose", "repeat", "repeat_interleave", "slice", "concat",
// "grouped_transpose".
const char* relation_kind_name(RelationKind kind);

// One block of a concatenation: a whole reference tensor (start = 0, end = its size along the
// concatenation dim, whole = true), a slice of one along that dim, or a block of zeros.
struct ConcatPart {
  std::string source;  // empty for a block of zeros
  std::int64_t start = 0, end = 0;
  bool whole = true;
  // A whole source with its rows permuted in groups, as a grouped_transpose relation permutes
  // them (a fused `wqkv` whose q and k parts are in Meta's RoPE row order): groups > 0, the
  // part's term is that relation's term. Concatenations along dim 0 only.
  std::int64_t groups = 0, group_a = 0, group_b = 0;
  // A block of +0 (padding: a vocabulary rounded up to a multiple of 64): `zeros(shape=...,
  // dtype=...)` with zero_shape and zero_dtype; start = 0 and end = its size along the
  // concatenation dim. Its dtype is the sources' (before any cast of the whole relation).
  bool zeros = false;
  std::vector<std::int64_t> zero_shape;
  ops::DType zero_dtype = ops::DType::F32;
};

struct ParameterRelation {
  std::string port;  // the port's parameter or buffer name
  RelationKind kind = RelationKind::Unrelated;
  // The reference names involved, in order (concat: one per part that is not a block of zeros,
  // repeated when a tensor is used twice).
  std::vector<std::string> sources;
  std::int64_t dim = 0;            // slice, concat, repeat, repeat_interleave; transpose: dim0
  std::int64_t dim1 = 0;           // transpose: the other dim
  std::int64_t start = 0, end = 0; // slice: [start, end) along dim
  std::int64_t repeats = 1;        // repeat, repeat_interleave
  std::int64_t rank = 0;           // the port tensor's rank (repeat's term gives one count per dim)
  std::vector<ConcatPart> parts;   // concat
  std::int64_t groups = 0, group_a = 0, group_b = 0;  // grouped_transpose: rows as [groups, a, b]
  // Set when the port's dtype differs from its sources' (a checkpoint converted to bf16): the
  // sources are cast to this floating dtype first, and the term is `cast(<relation>, dtype=bf16)`.
  // Exact either way: the cast commutes with slicing, concatenation, transposition and repeats.
  std::optional<ops::DType> cast;
  // Set when the port tensor is the transpose (last two dims) of the relation's result: a
  // repeat, slice or concat found on the port transposed. Its term is `transpose(<relation>,
  // dim0=rank-2, dim1=rank-1)`, inside the cast.
  bool transposed = false;
  bool confirmed = false;          // evaluated and compared bit for bit (true for every relation returned)
  bool is_buffer = false;          // the port tensor is a buffer, not a parameter
  bool declared = false;           // from a `relation` declaration (check/declared_relations.h)
  std::string note;                // unrelated: why (no stored value, no match ...)

  bool related() const { return kind != RelationKind::Unrelated; }
  // The relation as a Twin term over symbols named by the reference names:
  //   layers.0.input_layernorm.weight
  //   transpose(w, dim0=0, dim1=1)
  //   slice(layers.0.mlp.down_proj.weight, dim=1, start=0, end=64)
  //   cat([layers.0.self_attn.q_proj.weight, layers.0.self_attn.k_proj.weight, ...], dim=0)
  //   cat([lm_head.weight, zeros(shape=[28, 64], dtype=f32)], dim=0)
  //   repeat_interleave(layers.0.self_attn.k_proj.weight, repeats=2, dim=0)
  //   repeat(w, repeats=[2, 1])
  //   cast(lm_head.weight, dtype=bf16)
  // nullptr for an unrelated parameter.
  TermPtr term() const;
};

// "layers.0.self_attn.qkv_proj.weight = cat([...], dim=0)  (concat, confirmed)", or
// "lm_head.weight: unrelated (no reference tensor ...)".
std::string describe(const ParameterRelation& relation);

struct NamedTensor {
  std::string name;
  ops::Tensor value;
  bool is_buffer = false;
};

// The matcher on plain tensors: one relation per port tensor, in the port's order. Reference
// and port tensors with undefined values are skipped (as sources) or reported unrelated.
std::vector<ParameterRelation> infer_relations(const std::vector<NamedTensor>& reference,
                                               const std::vector<NamedTensor>& port);

// The same on two captured graphs: their parameters and buffers with stored values. A port
// parameter of a graph captured without weights is reported unrelated ("no stored value").
std::vector<ParameterRelation> infer_parameter_relations(const Graph& reference, const Graph& port);

// The parameters and buffers of a graph with stored values, parameters first.
std::vector<NamedTensor> graph_tensors(const Graph& graph);

// Evaluates `relation.term()` on `reference` (by name) and compares it with `port` bit for bit.
// False for an unrelated relation, a missing source or any evaluation error.
bool confirm_relation(const ParameterRelation& relation, const std::vector<NamedTensor>& reference,
                      const ops::Tensor& port);

}  // namespace twin::check
