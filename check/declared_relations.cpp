// Declared parameter relations against two graphs (declared_relations.h): match, instantiate,
// type, convert to a ParameterRelation, confirm on the values when there are values.
#include "check/declared_relations.h"

#include "compiler/term_printer.h"

#include "util/error.h"
#include "ops/dtype.h"
#include "ops/op_spec.h"
#include "ops/tensor.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

namespace twin::check {

namespace {

struct Tensors {
  std::map<std::string, const GraphTensor*> by_name;  // parameters and buffers
  explicit Tensors(const Graph& g) {
    for (const auto& p : g.parameters()) by_name.emplace(p.name, &p);
    for (const auto& b : g.buffers()) by_name.emplace(b.name, &b);
  }
  const GraphTensor* find(const std::string& name) const {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : it->second;
  }
};

std::string describe_bindings(const PatternBindings& bindings) {
  std::string out;
  for (const auto& [k, v] : bindings) out += (out.empty() ? "" : ", ") + k + "=" + v;
  return out;
}

// "port parameter layers.3.self_attn.qkv_proj.weight (i=3)".
std::string who(const std::string& port, bool is_buffer, const PatternBindings& bindings) {
  std::string out = std::string(is_buffer ? "port buffer " : "port parameter ") + port;
  if (!bindings.empty()) out += " (" + describe_bindings(bindings) + ")";
  return out;
}

// A term's attribute as an op attribute value.
std::optional<ops::AttrValue> attribute_value(const Term& t) {
  switch (t.kind) {
    case TermKind::Constant: return ops::AttrValue{t.constant};
    case TermKind::String: return ops::AttrValue{t.name};
    case TermKind::Symbol: {
      if (t.name == "true") return ops::AttrValue{true};
      if (t.name == "false") return ops::AttrValue{false};
      if (auto d = ops::parse_dtype(t.name)) return ops::AttrValue{*d};
      return ops::AttrValue{t.name};
    }
    case TermKind::List: {
      std::vector<std::int64_t> items;
      for (const auto& o : t.operands) {
        if (o->kind != TermKind::Constant || !is_integer(o->constant)) return std::nullopt;
        items.push_back(static_cast<std::int64_t>(boost::multiprecision::numerator(o->constant)));
      }
      return ops::AttrValue{items};
    }
    default: return std::nullopt;
  }
}

// The operand terms of an application, list operands flattened (cat's one list).
std::vector<const Term*> flat_operands(const Term& t) {
  std::vector<const Term*> out;
  for (const auto& o : t.operands) {
    if (o->kind == TermKind::List)
      for (const auto& item : o->operands) out.push_back(item.get());
    else
      out.push_back(o.get());
  }
  return out;
}

// The evaluation of an instantiated term, for its type (always) and its value (when every
// source has one).
class TermEvaluator {
 public:
  TermEvaluator(const Tensors& reference, const SourceLocation& where, std::string context)
      : reference_(reference), where_(where), context_(std::move(context)) {}

  ops::TensorType type(const Term& t) {
    if (t.kind == TermKind::Symbol) return source(t.name)->type;
    if (t.kind == TermKind::Constant) return ops::python_scalar_type(ops::integral_number(t.constant));
    const ops::OpSpec* spec = apply_spec(t);
    std::vector<ops::TensorType> operands;
    for (const Term* o : flat_operands(t)) operands.push_back(type(*o));
    try {
      auto out = spec->infer(operands, ops::complete_attributes(*spec, attributes(t)));
      if (out.size() != 1) fail(t.name + " gives " + std::to_string(out.size()) + " tensors; expected one");
      return out[0];
    } catch (const ops::ShapeError& e) {
      fail("the right side does not type: " + std::string(e.what()));
    }
  }

  // nullopt when a source has no stored value.
  std::optional<ops::Tensor> value(const Term& t) {
    if (t.kind == TermKind::Symbol) {
      const GraphTensor* s = source(t.name);
      if (!s->value) return std::nullopt;
      return *s->value;
    }
    if (t.kind == TermKind::Constant) return ops::Tensor::python_scalar(to_double(t.constant), ops::integral_number(t.constant));
    const ops::OpSpec* spec = apply_spec(t);
    std::vector<ops::Tensor> operands;
    for (const Term* o : flat_operands(t)) {
      auto v = value(*o);
      if (!v) return std::nullopt;
      operands.push_back(*v);
    }
    try {
      return ops::evaluate(spec->name, operands, attributes(t)).at(0);
    } catch (const std::exception& e) {
      fail("evaluating the right side failed: " + std::string(e.what()));
    }
  }

  [[noreturn]] void fail(const std::string& message) const { throw Error(ErrorKind::Value, context_ + ": " + message, where_); }

 private:
  const GraphTensor* source(const std::string& name) const {
    const GraphTensor* s = reference_.find(name);
    if (!s) fail(name + " is not a parameter or buffer of the reference");  // checked earlier, with its location
    return s;
  }
  const ops::OpSpec* apply_spec(const Term& t) const {
    if (t.kind != TermKind::Apply) fail("the right side must be made of reference names and ops; found " + print_term(t));
    const ops::OpSpec* spec = ops::find_op(t.name);
    if (!spec) fail("unknown op '" + t.name + "' on the right side");
    return spec;
  }
  ops::Attributes attributes(const Term& t) const {
    ops::Attributes out;
    for (const auto& [name, value] : t.attributes) {
      auto v = attribute_value(*value);
      if (!v) fail("attribute " + name + "=" + print_term(*value) + " of " + t.name + " is not a number, a dtype, a string or a list of integers");
      out[name] = *v;
    }
    return out;
  }

  const Tensors& reference_;
  SourceLocation where_;
  std::string context_;
};

// Reading the forms of a ParameterRelation out of a term.
class RelationReader {
 public:
  RelationReader(TermEvaluator& evaluator) : ev_(evaluator) {}

  // Fills `r` (port, rank and is_buffer already set).
  void read(const Term& term, ParameterRelation& r) {
    const Term* t = &term;
    // cast(...) and transpose(<not a name>) wrap the relation, in either order.
    for (int wrapper = 0; wrapper < 2; ++wrapper) {
      if (is_apply(*t, "cast") && !r.cast) {
        r.cast = dtype_attribute(*t, "dtype");
        t = single_operand(*t);
        continue;
      }
      if (is_apply(*t, "transpose") && !r.transposed && single_operand(*t)->kind != TermKind::Symbol) {
        const Term* inner = single_operand(*t);
        std::int64_t rank = ev_.type(*inner).rank();
        auto d0 = normalized(int_attribute(*t, "dim0"), rank), d1 = normalized(int_attribute(*t, "dim1"), rank);
        if (rank < 2 || std::min(d0, d1) != rank - 2 || std::max(d0, d1) != rank - 1)
          unsupported("a transpose of anything but a name must swap the last two dims");
        r.transposed = true;
        t = inner;
        continue;
      }
      break;
    }
    if (t->kind == TermKind::Symbol) {
      r.kind = RelationKind::Equal;
      r.sources = {t->name};
      return;
    }
    if (is_apply(*t, "transpose")) {
      const Term* x = name_operand(*t);
      std::int64_t rank = ev_.type(*x).rank();
      auto d0 = normalized(int_attribute(*t, "dim0"), rank), d1 = normalized(int_attribute(*t, "dim1"), rank);
      r.kind = RelationKind::Transpose;
      r.sources = {x->name};
      r.dim = std::min(d0, d1);
      r.dim1 = std::max(d0, d1);
      return;
    }
    if (is_apply(*t, "slice")) {
      const Term* x = name_operand(*t);
      r.kind = RelationKind::Slice;
      r.sources = {x->name};
      slice_bounds(*t, ev_.type(*x), r.dim, r.start, r.end);
      return;
    }
    if (is_apply(*t, "repeat_interleave")) {
      const Term* x = name_operand(*t);
      r.kind = RelationKind::RepeatInterleave;
      r.sources = {x->name};
      r.repeats = int_attribute(*t, "repeats");
      r.dim = normalized(optional_int_attribute(*t, "dim").value_or(0), ev_.type(*x).rank());
      if (!optional_int_attribute(*t, "dim")) unsupported("repeat_interleave needs dim=");
      return;
    }
    if (is_apply(*t, "repeat")) {
      const Term* x = name_operand(*t);
      const Term* counts = attribute(*t, "repeats");
      auto v = counts ? attribute_value(*counts) : std::nullopt;
      auto* list = v ? std::get_if<std::vector<std::int64_t>>(&v->value) : nullptr;
      if (!list) unsupported("repeat needs repeats=[one count per dim]");
      if (static_cast<std::int64_t>(list->size()) != ev_.type(*x).rank())
        unsupported("repeat needs one count per dim of " + x->name);
      int repeated = 0;
      for (std::size_t i = 0; i < list->size(); ++i)
        if ((*list)[i] != 1) {
          ++repeated;
          r.dim = static_cast<std::int64_t>(i);
          r.repeats = (*list)[i];
        }
      if (repeated != 1) unsupported("repeat must repeat exactly one dim");
      r.kind = RelationKind::Repeat;
      r.sources = {x->name};
      return;
    }
    if (is_apply(*t, "cat")) {
      if (t->operands.size() != 1 || t->operands[0]->kind != TermKind::List || t->operands[0]->operands.empty())
        unsupported("cat takes one list of tensors");
      std::int64_t rank = ev_.type(*t).rank();
      r.kind = RelationKind::Concat;
      r.dim = normalized(optional_int_attribute(*t, "dim").value_or(0), rank);
      for (const auto& item : t->operands[0]->operands) {
        ConcatPart part;
        if (item->kind == TermKind::Symbol) {
          part.source = item->name;
          part.start = 0;
          part.end = ev_.type(*item).shape.at(static_cast<std::size_t>(r.dim));
          part.whole = true;
        } else if (is_apply(*item, "slice")) {
          const Term* x = name_operand(*item);
          std::int64_t dim = 0;
          slice_bounds(*item, ev_.type(*x), dim, part.start, part.end);
          if (dim != r.dim) unsupported("a slice inside cat must slice along the cat's dim");
          part.source = x->name;
          part.whole = false;
        } else if (is_apply(*item, "zeros")) {
          // Padding: a block of +0 with its shape and dtype spelled out.
          const ops::TensorType zeros = ev_.type(*item);
          part.zeros = true;
          part.whole = false;
          part.zero_shape = zeros.shape;
          part.zero_dtype = zeros.dtype;
          part.end = zeros.shape.at(static_cast<std::size_t>(r.dim));
        } else {
          unsupported("the parts of cat must be names, slices of names or zeros(shape=..., dtype=...)");
        }
        if (!part.zeros) r.sources.push_back(part.source);
        r.parts.push_back(part);
      }
      if (r.sources.empty()) unsupported("a cat needs at least one reference name among its parts");
      return;
    }
    unsupported("'" + (t->kind == TermKind::Apply ? t->name : print_term(*t)) + "' is not a form a parameter relation takes");
  }

 private:
  TermEvaluator& ev_;

  [[noreturn]] void unsupported(const std::string& why) const {
    ev_.fail(why + "; a relation is a reference name, transpose, slice, repeat, repeat_interleave or cat of names, "
                   "slices and zeros, optionally inside a transpose of the last two dims and a cast");
  }
  static bool is_apply(const Term& t, const char* op) { return t.kind == TermKind::Apply && t.name == op; }
  const Term* single_operand(const Term& t) const {
    if (t.operands.size() != 1) unsupported(t.name + " takes one tensor");
    return t.operands[0].get();
  }
  const Term* name_operand(const Term& t) const {
    const Term* x = single_operand(t);
    if (x->kind != TermKind::Symbol) unsupported(t.name + " must apply to a reference name here");
    return x;
  }
  static const Term* attribute(const Term& t, const std::string& name) {
    for (const auto& [n, v] : t.attributes)
      if (n == name) return v.get();
    return nullptr;
  }
  std::optional<std::int64_t> optional_int_attribute(const Term& t, const std::string& name) const {
    const Term* a = attribute(t, name);
    if (!a) return std::nullopt;
    if (a->kind != TermKind::Constant || !is_integer(a->constant))
      ev_.fail(t.name + "'s " + name + "= must be an integer, found " + print_term(*a));
    return static_cast<std::int64_t>(boost::multiprecision::numerator(a->constant));
  }
  std::int64_t int_attribute(const Term& t, const std::string& name) const {
    auto v = optional_int_attribute(t, name);
    if (!v) ev_.fail(t.name + " needs " + name + "=");
    return *v;
  }
  ops::DType dtype_attribute(const Term& t, const std::string& name) const {
    const Term* a = attribute(t, name);
    std::optional<ops::DType> d;
    if (a && (a->kind == TermKind::Symbol || a->kind == TermKind::String)) d = ops::parse_dtype(a->name);
    if (!d) ev_.fail(t.name + " needs " + name + "= a dtype (f32, bf16, ...)");
    return *d;
  }
  std::int64_t normalized(std::int64_t dim, std::int64_t rank) const {
    auto d = ops::normalize_dim(dim, rank);
    if (!d) ev_.fail("dim " + std::to_string(dim) + " is out of range for a tensor of rank " + std::to_string(rank));
    return *d;
  }
  void slice_bounds(const Term& t, const ops::TensorType& x, std::int64_t& dim, std::int64_t& start, std::int64_t& end) const {
    dim = normalized(optional_int_attribute(t, "dim").value_or(0), x.rank());
    if (optional_int_attribute(t, "step").value_or(1) != 1) unsupported("a slice with a step");
    std::int64_t size = x.shape.at(static_cast<std::size_t>(dim));
    start = optional_int_attribute(t, "start").value_or(0);
    end = optional_int_attribute(t, "end").value_or(size);
    if (start < 0) start += size;
    if (end < 0) end += size;
    if (start < 0 || end > size || start >= end)
      ev_.fail("slice [" + std::to_string(start) + ", " + std::to_string(end) + ") is not a non-empty range of dim " +
               std::to_string(dim) + " of size " + std::to_string(size));
  }
};

std::string type_text(const ops::TensorType& t) { return t.to_string(); }

}  // namespace

std::vector<ExpandedRelation> expand_declared_relations_located(const std::vector<DeclaredRelation>& declared,
                                                                const Graph& reference, const Graph& port) {
  Tensors ref(reference);
  std::vector<NamedTensor> reference_tensors;  // for confirm_relation; built on first need
  bool reference_tensors_built = false;

  struct PortTensor {
    const GraphTensor* tensor;
    bool is_buffer;
  };
  std::vector<PortTensor> port_tensors;
  for (const auto& p : port.parameters()) port_tensors.push_back({&p, false});
  for (const auto& b : port.buffers()) port_tensors.push_back({&b, true});

  const std::string port_file = port.file().empty() ? std::string("the port graph") : port.file();
  const std::string reference_file = reference.file().empty() ? std::string("the reference graph") : reference.file();

  // Which declaration each port tensor matches.
  std::vector<int> match(port_tensors.size(), -1);
  std::vector<PatternBindings> bindings(port_tensors.size());
  std::vector<bool> used(declared.size(), false);
  for (std::size_t k = 0; k < port_tensors.size(); ++k) {
    for (std::size_t d = 0; d < declared.size(); ++d) {
      auto b = match_pattern(declared[d].port, port_tensors[k].tensor->name);
      if (!b) continue;
      if (match[k] >= 0)
        throw Error(ErrorKind::Value,
                    who(port_tensors[k].tensor->name, port_tensors[k].is_buffer, *b) + " is matched by two relations: this one and " +
                        declared[static_cast<std::size_t>(match[k])].port + " at " +
                        declared[static_cast<std::size_t>(match[k])].location.to_string(),
                    declared[d].port_location);
      match[k] = static_cast<int>(d);
      bindings[k] = *b;
      used[d] = true;
    }
  }
  for (std::size_t d = 0; d < declared.size(); ++d)
    if (!used[d])
      throw Error(ErrorKind::Value,
                  "relation " + declared[d].port + " matches no parameter or buffer of " + port_file +
                      (declared[d].placeholders.empty() ? "" : " (a placeholder binds one whole dot-separated segment)"),
                  declared[d].port_location);

  std::vector<ExpandedRelation> out;
  for (std::size_t k = 0; k < port_tensors.size(); ++k) {
    if (match[k] < 0) continue;
    const DeclaredRelation& decl = declared[static_cast<std::size_t>(match[k])];
    const GraphTensor& target = *port_tensors[k].tensor;
    const std::string context = "relation for " + who(target.name, port_tensors[k].is_buffer, bindings[k]);

    InstantiatedRelation inst = instantiate_relation(decl, bindings[k]);
    for (const auto& [name, where] : inst.sources)
      if (!ref.find(name))
        throw Error(ErrorKind::Value,
                    context + ": " + name + " is not a parameter or buffer of the reference " + reference_file, where);

    TermEvaluator evaluator(ref, decl.location, context);
    ops::TensorType type = evaluator.type(*inst.term);
    if (type.dtype != target.type.dtype || type.shape != target.type.shape)
      evaluator.fail("the right side " + print_term(*inst.term) + " has type " + type_text(type) + ", the port tensor " +
                     type_text(target.type));

    ExpandedRelation e;
    e.declared_at = decl.location;
    e.pattern = decl.port;
    e.bindings = bindings[k];
    ParameterRelation& r = e.relation;
    r.port = target.name;
    r.is_buffer = port_tensors[k].is_buffer;
    r.rank = target.type.rank();
    RelationReader(evaluator).read(*inst.term, r);
    r.note = "declared at " + decl.location.to_string();
    r.declared = true;

    // Confirm on the values when both sides have them.
    if (target.value) {
      bool all_sources = std::all_of(r.sources.begin(), r.sources.end(), [&](const std::string& s) { return ref.find(s)->value.has_value(); });
      if (all_sources) {
        if (!reference_tensors_built) {
          reference_tensors = graph_tensors(reference);
          reference_tensors_built = true;
        }
        if (!confirm_relation(r, reference_tensors, *target.value)) {
          std::string detail;
          try {
            auto v = evaluator.value(*r.term());
            if (v && v->shape() == target.value->shape()) {
              std::ostringstream s;
              s << " (max abs difference " << ops::max_abs_difference(v->to(ops::DType::F64), target.value->to(ops::DType::F64)) << ")";
              detail = s.str();
            }
          } catch (const Error&) {
          }
          evaluator.fail("does not hold on the stored values: " + print_term(*r.term()) + " differs from the port's " +
                         target.name + detail);
        }
        r.confirmed = true;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ParameterRelation> expand_declared_relations(const std::vector<DeclaredRelation>& declared,
                                                         const Graph& reference, const Graph& port) {
  std::vector<ParameterRelation> out;
  for (auto& e : expand_declared_relations_located(declared, reference, port)) out.push_back(std::move(e.relation));
  return out;
}

std::vector<ParameterRelation> declared_and_inferred_relations(const std::vector<DeclaredRelation>& declared,
                                                               const Graph& reference, const Graph& port) {
  std::map<std::string, ParameterRelation> declared_by_port;
  for (auto& r : expand_declared_relations(declared, reference, port)) declared_by_port.emplace(r.port, std::move(r));
  std::vector<NamedTensor> rest;
  for (auto& t : graph_tensors(port))
    if (!declared_by_port.count(t.name)) rest.push_back(std::move(t));
  std::map<std::string, ParameterRelation> inferred_by_port;
  if (!rest.empty())
    for (auto& r : infer_relations(graph_tensors(reference), rest)) inferred_by_port.emplace(r.port, std::move(r));
  std::vector<ParameterRelation> out;
  for (const auto& t : graph_tensors(port)) {
    auto d = declared_by_port.find(t.name);
    if (d != declared_by_port.end()) {
      out.push_back(d->second);
      continue;
    }
    auto i = inferred_by_port.find(t.name);
    if (i != inferred_by_port.end()) {
      out.push_back(i->second);
    } else {
      ParameterRelation r;
      r.port = t.name;
      r.is_buffer = t.is_buffer;
      r.note = "no declared relation, and no stored value";
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace twin::check
