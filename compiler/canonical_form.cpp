#include "compiler/canonical_form.h"

#include "compiler/term_printer.h"
#include "ops/dtype.h"
#include "ops/op_spec.h"
#include "util/error.h"

#include <map>
#include <set>

namespace twin::compiler {

namespace eg = twin::egraph;

TermPtr attribute_term(const ops::AttrValue& value) {
  return std::visit(
      [](const auto& v) -> TermPtr {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::monostate>) return make_symbol("none");
        else if constexpr (std::is_same_v<V, bool>) return make_symbol(v ? "true" : "false");
        else if constexpr (std::is_same_v<V, Rational>) return make_constant(v);
        else if constexpr (std::is_same_v<V, std::string>) return make_string(v);
        else if constexpr (std::is_same_v<V, ops::DType>) return make_symbol(std::string(ops::dtype_name(v)));
        else {
          std::vector<TermPtr> items;
          for (std::int64_t i : v) items.push_back(make_constant(Rational(i)));
          return make_term_list(std::move(items));
        }
      },
      value.value);
}

// What the canonical form needs to know of an op: from the registry, else from an `op`
// declaration.
struct CanonicalForm::Signature {
  std::string name;  // the registered (canonical) name
  std::size_t operands = 0;
  struct Attribute {
    std::string name;
    bool ints = false;    // written as a list of integers
    TermPtr default_value;  // null: required
  };
  std::vector<Attribute> attributes;
};

CanonicalForm::CanonicalForm(std::shared_ptr<const Declarations> declarations)
    : declarations_(std::move(declarations)) {}

std::optional<CanonicalForm::Signature> CanonicalForm::signature_of(const std::string& name) const {
  Signature s;
  if (const ops::OpSpec* spec = ops::find_op(name)) {
    s.name = spec->name;
    s.operands = spec->operands.size();
    for (const auto& a : spec->attributes)
      s.attributes.push_back({a.name, a.kind == ops::AttrKind::Ints,
                              a.default_value ? attribute_term(*a.default_value) : nullptr});
    return s;
  }
  if (const OpSource* op = declarations_ ? declarations_->op(name) : nullptr) {
    s.name = op->name;
    s.operands = op->operands.size();
    for (const auto& a : op->attributes) s.attributes.push_back({a.name, a.type == "ints", a.default_value});
    return s;
  }
  return std::nullopt;
}

namespace {

bool is_dtype_leaf(const Term& t) { return t.kind == TermKind::Symbol && ops::parse_dtype(t.name).has_value(); }

TermPtr with_children(const Term& t, std::vector<TermPtr> operands, std::vector<std::pair<std::string, TermPtr>> attributes,
                      std::string name) {
  auto out = std::make_shared<Term>(t);
  out->name = std::move(name);
  out->operands = std::move(operands);
  out->attributes = std::move(attributes);
  return out;
}

}  // namespace

TermPtr CanonicalForm::canonical(const TermPtr& term) const {
  if (term->kind != TermKind::Apply && term->kind != TermKind::List) return term;
  std::vector<TermPtr> operands;
  for (const auto& o : term->operands) operands.push_back(canonical(o));
  std::vector<std::pair<std::string, TermPtr>> attributes;
  for (const auto& [n, v] : term->attributes) attributes.emplace_back(n, canonical(v));
  auto as_written = [&] { return with_children(*term, operands, attributes, term->name); };
  if (term->kind == TermKind::List) return as_written();
  auto sig = signature_of(term->name);
  if (!sig) return as_written();

  // Which child is which: operands first; a positional dtype leaf, and positional children past
  // the operands, take the attributes not given by name, in order.
  std::vector<TermPtr> tensor_operands;
  std::map<std::string, TermPtr> given;
  for (const auto& [n, v] : attributes) given[n] = v;
  std::size_t next_attribute = 0;
  for (std::size_t i = 0; i < operands.size(); ++i) {
    if (i < sig->operands && !is_dtype_leaf(*operands[i])) {
      tensor_operands.push_back(operands[i]);
      continue;
    }
    while (next_attribute < sig->attributes.size() && given.count(sig->attributes[next_attribute].name)) ++next_attribute;
    if (next_attribute < sig->attributes.size()) {
      given[sig->attributes[next_attribute++].name] = operands[i];
    } else if (is_dtype_leaf(*operands[i]) && !given.count("dtype")) {
      given["dtype"] = operands[i];
    } else {
      return as_written();  // more arguments than the op takes
    }
  }
  std::vector<std::pair<std::string, TermPtr>> ordered;
  for (const auto& a : sig->attributes) {
    auto it = given.find(a.name);
    if (it == given.end()) {
      if (!a.default_value) return as_written();  // a required attribute is missing
      ordered.emplace_back(a.name, a.default_value);
      continue;
    }
    TermPtr value = it->second;
    if (a.ints && value->kind == TermKind::Constant) value = make_term_list({value}, value->location);
    ordered.emplace_back(a.name, value);
    given.erase(it);
  }
  if (!given.empty()) return as_written();  // an attribute the op does not have
  return with_children(*term, std::move(tensor_operands), std::move(ordered), sig->name);
}

TermPtr CanonicalForm::readable(const TermPtr& term) const {
  if (term->kind != TermKind::Apply && term->kind != TermKind::List) return term;
  std::vector<TermPtr> operands;
  for (const auto& o : term->operands) operands.push_back(readable(o));
  std::vector<std::pair<std::string, TermPtr>> attributes;
  auto sig = term->kind == TermKind::Apply ? signature_of(term->name) : std::nullopt;
  for (const auto& [n, v] : term->attributes) {
    bool is_default = false;
    if (sig)
      for (const auto& a : sig->attributes)
        if (a.name == n && a.default_value && *a.default_value == *v) is_default = true;
    if (!is_default) attributes.emplace_back(n, readable(v));
  }
  return with_children(*term, std::move(operands), std::move(attributes), term->name);
}

bool CanonicalForm::uses_bodies(const Term& term) const {
  if (term.kind == TermKind::Apply && declarations_ && !ops::find_op(term.name))
    if (const OpSource* op = declarations_->op(term.name); op && op->body) return true;
  for (const auto& o : term.operands)
    if (uses_bodies(*o)) return true;
  for (const auto& [n, a] : term.attributes)
    if (uses_bodies(*a)) return true;
  return false;
}

TermPtr CanonicalForm::expand_bodies(const TermPtr& term) const { return expand(term, 0); }

TermPtr CanonicalForm::expand(const TermPtr& term, int depth) const {
  if (depth > 64) throw Error(ErrorKind::Value, "op bodies nest more than 64 deep (a recursive op?)", term->location);
  if (term->kind != TermKind::Apply && term->kind != TermKind::List) return term;
  auto copy = std::make_shared<Term>(*term);
  for (auto& o : copy->operands) o = expand(o, depth);
  for (auto& [n, a] : copy->attributes) a = expand(a, depth);
  if (copy->kind != TermKind::Apply || !declarations_ || ops::find_op(copy->name)) return copy;
  const OpSource* op = declarations_->op(copy->name);
  if (!op || !op->body) return copy;
  std::map<std::string, TermPtr> bound;
  std::size_t positional = copy->operands.size();
  if (positional > op->operands.size() + op->attributes.size())
    throw Error(ErrorKind::Type,
                "op " + op->name + " takes " + std::to_string(op->operands.size()) + " operands, got " + std::to_string(positional),
                op->location);
  for (std::size_t i = 0; i < positional; ++i) {
    const std::string& name = i < op->operands.size() ? op->operands[i] : op->attributes[i - op->operands.size()].name;
    bound[name] = copy->operands[i];
  }
  for (const auto& [n, a] : copy->attributes) bound[n] = a;
  for (const auto& attribute : op->attributes)
    if (!bound.count(attribute.name) && attribute.default_value) bound[attribute.name] = attribute.default_value;
  for (const auto& name : op->operands)
    if (!bound.count(name)) throw Error(ErrorKind::Type, "op " + op->name + " is missing operand " + name, op->location);
  std::function<TermPtr(const TermPtr&)> substitute = [&](const TermPtr& t) -> TermPtr {
    if (t->kind == TermKind::Symbol) {
      auto it = bound.find(t->name);
      return it == bound.end() ? t : it->second;
    }
    if (t->operands.empty() && t->attributes.empty()) return t;
    auto c = std::make_shared<Term>(*t);
    for (auto& o : c->operands) o = substitute(o);
    for (auto& [n, a] : c->attributes) a = substitute(a);
    return c;
  };
  return expand(substitute(op->body), depth + 1);
}

eg::Pattern to_pattern(const Term& term, eg::OpTable& ops) {
  switch (term.kind) {
    case TermKind::Var: return eg::Pattern::Var(term.name);
    case TermKind::Wildcard: return eg::Pattern::Var("_");
    case TermKind::Symbol: return eg::Pattern::Node(ops.intern_symbol(term.name));
    case TermKind::Constant: return eg::Pattern::Node(ops.intern_constant(term.constant));
    case TermKind::String: return eg::Pattern::Node(ops.intern_string(term.name));
    case TermKind::EClass: throw Error(ErrorKind::Type, "an e-class id cannot appear in a pattern", term.location);
    case TermKind::Placeholder:
      throw Error(ErrorKind::Type, "the placeholder {" + term.name + "} cannot appear in a pattern", term.location);
    case TermKind::List:
    case TermKind::Apply: {
      std::vector<std::string> names;
      std::vector<eg::Pattern> children;
      for (const auto& operand : term.operands) children.push_back(to_pattern(*operand, ops));
      for (const auto& [name, value] : term.attributes) {
        names.push_back(name);
        children.push_back(to_pattern(*value, ops));
      }
      auto arity = static_cast<std::uint32_t>(children.size());
      return eg::Pattern::Node(ops.intern_apply(term.kind == TermKind::List ? "list" : term.name, arity, names),
                               std::move(children));
    }
  }
  throw Error(ErrorKind::Type, "not a pattern", term.location);
}

eg::EClassId add_term(eg::EGraph& graph, const Term& term, const std::function<eg::EClassId(const Term&)>& eclass_leaf) {
  eg::OpTable& ops = graph.ops();
  switch (term.kind) {
    case TermKind::Symbol: return graph.add(ops.intern_symbol(term.name));
    case TermKind::Constant: return graph.add(ops.intern_constant(term.constant));
    case TermKind::String: return graph.add(ops.intern_string(term.name));
    case TermKind::Var:
      throw Error(ErrorKind::Value, "a term with pattern variables (?" + term.name + ") cannot be added to an e-graph",
                  term.location);
    case TermKind::Wildcard: throw Error(ErrorKind::Value, "`_` cannot be added to an e-graph", term.location);
    case TermKind::Placeholder:
      throw Error(ErrorKind::Value, "the placeholder {" + term.name + "} cannot be added to an e-graph", term.location);
    case TermKind::EClass: return eclass_leaf(term);
    case TermKind::List:
    case TermKind::Apply: {
      std::vector<eg::EClassId> children;
      std::vector<std::string> names;
      for (const auto& operand : term.operands) children.push_back(add_term(graph, *operand, eclass_leaf));
      for (const auto& [n, value] : term.attributes) {
        names.push_back(n);
        children.push_back(add_term(graph, *value, eclass_leaf));
      }
      eg::OpId op = ops.intern_apply(term.kind == TermKind::List ? "list" : term.name,
                                     static_cast<std::uint32_t>(children.size()), names);
      return graph.add(op, children);
    }
  }
  throw Error(ErrorKind::Value, "not a term", term.location);
}

TermPtr from_rec_expr(const eg::OpTable& ops, const eg::RecExpr& expr, eg::EClassId index) {
  const eg::ENode& node = expr[index];
  const eg::OpInfo& info = ops.info(node.op);
  switch (info.kind) {
    case eg::OpKind::Symbol: return make_symbol(info.name);
    case eg::OpKind::Constant: return make_constant(info.constant);
    case eg::OpKind::String: return make_string(info.name);
    case eg::OpKind::Apply: break;
  }
  auto t = std::make_shared<Term>();
  std::size_t positional = node.children.size() - info.attr_names.size();
  t->kind = info.name == "list" && info.attr_names.empty() ? TermKind::List : TermKind::Apply;
  t->name = t->kind == TermKind::List ? "" : info.name;
  for (std::size_t i = 0; i < node.children.size(); ++i) {
    TermPtr child = from_rec_expr(ops, expr, node.children[i]);
    if (i < positional) t->operands.push_back(child);
    else t->attributes.emplace_back(info.attr_names[i - positional], child);
  }
  return t;
}

TermPtr from_rec_expr(const eg::OpTable& ops, const eg::RecExpr& expr) {
  if (expr.empty()) return make_symbol("?");
  return from_rec_expr(ops, expr, expr.root());
}

std::string pattern_text(const eg::Pattern& pattern, const eg::OpTable& ops) {
  if (pattern.is_var()) return "?" + pattern.var;
  const eg::OpInfo& info = ops.info(pattern.op);
  switch (info.kind) {
    case eg::OpKind::Symbol: return info.name;
    case eg::OpKind::Constant: return print_term(*make_constant(info.constant));
    case eg::OpKind::String: return quote_string(info.name);
    case eg::OpKind::Apply: break;
  }
  std::size_t positional = pattern.children.size() - info.attr_names.size();
  bool list = info.name == "list" && info.attr_names.empty();
  std::string out = list ? "[" : info.name + "(";
  for (std::size_t i = 0; i < pattern.children.size(); ++i) {
    if (i) out += ", ";
    if (i >= positional) out += info.attr_names[i - positional] + "=";
    out += pattern_text(pattern.children[i], ops);
  }
  return out + (list ? "]" : ")");
}

}  // namespace twin::compiler
