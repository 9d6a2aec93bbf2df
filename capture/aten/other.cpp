// ATen's other ops onto Twin's: copies (clone, detach, eval-mode dropout, copy_ into a
// tensor), casts in their many spellings (to, _to_copy, type_as, x.float()), tensors created
// from sizes (full, zeros, ones, empty, their `_like` and `new_` forms, fill_, arange), masks
// (triu, tril, masked_fill, where), embedding, layer_norm, scaled_dot_product_attention, and
// topk, sort and histc.
#include "capture/aten/mapping_context.h"

#include <cmath>
#include <map>

namespace twin::capture {

namespace {

void map_identity(MappingContext& c) { c.step(c.op(), {c.tensor()}); }

// alias, lift_fresh, dropout in eval mode, ...: a copy of the input.
void map_copy(MappingContext& c) {
  if (c.op().find("dropout") != std::string::npos) {
    const AtenValue *p = c.arg(1, "p"), *train = c.arg(2, "train");
    bool on = train && train->is_bool() && train->bool_value() && !(is_number(p) && p->number() == 0);
    if (on) throw Unmappable{"dropout in training mode"};
  }
  c.step("clone", {c.tensor(0, "input")});
}

// copy(self, src) (copy_ in place): src cast to self's dtype and broadcast to its shape.
void map_copy_into(MappingContext& c) {
  const ops::TensorType& type = c.type_of(c.tensor());
  int cast = c.step("cast", {c.operand(1, "src")}, {{"dtype", dtype_attr(type.dtype)}});
  c.step("expand", {step_result(cast)}, {{"shape", ints_attr(type.shape)}});
}

// to(self, dtype, ...), to(self, device, dtype, ...), to(self, other, ...), type(self, dtype),
// _to_copy(self, dtype=...). A move to another device keeps the recorded dtype.
void map_to(MappingContext& c) {
  const std::string& op = c.op();
  const AtenCall& call = c.call();
  if (op != "_to_copy" && is_tensor(c.arg(1, "other"))) {
    c.cast_like(c.tensor(), c.tensor(1, "other"));
    return;
  }
  std::optional<ops::DType> dt;
  if (auto it = call.kwargs.find("dtype"); it != call.kwargs.end() && !it->second.is_none()) dt = dtype_of(&it->second);
  for (std::size_t i = 1; !dt && i < call.args.size(); ++i)
    if (call.args[i].is_dtype()) dt = dtype_of(&call.args[i]);
  if (!dt && op == "to" && call.args.size() >= 2) {
    // ScalarType codes: to(self, dtype, non_blocking, copy, memory_format), or with a device first.
    const AtenValue* candidate = &call.args[1];
    if (candidate->is_device() && call.args.size() >= 3) candidate = &call.args[2];
    if (candidate->is_int()) dt = dtype_of(candidate);
    else if (candidate->is_string()) dt = dtype_from_name(candidate->string());
  }
  if (!dt) dt = c.out_dtype();
  c.step("cast", {c.tensor()}, {{"dtype", dtype_attr(*dt)}});
}

void map_type_as(MappingContext& c) { c.cast_like(c.tensor(), c.tensor(1, "other")); }

// x.float(), x.long(), ...
void map_cast_method(MappingContext& c) {
  static const std::map<std::string, ops::DType, std::less<>> dtypes = {
      {"float", ops::DType::F32}, {"double", ops::DType::F64}, {"half", ops::DType::F16}, {"bfloat16", ops::DType::BF16},
      {"long", ops::DType::I64},  {"int", ops::DType::I32},    {"bool", ops::DType::Bool}};
  if (!is_tensor(c.arg(0, "self"))) throw Unmappable{"Twin has no mapping for this op"};
  c.step("cast", {c.tensor()}, {{"dtype", dtype_attr(dtypes.at(c.op()))}});
}

// full, zeros, ones, empty, their `_like` and `new_` forms, scalar_tensor, fill_ and zero_. The
// recorded shape and dtype decide: they are what PyTorch chose, its default dtype included.
// `empty` has no defined values; Twin gives zeros, one of the values it may hold.
void map_filled(MappingContext& c) {
  std::string base = c.op();
  if (base.size() > 5 && base.substr(base.size() - 5) == "_like") base.resize(base.size() - 5);
  if (base.rfind("new_", 0) == 0) base = base.substr(4);
  if (base == "empty" || base == "zero" || base == "empty_strided") base = "zeros";
  if (base == "scalar_tensor" || base == "fill") base = "full";
  ops::Attributes at{{"shape", ints_attr(c.out_shape())}};
  if (base == "full") {
    std::size_t at_index = c.op() == "scalar_tensor" ? 0 : c.op() == "new_full" ? 2 : 1;
    const AtenValue* f = c.arg(at_index, c.op() == "scalar_tensor" ? "s" : c.op() == "fill" ? "value" : "fill_value");
    if (!is_number(f) && !(f && f->is_bool())) throw Unmappable{"fill_value is not a number"};
    at["fill_value"] = f->is_bool() ? int_attr(f->bool_value() ? 1 : 0) : number_attr(*f);
  }
  at["dtype"] = dtype_attr(c.out_dtype());
  c.step(base, {}, at);
}

// arange(end), arange(start, end), arange(start, end, step), positionally or by keyword.
void map_arange(MappingContext& c) {
  const AtenCall& call = c.call();
  std::vector<const AtenValue*> numbers;
  for (std::size_t i = 0; i < call.args.size() && i < 3 && is_number(&call.args[i]); ++i) numbers.push_back(&call.args[i]);
  for (const char* k : {"start", "end", "step"})
    if (auto it = call.kwargs.find(k); it != call.kwargs.end() && is_number(&it->second)) numbers.push_back(&it->second);
  ops::Attributes at;
  if (numbers.size() == 1) at = {{"start", int_attr(0)}, {"end", number_attr(*numbers[0])}, {"step", int_attr(1)}};
  else if (numbers.size() == 2)
    at = {{"start", number_attr(*numbers[0])}, {"end", number_attr(*numbers[1])}, {"step", int_attr(1)}};
  else if (numbers.size() == 3)
    at = {{"start", number_attr(*numbers[0])}, {"end", number_attr(*numbers[1])}, {"step", number_attr(*numbers[2])}};
  else throw Unmappable{"arange with " + std::to_string(numbers.size()) + " bounds"};
  at["dtype"] = dtype_attr(c.out_dtype());
  c.step("arange", {}, at);
}

void map_triangle(MappingContext& c) {
  const AtenValue* d = c.arg(1, "diagonal");
  c.step(c.op(), {c.tensor()}, {{"diagonal", int_attr(d ? int_of(d, "diagonal") : 0)}});
}

void map_embedding(MappingContext& c) { c.step("embedding", {c.tensor(0, "weight"), c.tensor(1, "indices")}); }

// masked_fill(self, mask, number); masked_fill.Tensor(self, mask, value) is where(mask, value, self).
void map_masked_fill(MappingContext& c) {
  const AtenValue* v = c.arg(2, "value");
  if (is_tensor(v)) {
    c.step("where", {c.tensor(1, "mask"), c.tensor(2, "value"), c.tensor()});
    return;
  }
  if (!is_number(v) && !(v && v->is_bool())) throw Unmappable{"masked_fill value is not a number"};
  ops::AttrValue value = v->is_bool() ? int_attr(v->bool_value() ? 1 : 0) : number_attr(*v);
  c.step("masked_fill", {c.tensor(), c.tensor(1, "mask")}, {{"value", value}});
}

void map_where(MappingContext& c) {
  c.step("where", {c.tensor(0, "condition"), c.operand(1, "self"), c.operand(2, "other")});
}

void map_layer_norm(MappingContext& c) {
  std::vector<GraphOperand> operands{c.tensor(0, "input")};
  bool has_weight = is_tensor(c.arg(2, "weight")), has_bias = is_tensor(c.arg(3, "bias"));
  if (has_bias && !has_weight) throw Unmappable{"layer_norm with a bias but no weight"};
  if (has_weight) operands.push_back(c.tensor(2, "weight"));
  if (has_bias) operands.push_back(c.tensor(3, "bias"));
  ops::Attributes at{{"normalized_shape", ints_attr(ints_of(c.arg(1, "normalized_shape"), "normalized_shape"))}};
  if (auto e = c.arg(4, "eps"); is_number(e)) at["eps"] = number_attr(*e);
  c.step("layer_norm", operands, at);
}

// scaled_dot_product_attention, normalized to one form: the default scale is written out,
// `is_causal` becomes its explicit mask
// (tril of ones [L, S], bool) and `enable_gqa` with fewer key/value heads becomes
// repeat_interleave of keys and values over the heads, so the op that reaches Twin always has
// is_causal and enable_gqa false, and one declaration of its meaning (stdlib/attention.rules)
// covers every spelling. (With both a mask and is_causal, the op stays as written: PyTorch
// rejects it, and so does Twin's evaluation.)
void map_attention(MappingContext& c) {
  GraphOperand q = c.tensor(0, "query"), k = c.tensor(1, "key"), v = c.tensor(2, "value");
  bool has_mask = is_tensor(c.arg(3, "attn_mask"));
  if (auto p = c.arg(4, "dropout_p"); p && !(is_number(p) && p->number() == 0)) throw Unmappable{"attention dropout"};
  bool causal = false, gqa = false;
  if (auto b = c.arg(5, "is_causal"); b && b->is_bool()) causal = b->bool_value();
  if (auto g = c.arg(7, "enable_gqa"); g && g->is_bool()) gqa = g->bool_value();
  ops::Attributes at;
  const ops::TensorType &qt = c.type_of(q), &kt = c.type_of(k), &vt = c.type_of(v);
  // The default scale written out, as PyTorch computes it: 1 / sqrt(E) in double.
  if (auto s = c.arg(6, "scale"); is_number(s)) at["scale"] = number_attr(*s);
  else if (qt.rank() >= 1 && qt.shape.back() > 0)
    at["scale"] = ops::AttrValue{Rational(1.0 / std::sqrt(static_cast<double>(qt.shape.back())))};
  if (gqa && qt.rank() >= 3 && kt.rank() >= 3 && vt.rank() >= 3) {
    std::int64_t hq = qt.shape[qt.rank() - 3], hk = kt.shape[kt.rank() - 3], hv = vt.shape[vt.rank() - 3];
    if (hk > 0 && hk == hv && hq % hk == 0) {
      if (hq != hk) {
        ops::Attributes repeat{{"repeats", int_attr(hq / hk)}, {"dim", int_attr(-3)}};
        k = step_result(c.step("repeat_interleave", {k}, repeat));
        v = step_result(c.step("repeat_interleave", {v}, repeat));
      }
      gqa = false;
    }
  }
  std::vector<GraphOperand> operands{q, k, v};
  if (has_mask) operands.push_back(c.tensor(3, "attn_mask"));
  if (causal && !has_mask && qt.rank() >= 2 && kt.rank() >= 2) {
    int ones = c.step("ones", {}, {{"shape", ints_attr({qt.shape[qt.rank() - 2], kt.shape[kt.rank() - 2]})},
                                   {"dtype", dtype_attr(ops::DType::Bool)}});
    operands.push_back(step_result(c.step("tril", {step_result(ones)}, {{"diagonal", int_attr(0)}})));
    causal = false;
  }
  if (causal) at["is_causal"] = ops::AttrValue{true};
  if (gqa) at["enable_gqa"] = ops::AttrValue{true};
  c.step("scaled_dot_product_attention", operands, at);
}

// topk(self, k, dim=-1, largest=True, sorted=True) -> (values, indices).
void map_topk(MappingContext& c) {
  ops::Attributes at{{"k", int_attr(int_of(c.arg(1, "k"), "k"))}};
  if (auto d = c.arg(2, "dim")) at["dim"] = int_attr(int_of(d, "dim"));
  for (auto [i, name] : {std::pair<std::size_t, const char*>{3, "largest"}, {4, "sorted"}})
    if (auto b = c.arg(i, name); b && b->is_bool()) at[name] = ops::AttrValue{b->bool_value()};
  c.step("topk", {c.tensor()}, at);
  c.result(0, 0);
  c.result(0, 1);
}

// sort(self, dim=-1, descending=False) and sort.stable(self, *, stable, dim, descending).
void map_sort(MappingContext& c) {
  ops::Attributes at;
  const AtenCall& call = c.call();
  bool stable_form = call.overload == "stable" || call.kwargs.count("stable");
  if (auto d = stable_form ? c.arg(2, "dim") : c.arg(1, "dim")) at["dim"] = int_attr(int_of(d, "dim"));
  if (auto b = stable_form ? c.arg(3, "descending") : c.arg(2, "descending"); b && b->is_bool()) at["descending"] = ops::AttrValue{b->bool_value()};
  if (auto st = c.arg(1, "stable"); stable_form && st && st->is_bool()) at["stable"] = ops::AttrValue{st->bool_value()};
  c.step("sort", {c.tensor()}, at);
  c.result(0, 0);
  c.result(0, 1);
}

// histc(self, bins=100, min=0, max=0).
void map_histc(MappingContext& c) {
  ops::Attributes at;
  if (auto b = c.arg(1, "bins")) at["bins"] = int_attr(int_of(b, "bins"));
  for (auto [i, name] : {std::pair<std::size_t, const char*>{2, "min"}, {3, "max"}})
    if (auto v = c.arg(i, name); is_number(v)) at[name] = number_attr(*v);
  c.step("histc", {c.tensor()}, at);
}

}  // namespace

void register_other_mappings(std::vector<AtenMapping>& out) {
  for (const char* name : {"contiguous", "clone", "detach"}) add_mapping(out, {name}, {name}, map_identity);
  add_mapping(out, {"alias", "lift_fresh", "lift_fresh_copy", "dropout", "feature_dropout"}, {"clone"}, map_copy);
  add_mapping(out, {"copy"}, {"cast", "expand"}, map_copy_into);
  add_mapping(out, {"to", "type", "_to_copy"}, {"cast"}, map_to);
  add_mapping(out, {"type_as"}, {"cast"}, map_type_as);
  add_mapping(out, {"float", "double", "half", "bfloat16", "long", "int", "bool"}, {"cast"}, map_cast_method);
  add_mapping(out, {"full", "full_like", "new_full", "scalar_tensor", "fill"}, {"full"}, map_filled);
  add_mapping(out, {"zeros", "zeros_like", "new_zeros", "empty", "empty_like", "new_empty", "empty_strided", "zero"},
              {"zeros"}, map_filled);
  add_mapping(out, {"ones", "ones_like", "new_ones"}, {"ones"}, map_filled);
  add_mapping(out, {"arange"}, {"arange"}, map_arange);
  add_mapping(out, {"triu"}, {"triu"}, map_triangle);
  add_mapping(out, {"tril"}, {"tril"}, map_triangle);
  add_mapping(out, {"embedding"}, {"embedding"}, map_embedding);
  add_mapping(out, {"masked_fill"}, {"masked_fill", "where"}, map_masked_fill);
  add_mapping(out, {"where"}, {"where"}, map_where);
  add_mapping(out, {"layer_norm"}, {"layer_norm"}, map_layer_norm);
  add_mapping(out, {"scaled_dot_product_attention"}, {"scaled_dot_product_attention"}, map_attention);
  add_mapping(out, {"topk"}, {"topk"}, map_topk);
  add_mapping(out, {"sort"}, {"sort"}, map_sort);
  add_mapping(out, {"histc"}, {"histc"}, map_histc);
  for (auto& m : out)
    if (m.aten_name == "alias" || m.aten_name == "detach") m.view = true;
}

}  // namespace twin::capture
