#include "verify/z3_rule_walk.h"

#include "ops/op_spec.h"

#include <algorithm>
#include <functional>

namespace twin::verify {

namespace eg = twin::egraph;

namespace {

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

NodeLayout encoder_layout_of(const eg::OpTable& ops, const eg::Pattern& node) {
  try {
    return layout_of(ops, node);
  } catch (const LayoutError& e) {
    throw NotEncodable(e.op(), e.unknown_op() ? "unknown op" : e.what());
  }
}

void collect_roles(const eg::OpTable& ops, const eg::Pattern& p, bool attribute, VarRoles& roles,
                   std::set<std::string>& not_encodable) {
  if (p.is_var()) {
    auto& list = attribute ? roles.integers : roles.tensors;
    if (std::find(list.begin(), list.end(), p.var) == list.end()) list.push_back(p.var);
    return;
  }
  const eg::OpInfo& info = ops.info(p.op);
  if (info.is_leaf()) return;
  if (info.name == "list" || (attribute && info.name == "neg")) {
    for (const auto& c : p.children) collect_roles(ops, c, attribute, roles, not_encodable);
    return;
  }
  NodeLayout layout;
  try {
    layout = encoder_layout_of(ops, p);
  } catch (const NotEncodable& e) {
    // An op ops/ does not know: its children can only be tensors.
    not_encodable.insert(info.name);
    for (const auto& c : p.children) collect_roles(ops, c, false, roles, not_encodable);
    return;
  }
  // An op ops/ knows but Z3 cannot encode (embedding) still has a signature: its operands,
  // attributes and domains are known, so the random tester can instantiate and evaluate it.
  if (!is_encodable(info.name) && info.name != "getitem") not_encodable.insert(info.name);
  const ops::OpSpec* spec = ops::find_op(info.name);
  // The variable an operand is, or only rearranges (squeeze(?i), reshape(?i)...): a domain's
  // dtype (indices, masks) is the variable's too.
  std::function<const eg::Pattern*(const eg::Pattern&)> rearranged = [&](const eg::Pattern& c) -> const eg::Pattern* {
    if (c.is_var()) return &c;
    const eg::OpInfo& ci = ops.info(c.op);
    const twin::ops::OpSpec* rearranging = ci.kind == eg::OpKind::Apply ? twin::ops::find_op(ci.name) : nullptr;
    if (!rearranging || !rearranging->rearranges || c.children.empty()) return nullptr;
    return rearranged(c.children[0]);
  };
  auto floating_attribute = [&](const std::string& name) {
    if (!spec) return false;
    for (const auto& a : spec->attributes)
      if (a.name == name) return a.kind == ops::AttrKind::Float;
    return false;
  };
  for (std::size_t i = 0; i < p.children.size(); ++i) {
    bool attr = !layout.child_attr[i].empty();
    if (attr && p.children[i].is_var() && floating_attribute(layout.child_attr[i])) {
      const std::string& v = p.children[i].var;
      if (std::find(roles.tensors.begin(), roles.tensors.end(), v) == roles.tensors.end()) roles.tensors.push_back(v);
      roles.numbers.insert(v);
      continue;
    }
    collect_roles(ops, p.children[i], attr, roles, not_encodable);
    if (attr) continue;
    const eg::Pattern* var = rearranged(p.children[i]);
    if (!var) continue;
    // Domain hints (the registry's operand domains): masks are boolean, indices integral.
    ops::OperandDomain::Kind kind = ops::OperandDomain::Kind::Any;
    if (spec && i < spec->domains.size()) kind = spec->domains[i].kind;
    if (kind == ops::OperandDomain::Kind::BoolMask) roles.dtype_hint[var->var] = ops::DType::Bool;
    if (kind == ops::OperandDomain::Kind::Index) roles.dtype_hint[var->var] = ops::DType::I64;
  }
}

RuleInfo analyze(const eg::Rewrite& rule, const eg::OpTable& ops) {
  RuleInfo info;
  collect_roles(ops, rule.lhs, false, info.roles, info.not_encodable);
  collect_roles(ops, rule.rhs, false, info.roles, info.not_encodable);
  // A variable used both ways is an integer only if it never names a tensor.
  for (const auto& t : info.roles.tensors) {
    auto& ints = info.roles.integers;
    ints.erase(std::remove(ints.begin(), ints.end(), t), ints.end());
  }
  info.dtypes = info.roles.dtype_hint;
  if (rule.guard) collect_dtype_facts(*rule.guard, info.dtypes);
  return info;
}

// ---- evaluating a pattern on an instance ---------------------------------------------------

ops::AttrValue Walker::attr_of(const eg::Pattern& p) {
  // A number variable's value does not change a type (floating attributes never do): typing
  // uses a placeholder; encoding it symbolically is not supported.
  if (p.is_var() && inputs.count(p.var) && inputs.at(p.var).type.python_scalar) {
    if (shapes_only) return ops::AttrValue{Rational(1)};
    throw NotEncodable("?" + p.var, "a number variable in an attribute position has no Z3 encoding");
  }
  try {
    return attribute_value(ops, p, inst.integers);
  } catch (const std::invalid_argument& e) {
    throw NotEncodable(p.is_var() ? "?" + p.var : ops.info(p.op).name, e.what());
  }
}

std::vector<TVal> Walker::eval(const eg::Pattern& p) {
  if (p.is_var()) {
    auto it = inputs.find(p.var);
    if (it == inputs.end()) throw NotEncodable("?" + p.var, "not a tensor variable");
    return {it->second};
  }
  const eg::OpInfo& info = ops.info(p.op);
  if (info.kind == eg::OpKind::Constant) {
    ops::TensorType t;
    t.python_scalar = true;
    t.dtype = ops::integral_number(info.constant) ? ops::DType::I64 : ops::DType::F32;
    return {TVal{enc.constant(info.constant), t}};
  }
  if (info.kind != eg::OpKind::Apply) throw NotEncodable(info.name, "a leaf in a tensor position");
  if (info.name == "list") {
    std::vector<TVal> out;
    for (const auto& c : p.children)
      for (auto& v : eval(c)) out.push_back(std::move(v));
    return out;
  }
  NodeLayout layout = encoder_layout_of(ops, p);
  std::vector<TVal> operands;
  ops::Attributes attrs;
  for (std::size_t i = 0; i < p.children.size(); ++i) {
    if (layout.child_attr[i].empty()) {
      for (auto& v : eval(p.children[i])) operands.push_back(std::move(v));
    } else {
      attrs[layout.child_attr[i]] = attr_of(p.children[i]);
    }
  }
  if (info.name == "getitem") {
    auto it = attrs.find("index");
    if (it == attrs.end() || !it->second.is_int()) throw NotEncodable("getitem", "index must be an integer");
    std::int64_t i = it->second.as_int();
    if (i < 0) i += static_cast<std::int64_t>(operands.size());
    if (i < 0 || i >= static_cast<std::int64_t>(operands.size())) throw EncodingShapeError("getitem: index out of range");
    ++nodes_done;
    return {operands[i]};
  }
  std::vector<ops::TensorType> types;
  for (const auto& o : operands) types.push_back(o.type);
  std::vector<SymTensor> syms;
  for (const auto& o : operands) syms.push_back(o.sym);
  std::vector<ops::TensorType> inferred;
  // layout_of read the node through the registry, so the op is registered.
  const ops::OpSpec* spec = ops::find_op(info.name);
  if (!spec) throw NotEncodable(info.name, "unknown op");
  try {
    inferred = spec->infer(types, ops::complete_attributes(*spec, attrs));
  } catch (const ops::ShapeError& e) {
    failed_operands.push_back(types);
    failure = info.name + ": " + e.what();
    throw EncodingShapeError(failure);
  }
  std::vector<SymTensor> outs;
  if (shapes_only) {
    std::vector<TVal> result;
    for (const auto& t : inferred) {
      if (t.numel() == 0) {
        failed_operands.push_back(types);
        failure = info.name + ": empty result";
        throw EncodingShapeError(failure);
      }
      result.push_back(TVal{enc.fresh("shape_probe_" + std::to_string(placeholders++), t.shape), t});
    }
    ++nodes_done;
    return result;
  }
  try {
    outs = enc.encode(info.name, syms, attrs);
  } catch (const EncodingShapeError& e) {
    failed_operands.push_back(types);
    failure = e.what();
    throw;
  }
  std::vector<TVal> result;
  for (std::size_t i = 0; i < outs.size(); ++i) {
    if (inferred.size() != outs.size() || inferred[i].shape != outs[i].shape) {
      mismatch_ops.insert(info.name);
      throw NotEncodable(info.name, "the Z3 encoding's shape " + shape_text(outs[i].shape) +
                                        " disagrees with ops' shape inference");
    }
    ops::TensorType t = inferred[i];
    if (outs[i].numel() == 0) {
      failed_operands.push_back(types);
      failure = info.name + ": empty result";
      throw EncodingShapeError(failure);
    }
    result.push_back(TVal{std::move(outs[i]), t});
  }
  ++nodes_done;
  return result;
}

ShapeWalk walk_shapes(const eg::OpTable& ops, const eg::Pattern& side, const Z3Instance& inst, z3::context& ctx) {
  ShapeWalk out;
  Z3Encoder enc(ctx);
  Walker w{ops, enc, inst, {}, 0, {}, "", {}};
  w.shapes_only = true;
  for (const auto& [name, type] : inst.tensors) w.inputs[name] = TVal{enc.fresh(name, type.shape), type};
  try {
    w.eval(side);
  } catch (const EncodingShapeError& e) {
    out.error = e.what();
    out.failed_operands = std::move(w.failed_operands);
  } catch (const std::exception& e) {
    out.error = e.what();
    out.readable = false;
  }
  out.nodes_done = w.nodes_done;
  return out;
}

std::string typing_error(const eg::OpTable& ops, const eg::Pattern& side, const Z3Instance& inst) {
  z3::context ctx;
  ShapeWalk walk = walk_shapes(ops, side, inst, ctx);
  return walk.readable ? walk.error : "";
}

}  // namespace twin::verify
