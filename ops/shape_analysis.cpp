#include "ops/shape_analysis.h"

#include "egraph/egraph.h"
#include "ops/op_spec.h"

namespace twin::ops {

using egraph::EClassId;
using egraph::OpId;
using egraph::OpKind;

std::optional<TensorType> typed_symbol_type(std::string_view name) {
  auto colon = name.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  return parse_tensor_type(std::string(name.substr(colon + 1)));
}

namespace {

std::string types_string(const ShapeAnalysis::Data& d) {
  if (!d.tuple) return d.types.empty() ? std::string() : d.types[0].to_string();
  std::string out = "(";
  for (std::size_t i = 0; i < d.types.size(); ++i) out += (i ? ", " : "") + d.types[i].to_string();
  return out + ")";
}

}  // namespace

const ShapeAnalysis::Data& ShapeAnalysis::data(const egraph::EGraph& graph, EClassId cls) const {
  static const Data none;
  EClassId root = graph.find(cls);
  return root < data_.size() ? data_[root] : none;
}

std::optional<TensorType> ShapeAnalysis::type_of(const egraph::EGraph& graph, EClassId cls) const {
  const Data& d = data(graph, cls);
  if (!d.typed || d.tuple || d.types.size() != 1) return std::nullopt;
  return d.types[0];
}

ShapeAnalysis::Data ShapeAnalysis::implied(const egraph::EGraph& graph, OpId op,
                                           std::span<const EClassId> children) const {
  const egraph::OpInfo& info = graph.ops().info(op);
  Data out;
  switch (info.kind) {
    case OpKind::Symbol: {
      if (auto t = typed_symbol_type(info.name)) {
        out.typed = true;
        out.types = {*t};
      } else if (info.name == "true" || info.name == "false") {
        out.attr = AttrValue{info.name == "true"};
      } else if (info.name == "none" || info.name == "None") {
        out.attr = AttrValue{};
      } else if (auto d = parse_dtype(info.name)) {
        out.attr = AttrValue{*d};
      }
      return out;
    }
    case OpKind::Constant:
      out.typed = true;
      out.types = {python_scalar_type(integral_number(info.constant))};
      out.attr = AttrValue{info.constant};
      return out;
    case OpKind::String:
      out.attr = AttrValue{info.name};
      return out;
    case OpKind::Apply:
      break;
  }
  auto child = [&](std::size_t i) -> const Data& { return data(graph, children[i]); };
  if (info.name == "list") {
    std::vector<std::int64_t> ints;
    bool all_ints = true, all_typed = true;
    for (std::size_t i = 0; i < children.size(); ++i) {
      const Data& c = child(i);
      if (c.attr && c.attr->is_int()) ints.push_back(c.attr->as_int());
      else all_ints = false;
      if (c.typed && !c.tuple && c.types.size() == 1) out.types.push_back(c.types[0]);
      else all_typed = false;
    }
    if (all_ints) out.attr = AttrValue{ints};
    out.typed = all_typed;
    out.tuple = true;
    if (!all_typed) out.types.clear();
    return out;
  }
  const OpSpec* spec = find_op(info.name);
  if (!spec) return out;
  std::size_t n = children.size();
  std::size_t named = std::min<std::size_t>(info.attr_names.size(), n);
  std::size_t n_operands = n - named;
  Attributes attrs;
  for (std::size_t i = 0; i < named; ++i) {
    const Data& c = child(n_operands + i);
    if (!c.attr) return out;
    attrs[info.attr_names[i]] = *c.attr;
  }
  bool has_list = false;
  for (const auto& o : spec->operands) has_list |= o.is_list;
  if (named == 0 && !has_list && n_operands > spec->operands.size()) {
    // Positional attributes: the children past the operands, in the OpSpec's order.
    std::size_t extra = n_operands - spec->operands.size();
    if (extra > spec->attributes.size()) return out;
    n_operands = spec->operands.size();
    for (std::size_t i = 0; i < extra; ++i) {
      const Data& c = child(n_operands + i);
      if (!c.attr) return out;
      attrs[spec->attributes[i].name] = *c.attr;
    }
  }
  std::vector<TensorType> operands;
  for (std::size_t i = 0; i < n_operands; ++i) {
    const Data& c = child(i);
    if (!c.typed) return out;
    bool list_position = has_list && i < spec->operands.size() && spec->operands[i].is_list;
    if (list_position) {
      if (!c.tuple) return out;
      operands.insert(operands.end(), c.types.begin(), c.types.end());
    } else {
      if (c.tuple || c.types.size() != 1) return out;
      operands.push_back(c.types[0]);
    }
  }
  try {
    out.types = spec->infer(operands, attrs);
    out.typed = true;
    out.tuple = spec->multi_output || out.types.size() != 1;
  } catch (const std::exception&) {
    out.types.clear();  // does not fit: nothing known
  }
  return out;
}

bool ShapeAnalysis::join(EClassId cls, const Data& d) {
  Data& mine = data_[cls];
  bool changed = false;
  if (d.typed) {
    if (!mine.typed) {
      mine.typed = true;
      mine.tuple = d.tuple;
      mine.types = d.types;
      changed = true;
    } else if (mine.tuple != d.tuple || mine.types != d.types) {
      contradictions_.push_back("class " + std::to_string(cls) + ": " + types_string(mine) + " vs " + types_string(d));
    }
  }
  if (d.attr) {
    if (!mine.attr) {
      mine.attr = d.attr;
      changed = true;
    } else if (!(*mine.attr == *d.attr)) {
      contradictions_.push_back("class " + std::to_string(cls) + ": attribute " + mine.attr->to_string() + " vs " +
                                d.attr->to_string());
    }
  }
  return changed;
}

bool ShapeAnalysis::join_node(const egraph::EGraph& graph, EClassId cls, OpId op, std::span<const EClassId> children) {
  Data d = implied(graph, op, children);
  if (!d.typed && !d.attr) return false;
  return join(cls, d);
}

egraph::MergeResult ShapeAnalysis::merge(EClassId into, EClassId from) {
  Data before_from = data_[from];
  bool into_changed = join(into, before_from);
  return {into_changed, !(data_[into] == before_from)};
}

std::string ShapeAnalysis::describe(const egraph::EGraph& graph, EClassId cls) const {
  const Data& d = data(graph, cls);
  return d.typed ? types_string(d) : std::string();
}

void add_shape_analysis(egraph::EGraph& graph) { graph.add_analysis(std::make_unique<ShapeAnalysis>()); }


namespace {

using egraph::ScalarValue;
using VKind = ScalarValue::Kind;

std::optional<TensorType> arg_type(const egraph::EGraph& g, const ScalarValue& v) {
  if (v.kind != VKind::Class) return std::nullopt;
  const ShapeAnalysis* a = g.analysis<ShapeAnalysis>();
  if (!a) return std::nullopt;
  return a->type_of(g, v.cls);
}

std::optional<std::int64_t> arg_int(const egraph::EGraph& g, const ScalarValue& v) {
  if (v.kind == VKind::Number) {
    if (!is_integer(v.number)) return std::nullopt;
    return boost::multiprecision::numerator(v.number).convert_to<std::int64_t>();
  }
  if (v.kind == VKind::Class) {
    if (auto c = g.constant_of(v.cls); c && is_integer(*c))
      return boost::multiprecision::numerator(*c).convert_to<std::int64_t>();
    if (const ShapeAnalysis* a = g.analysis<ShapeAnalysis>()) {
      const auto& attr = a->data(g, v.cls).attr;
      if (attr && attr->is_int()) return attr->as_int();
    }
  }
  return std::nullopt;
}

}  // namespace

void register_shape_queries(egraph::QueryRegistry& queries) {
  queries.add(
      "shape",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto t = arg_type(g, args[0]);
        if (!t) return ScalarValue::unknown();
        std::string s = t->to_string();
        return ScalarValue::of_string(s.substr(s.find('[')));
      },
      1);
  queries.add(
      "dim",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto t = arg_type(g, args[0]);
        auto i = arg_int(g, args[1]);
        if (!t || !i) return ScalarValue::unknown();
        auto d = normalize_dim(*i, t->rank());
        if (!d) return ScalarValue::unknown();
        return ScalarValue::of_number(Rational(t->shape[*d]));
      },
      2);
  queries.add(
      "rank",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto t = arg_type(g, args[0]);
        return t ? ScalarValue::of_number(Rational(t->rank())) : ScalarValue::unknown();
      },
      1);
  queries.add(
      "numel",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto t = arg_type(g, args[0]);
        return t ? ScalarValue::of_number(Rational(t->numel())) : ScalarValue::unknown();
      },
      1);
  queries.add(
      "dtype",
      [](const egraph::EGraph& g, std::span<const ScalarValue> args) {
        auto t = arg_type(g, args[0]);
        return t ? ScalarValue::of_string(std::string(dtype_name(t->dtype))) : ScalarValue::unknown();
      },
      1);
}

}  // namespace twin::ops
