#include "check/match_definitions.h"

#include "check/graph_lowering.h"
#include "util/error.h"

#include <map>

namespace twin::check {

std::string value_name(const std::string& node, int output) {
  return output ? node + "[" + std::to_string(output) + "]" : node;
}

using ops::AttrValue;

LoweredValues lowered_values(const Saturation& s) {
  LoweredValues v;
  for (const auto& n : s.ref_lowered.nodes) v.reference[value_name(n.node, n.output)] = n.value;
  for (const auto& [name, value] : s.ref_sources) v.reference.emplace(name, value);
  for (const auto& n : s.port_lowered.nodes) v.port[value_name(n.node, n.output)] = n.value;
  return v;
}

namespace {

// The term a piece of a match spells: the reference value read through its view
// (value_matching.h). A view that keeps the flat order is the value itself (the caller
// reshapes it to the port's shape); a slice of the squeezed value is a slice of the value at
// the same dim, counted among its dims that are not 1.
LoweredValue read_view(GraphLowering& lowering, const LoweredValue& reference, const ReadView& view) {
  LoweredValue cur = reference;
  if (!cur.type) throw Error(ErrorKind::Value, "a reference value without a type");
  const auto& full = cur.type->shape;
  if (view.permutation.empty() && view.read_shape == values::squeezed(full)) {
    if (view.slice_dim < 0) return cur;
    int seen = -1;
    for (std::size_t d = 0; d < full.size(); ++d)
      if (full[d] != 1 && ++seen == view.slice_dim)
        return lowering.add_op("slice", {cur},
                               {{"dim", AttrValue::of_int(std::int64_t(d))}, {"start", AttrValue::of_int(view.slice_start)},
                                {"end", AttrValue::of_int(view.slice_start + view.slice_size)}});
  }
  if (full != view.read_shape) cur = lowering.add_op("reshape", {cur}, {{"shape", AttrValue{view.read_shape}}});
  if (!view.permutation.empty()) {
    std::vector<std::int64_t> dims(view.permutation.begin(), view.permutation.end());
    cur = lowering.add_op("permute", {cur}, {{"dims", AttrValue{dims}}});
  }
  if (view.slice_dim >= 0)
    cur = lowering.add_op("slice", {cur},
                          {{"dim", AttrValue::of_int(view.slice_dim)}, {"start", AttrValue::of_int(view.slice_start)},
                           {"end", AttrValue::of_int(view.slice_start + view.slice_size)}});
  return cur;
}

LoweredValue read_piece(GraphLowering& lowering, const LoweredValue& reference, const ReadView& view) {
  LoweredValue v = read_view(lowering, reference, view);
  return view.negated ? lowering.add_op("neg", {v}, {}) : v;
}

// The dim of `full` that is the `squeezed_dim`-th of its dims that are not 1 (-1: none).
int full_dim(const std::vector<std::int64_t>& full, int squeezed_dim) {
  int seen = -1;
  for (std::size_t d = 0; d < full.size(); ++d)
    if (full[d] != 1 && ++seen == squeezed_dim) return int(d);
  return -1;
}

// The reference term a port value's match spells, in the port value's shape.
std::optional<LoweredValue> reference_term(GraphLowering& lowering, const LoweredValues& values, const ValueMatch& m,
                                           const ops::TensorType& port_type) {
  auto reshape_to = [&](LoweredValue v, const std::vector<std::int64_t>& shape) {
    if (v.type && v.type->shape == shape) return v;
    return lowering.add_op("reshape", {v}, {{"shape", AttrValue{shape}}});
  };
  // A concatenation is cut along the port's own dim when each piece has the port's shape there.
  const int cut = m.concat_dim >= 0 ? full_dim(port_type.shape, m.concat_dim) : -1;
  std::vector<LoweredValue> pieces;
  for (const auto& piece : m.pieces) {
    auto it = values.reference.find(piece.reference);
    if (it == values.reference.end()) return std::nullopt;
    LoweredValue v = read_piece(lowering, it->second, piece.view);
    if (m.concat_dim >= 0) {
      std::vector<std::int64_t> shape = cut >= 0 ? port_type.shape : m.port_shape;
      shape[cut >= 0 ? cut : m.concat_dim] = piece.length;
      v = reshape_to(v, shape);
    }
    pieces.push_back(v);
  }
  if (pieces.empty()) return std::nullopt;
  LoweredValue whole = pieces.front();
  if (m.concat_dim >= 0) whole = lowering.add_op("cat", pieces, {{"dim", AttrValue::of_int(cut >= 0 ? cut : m.concat_dim)}});
  return reshape_to(whole, port_type.shape);
}

std::optional<MatchDefinition> definition(Saturation& s, const LoweredValues& values, const ValueMatch& m) {
  // An extension holds the reference value and more: no equation between the two.
  if (m.status == "none" || m.status == "extends") return std::nullopt;
  auto port = values.port.find(value_name(m.node, m.output));
  if (port == values.port.end() || !port->second.type) return std::nullopt;
  GraphLowering lowering(s.graph, *s.values);
  std::optional<LoweredValue> reference;
  try {
    reference = reference_term(lowering, values, m, *port->second.type);
  } catch (const std::exception&) {
    return std::nullopt;  // the view does not type here
  }
  if (!reference) return std::nullopt;
  return MatchDefinition{value_name(m.node, m.output), port->second.id, reference->id, !m.data_dependent};
}

}  // namespace

std::optional<MatchDefinition> add_match_definition(Saturation& s, const LoweredValues& values, const ValueMatch& m) {
  return definition(s, values, m);
}

std::vector<MatchDefinition> add_match_definitions(Saturation& s, const DivergenceReport& numerics) {
  LoweredValues values = lowered_values(s);
  std::vector<MatchDefinition> out;
  for (const auto& m : numerics.value_matches)
    if (auto d = definition(s, values, m)) out.push_back(*d);
  s.graph.rebuild();
  return out;
}

}  // namespace twin::check
