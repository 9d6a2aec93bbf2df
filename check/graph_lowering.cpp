#include "check/graph_lowering.h"

#include "util/error.h"
#include "util/exact_rational.h"
#include "ops/op_spec.h"
#include "ops/shape_analysis.h"
#include "compiler/canonical_form.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace twin::check {

namespace eg = twin::egraph;
using ops::AttrValue;
using ops::Attributes;
using ops::TensorType;

namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(ErrorKind::Value, message); }

std::vector<TensorType> operand_types(const std::vector<LoweredValue>& operands, const std::string& op) {
  std::vector<TensorType> types;
  for (const auto& o : operands) {
    if (!o.type) fail("`" + op + "`: an operand has no known type");
    types.push_back(*o.type);
  }
  return types;
}

std::string typed_name(const std::string& name, const TensorType& type) { return name + ": " + type.to_string(); }

}  // namespace

LoweredValue GraphLowering::leaf(const std::string& name, const TensorType& type, const std::optional<ops::Tensor>& value) {
  eg::OpId op = graph_.ops().intern_symbol(typed_name(name, type));
  if (value) values_.set_leaf_value(op, *value);
  return {graph_.add(op), type};
}

LoweredValue GraphLowering::constant(const std::string& name, const TensorType& type,
                                    const std::optional<ops::Tensor>& value) {
  if (value && type.rank() == 0 && type.dtype == ops::DType::I64 && !type.python_scalar) {
    double v = value->to_doubles().at(0);
    if (std::abs(v) < 9007199254740992.0)  // exact below 2^53
      return {graph_.add(graph_.ops().intern_constant(Rational(static_cast<std::int64_t>(v)))),
              TensorType{ops::DType::I64, {}, true}};
  }
  // A 0-d floating constant (a traced `torch.tensor(float("-inf"))`, a lifted scalar) is
  // `full(shape=[], fill_value=v, dtype=its dtype)`: the same tensor, exactly (v is the stored
  // value), in the form rules about numbers read (a mask's fill, a divisor).
  if (value && type.rank() == 0 && ops::is_floating(type.dtype) && !type.python_scalar) {
    const double v = value->to_doubles().at(0);
    Attributes a;
    a["shape"] = AttrValue{std::vector<std::int64_t>{}};
    if (std::isnan(v)) a["fill_value"] = AttrValue{std::string("nan")};
    else if (std::isinf(v)) a["fill_value"] = AttrValue{std::string(v > 0 ? "inf" : "-inf")};
    else a["fill_value"] = AttrValue{exact_rational(v)};
    a["dtype"] = AttrValue{type.dtype};
    return add_op("full", {}, std::move(a));
  }
  return leaf(name, type, value);
}

eg::EClassId GraphLowering::attribute_leaf(const AttrValue& value) {
  // The same leaves a rule's canonical pattern has for the value (compiler::attribute_term).
  return compiler::add_term(graph_, *compiler::attribute_term(value), [](const Term&) -> eg::EClassId {
    throw Error(ErrorKind::Value, "an attribute value holds no e-class");
  });
}

LoweredValue GraphLowering::add_op(const std::string& name, const std::vector<LoweredValue>& operands,
                                   Attributes attributes) {
  const ops::OpSpec* spec = ops::find_op(name);
  if (!spec) fail("`" + name + "` is not an op Twin knows");
  try {
    attributes = ops::complete_attributes(*spec, attributes);
  } catch (const std::exception& e) {
    fail("`" + name + "`: " + e.what());
  }
  std::vector<TensorType> types = operand_types(operands, name);
  TensorType out;
  try {
    std::vector<TensorType> outs = spec->infer(types, attributes);
    if (outs.size() != 1) fail("`" + name + "` gives " + std::to_string(outs.size()) + " results where one is expected");
    out = outs[0];
    // The canonical form each op declares (ops/op_spec.h), and its identities.
    if (spec->canonicalize) spec->canonicalize(types, out, attributes);
    if (spec->is_identity && spec->is_identity(types, out, attributes)) return operands[0];
  } catch (const ops::ShapeError& e) {
    fail("`" + name + "`: " + e.what());
  }
  if (name == "expand" && operands[0].type && operands[0].type->numel() == out.numel())
    // An expand that repeats nothing only inserts leading unit dims (PyTorch's `x[idx] = v`
    // squeezes v's leading ones, index_put broadcasts them back): a reshape.
    return add_op("reshape", operands, {{"shape", AttrValue{out.shape}}});
  if (name == "reshape" && operands[0].type) {
    // A reshape of a reshape is one reshape of the first one's input.
    if (const eg::Explainer* ex = graph_.explainer()) {
      eg::OpId inner = ex->term_op(operands[0].id);
      if (graph_.ops().info(inner).kind == eg::OpKind::Apply && graph_.ops().info(inner).name == "reshape") {
        eg::EClassId source = ex->term_children(operands[0].id)[0];
        const auto* shapes = graph_.analysis<ops::ShapeAnalysis>();
        if (auto t = shapes ? shapes->type_of(graph_, source) : std::nullopt)
          return add_op("reshape", {LoweredValue{source, *t}}, {{"shape", AttrValue{out.shape}}});
      }
    }
    // Dropping or inserting one leading unit dim is a squeeze or an unsqueeze of the first dim
    // (a batch of one laid out as tokens, and back).
    const auto& in = operands[0].type->shape;
    if (in.size() == out.shape.size() + 1 && in[0] == 1 && std::equal(out.shape.begin(), out.shape.end(), in.begin() + 1))
      return add_op("squeeze", operands, {{"dim", AttrValue::of_int(-static_cast<std::int64_t>(in.size()))}});
    if (out.shape.size() == in.size() + 1 && out.shape[0] == 1 && std::equal(in.begin(), in.end(), out.shape.begin() + 1))
      return add_op("unsqueeze", operands, {{"dim", AttrValue::of_int(-static_cast<std::int64_t>(out.shape.size()))}});
  }

  std::vector<eg::EClassId> children;
  bool list_operand = !spec->operands.empty() && spec->operands[0].is_list;
  if (list_operand) {
    std::vector<eg::EClassId> items;
    for (const auto& o : operands) items.push_back(o.id);
    children.push_back(graph_.add(graph_.ops().intern_apply("list", static_cast<std::uint32_t>(items.size())), items));
  } else {
    for (const auto& o : operands) children.push_back(o.id);
  }
  std::vector<std::string> attr_names;
  for (const auto& a : spec->attributes) {
    attr_names.push_back(a.name);
    children.push_back(attribute_leaf(attributes.at(a.name)));
  }
  eg::OpId op = graph_.ops().intern_apply(name, static_cast<std::uint32_t>(children.size()), attr_names);
  return {graph_.add(op, children), out};
}

std::vector<LoweredValue> GraphLowering::add_pieces(const std::string& name, const LoweredValue& input,
                                                    Attributes attributes) {
  const ops::OpSpec* spec = ops::find_op(name);
  if (!spec || !input.type) fail("`" + name + "`: cannot split this operand");
  attributes = ops::complete_attributes(*spec, attributes);
  std::vector<TensorType> outs = spec->infer({*input.type}, attributes);
  std::int64_t dim = attributes.at("dim").as_int();
  std::vector<LoweredValue> pieces;
  std::int64_t start = 0;
  for (const auto& t : outs) {
    std::int64_t size = t.shape[static_cast<std::size_t>(*ops::normalize_dim(dim, t.rank()))];
    Attributes s{{"dim", AttrValue::of_int(dim)}, {"start", AttrValue::of_int(start)},
                 {"end", AttrValue::of_int(start + size)}};
    pieces.push_back(add_op("slice", {input}, s));
    start += size;
  }
  return pieces;
}

std::vector<LoweredValue> GraphLowering::add_tuple(const std::string& name, const std::vector<LoweredValue>& operands,
                                                   Attributes attributes) {
  const ops::OpSpec* spec = ops::find_op(name);
  if (!spec) fail("`" + name + "` is not an op Twin knows");
  std::vector<TensorType> types = operand_types(operands, name);
  std::vector<TensorType> outs;
  try {
    attributes = ops::complete_attributes(*spec, attributes);
    outs = spec->infer(types, attributes);
    if (spec->canonicalize && !outs.empty()) spec->canonicalize(types, outs[0], attributes);
  } catch (const ops::ShapeError& e) {
    fail("`" + name + "`: " + e.what());
  }
  std::vector<eg::EClassId> children;
  for (const auto& o : operands) children.push_back(o.id);
  std::vector<std::string> attr_names;
  for (const auto& a : spec->attributes) {
    attr_names.push_back(a.name);
    children.push_back(attribute_leaf(attributes.at(a.name)));
  }
  eg::EClassId tuple = graph_.add(graph_.ops().intern_apply(name, static_cast<std::uint32_t>(children.size()), attr_names), children);
  std::vector<LoweredValue> out;
  eg::OpId getitem = graph_.ops().intern_apply("getitem", 2, {"index"});
  for (std::size_t k = 0; k < outs.size(); ++k) {
    eg::EClassId index = attribute_leaf(AttrValue::of_int(static_cast<std::int64_t>(k)));
    out.push_back({graph_.add(getitem, std::vector<eg::EClassId>{tuple, index}), outs[k]});
  }
  return out;
}

LoweredValue GraphLowering::add_term(const Term& term, const std::map<std::string, LoweredValue>& sources) {
  switch (term.kind) {
    case TermKind::Symbol: {
      auto it = sources.find(term.name);
      if (it == sources.end()) fail("relation: `" + term.name + "` names no reference parameter");
      return it->second;
    }
    case TermKind::Apply:
      break;
    default:
      fail("relation: unexpected `" + print_term(term) + "`");
  }
  std::vector<LoweredValue> operands;
  for (const auto& o : term.operands) {
    if (o->kind == TermKind::List) {
      for (const auto& item : o->operands) operands.push_back(add_term(*item, sources));
    } else {
      operands.push_back(add_term(*o, sources));
    }
  }
  Attributes attributes;
  for (const auto& [name, value] : term.attributes) {
    const Term& v = *value;
    if (v.kind == TermKind::Constant) attributes[name] = AttrValue{v.constant};
    else if (v.kind == TermKind::String) attributes[name] = AttrValue{v.name};
    else if (v.kind == TermKind::Symbol && (v.name == "true" || v.name == "false")) attributes[name] = AttrValue{v.name == "true"};
    else if (v.kind == TermKind::Symbol && ops::parse_dtype(v.name)) attributes[name] = AttrValue{*ops::parse_dtype(v.name)};
    else if (v.kind == TermKind::List) {
      std::vector<std::int64_t> ints;
      for (const auto& item : v.operands) {
        if (item->kind != TermKind::Constant || !is_integer(item->constant)) fail("relation: bad attribute " + name);
        ints.push_back(static_cast<std::int64_t>(item->constant));
      }
      attributes[name] = AttrValue{ints};
    } else {
      fail("relation: bad attribute `" + name + "`");
    }
  }
  return add_op(term.name, operands, attributes);
}

LoweredGraph GraphLowering::lower(const Graph& graph, const std::map<std::string, LoweredValue>& sources) {
  LoweredGraph out;
  // Values by reference: "name" or "name[i]".
  std::map<std::string, LoweredValue> values = sources;
  auto lookup = [&](const GraphRef& ref, const GraphNode& node) -> LoweredValue {
    auto it = values.find(ref.output ? ref.to_string() : ref.name);
    if (it == values.end()) fail(graph.file() + ": node " + node.name + " reads " + ref.to_string() + ", which is not lowered");
    return it->second;
  };
  for (const GraphNode& node : graph.nodes()) {
    std::vector<LoweredValue> results;
    try {
      if (node.opaque) {
        // Opaque: an uninterpreted op over its inputs; equal only to itself.
        std::vector<eg::EClassId> children;
        for (const auto& r : node.reads) children.push_back(lookup(GraphRef{r, 0}, node).id);
        eg::OpId op = graph_.ops().intern_apply("opaque " + node.aten_op, static_cast<std::uint32_t>(children.size()));
        eg::EClassId id = graph_.add(op, children);
        for (std::size_t i = 0; i < node.outputs.size(); ++i) {
          if (node.outputs.size() == 1) results.push_back({id, node.outputs[0]});
          else {
            eg::OpId pick = graph_.ops().intern_apply("output " + std::to_string(i), 1);
            results.push_back({graph_.add(pick, std::vector<eg::EClassId>{id}), node.outputs[i]});
          }
        }
      } else {
        std::vector<std::vector<LoweredValue>> steps;
        for (const GraphStep& step : node.steps) {
          std::vector<LoweredValue> operands;
          Attributes attributes = step.attributes;
          for (std::size_t i = 0; i < step.operands.size(); ++i) {
            const GraphOperand& o = step.operands[i];
            LoweredValue v;
            switch (o.kind) {
              case GraphOperand::Kind::Value: v = lookup(o.ref, node); break;
              case GraphOperand::Kind::Step:
                if (o.step < 0 || static_cast<std::size_t>(o.step) >= steps.size() ||
                    static_cast<std::size_t>(o.output) >= steps[o.step].size())
                  fail("bad step reference");
                v = steps[o.step][o.output];
                break;
              case GraphOperand::Kind::Scalar: {
                Rational r(o.scalar);
                eg::EClassId id = graph_.add(graph_.ops().intern_constant(r));
                v = {id, TensorType{o.integral ? ops::DType::I64 : ops::DType::F32, {}, true}};
                break;
              }
            }
            if (static_cast<int>(i) == step.dtype_like) {
              if (!v.type) fail("dtype of an untyped operand");
              attributes["dtype"] = AttrValue{v.type->dtype};
              continue;
            }
            operands.push_back(v);
          }
          const ops::OpSpec* step_spec = ops::find_op(step.op);
          if (step_spec && step_spec->multi_output && step_spec->outputs_are_slices) {
            if (operands.size() != 1) fail("`" + step.op + "` takes one operand");
            steps.push_back(add_pieces(step.op, operands[0], attributes));
          } else if (step_spec && step_spec->multi_output) {
            steps.push_back(add_tuple(step.op, operands, attributes));
          } else {
            steps.push_back({add_op(step.op, operands, attributes)});
          }
        }
        if (steps.empty()) fail("no steps");
        if (node.results.empty()) results = steps.back();
        else
          for (auto [s, o] : node.results) {
            if (s < 0 || static_cast<std::size_t>(s) >= steps.size() || static_cast<std::size_t>(o) >= steps[s].size())
              fail("bad result reference");
            results.push_back(steps[s][o]);
          }
      }
    } catch (const Error& e) {
      fail(graph.file() + ": node " + node.name + " (" + node.aten_op + ", module " +
           (node.module.empty() ? "<model>" : node.module) + "): " + e.message());
    } catch (const std::exception& e) {
      fail(graph.file() + ": node " + node.name + " (" + node.aten_op + "): " + e.what());
    }
    for (std::size_t i = 0; i < results.size(); ++i) {
      GraphRef ref{node.name, static_cast<int>(i)};
      values[i ? ref.to_string() : node.name] = results[i];
      out.nodes.push_back(LoweredNode{node.name, static_cast<int>(i), node.module, node.twin_op(), node.aten_op, results[i]});
    }
  }
  for (const GraphRef& ref : graph.outputs()) {
    auto it = values.find(ref.output ? ref.to_string() : ref.name);
    if (it == values.end()) fail(graph.file() + ": output " + ref.to_string() + " is not lowered");
    out.outputs.push_back(it->second);
  }
  return out;
}

}  // namespace twin::check
