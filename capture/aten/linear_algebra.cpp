// ATen's products onto Twin's: linear (bias optional), matmul and its 2-d form mm, bmm, addmm
// (GPT-2's Conv1D: linear with the weight transposed, which is exactly how PyTorch's linear
// calls addmm), baddbmm, outer products, einsum (as a permute, a matmul and a reshape), and
// grouped products (transformers' grouped_mm_fallback, torch._grouped_mm).
#include "capture/aten/mapping_context.h"

#include <algorithm>
#include <map>
#include <string>

namespace twin::capture {

namespace {

void map_linear(MappingContext& c) {
  std::vector<GraphOperand> operands{c.tensor(0, "input"), c.tensor(1, "weight")};
  if (is_tensor(c.arg(2, "bias"))) operands.push_back(c.tensor(2, "bias"));
  c.step("linear", operands);
}

void map_matmul(MappingContext& c) {
  c.step(c.op() == "bmm" ? "bmm" : "matmul", {c.tensor(0, "self"), c.tensor(1, "other")});
}

// addmm(bias, m1, m2, beta=1, alpha=1) = beta * bias + alpha * m1 @ m2. With both factors 1 and
// a vector bias it is linear(m1, m2^T, bias), which PyTorch computes as this very addmm.
void map_addmm(MappingContext& c) {
  GraphOperand bias = c.tensor(0, "self"), m1 = c.tensor(1, "mat1"), m2 = c.tensor(2, "mat2");
  for (const char* factor : {"beta", "alpha"})
    if (auto f = c.arg(factor[0] == 'b' ? 3 : 4, factor); f && !(is_number(f) && f->number() == 1))
      throw Unmappable{std::string("addmm with ") + factor + " " + f->to_string()};
  if (c.type_of(m1).rank() == 2 && c.type_of(m2).rank() == 2 && c.type_of(bias).shape == std::vector<std::int64_t>{c.type_of(m2).shape[1]}) {
    int w = c.step("transpose", {m2}, {{"dim0", int_attr(0)}, {"dim1", int_attr(1)}});
    c.step("linear", {m1, step_result(w), bias});
    return;
  }
  int product = c.step("matmul", {m1, m2});
  c.step("add", {bias, step_result(product)});
}

// baddbmm(input, b1, b2, beta=1, alpha=1) = beta * input + alpha * b1 @ b2 (HF's older
// attention: `baddbmm(empty, q, k^T, beta=0, alpha=scale)`). With beta 0 the input is not
// read at all, as PyTorch defines it (it may hold anything, NaN included).
void map_baddbmm(MappingContext& c) {
  GraphOperand input = c.tensor(0, "self"), b1 = c.tensor(1, "batch1"), b2 = c.tensor(2, "batch2");
  const AtenValue* beta = c.arg(3, "beta");
  const AtenValue* alpha = c.arg(4, "alpha");
  if ((beta && !is_number(beta)) || (alpha && !is_number(alpha))) throw Unmappable{"baddbmm with a tensor factor"};
  int product = c.step("bmm", {b1, b2});
  GraphOperand scaled = step_result(product);
  if (alpha && alpha->number() != 1) scaled = step_result(c.step("mul", {scaled, c.operand_of(alpha, "alpha")}));
  if (beta && beta->number() == 0) {
    c.step("contiguous", {scaled});
    return;
  }
  GraphOperand added = input;
  if (beta && beta->number() != 1) added = step_result(c.step("mul", {input, c.operand_of(beta, "beta")}));
  c.step("add", {added, scaled});
}

// einsum(equation, [a]) and einsum(equation, [a, b]) without `...` and without an index
// repeated within one operand. Two operands: each index is a batch index (in a, b and the
// output), contracted (in a and b only), or free (in one operand and the output); an index in
// one operand only and not in the output is summed first. The product is one matmul of
// [batch..., free_a, contracted] by [batch..., contracted, free_b] (batch dims kept, so
// "bhqd,bhkd->bhqk" is matmul(q, transpose(k)); without batch dims a's free dims are kept
// too, so "bsd,ed->bse" is matmul(x, transpose(w)), linear's own form), each side permuted
// and reshaped to that form, then the result reshaped and permuted to the output's order. One
// operand: a sum over the dropped indices and a permute.
void map_einsum(MappingContext& c) {
  const AtenValue* eq = c.arg(0, "equation");
  const AtenValue* list = c.arg(1, "tensors");
  if (!eq || !eq->is_string()) throw Unmappable{"einsum without an equation"};
  if (!list || !list->is_list() || list->list().empty() || list->list().size() > 2)
    throw Unmappable{"einsum of other than one or two operands"};
  std::string text;
  for (char ch : eq->string())
    if (ch != ' ') text += ch;
  const auto arrow = text.find("->");
  if (arrow == std::string::npos) throw Unmappable{"einsum without an explicit output (->)"};
  if (text.find('.') != std::string::npos) throw Unmappable{"einsum with an ellipsis"};
  std::vector<std::string> terms;
  for (std::size_t start = 0;;) {
    auto comma = text.find(',', start);
    terms.push_back(text.substr(start, std::min(comma, arrow) - start));
    if (comma == std::string::npos || comma > arrow) break;
    start = comma + 1;
  }
  const std::string out = text.substr(arrow + 2);
  if (terms.size() != list->list().size())
    throw Unmappable{"einsum with " + std::to_string(terms.size()) + " terms for " + std::to_string(list->list().size()) + " operands"};
  std::vector<GraphOperand> xs;
  for (const auto& t : list->list()) xs.push_back(c.tensor_of(&t, "tensors"));
  std::map<char, std::int64_t> size;
  for (std::size_t k = 0; k < terms.size(); ++k) {
    const auto& shape = c.type_of(xs[k]).shape;
    if (terms[k].size() != shape.size())
      throw Unmappable{"einsum term " + terms[k] + " for a tensor of rank " + std::to_string(shape.size())};
    for (std::size_t i = 0; i < terms[k].size(); ++i) {
      char ch = terms[k][i];
      if (std::count(terms[k].begin(), terms[k].end(), ch) > 1) throw Unmappable{"einsum with an index repeated in one operand"};
      if (size.count(ch) && size[ch] != shape[i]) throw Unmappable{"einsum with broadcast index sizes"};
      size[ch] = shape[i];
    }
  }
  for (char ch : out)
    if (!size.count(ch) || std::count(out.begin(), out.end(), ch) > 1) throw Unmappable{"einsum with a bad output term"};
  auto has = [](const std::string& term, char ch) { return term.find(ch) != std::string::npos; };
  auto shape_of = [&](const std::string& indices) {
    std::vector<std::int64_t> shape;
    for (char ch : indices) shape.push_back(size[ch]);
    return shape;
  };
  auto count_of = [&](const std::string& indices) {
    std::int64_t n = 1;
    for (char ch : indices) n *= size[ch];
    return n;
  };
  // Sums the indices of `term` that neither `other` nor the output has.
  auto sum_alone = [&](GraphOperand& x, std::string& term, const std::string& other) {
    std::vector<std::int64_t> dims;
    std::string kept;
    for (std::size_t i = 0; i < term.size(); ++i) {
      if (!has(other, term[i]) && !has(out, term[i])) dims.push_back(static_cast<std::int64_t>(i));
      else kept += term[i];
    }
    if (dims.empty()) return;
    x = step_result(c.step("sum", {x}, {{"dim", ints_attr(dims)}, {"keepdim", ops::AttrValue{false}}}));
    term = kept;
  };
  // x (indices `term`) in the order `want`, a permutation of term.
  auto arrange = [&](GraphOperand x, const std::string& term, const std::string& want) {
    if (term == want) return x;
    std::vector<std::int64_t> dims;
    for (char ch : want) dims.push_back(static_cast<std::int64_t>(term.find(ch)));
    return step_result(emit_permutation(c, x, dims));
  };
  auto reshaped = [&](GraphOperand x, std::vector<std::int64_t> shape) {
    return step_result(c.step("reshape", {x}, {{"shape", ints_attr(std::move(shape))}}));
  };
  GraphOperand a = xs[0];
  std::string ta = terms[0];
  if (terms.size() == 1) {
    sum_alone(a, ta, "");
    c.step("contiguous", {arrange(a, ta, out)});
    return;
  }
  GraphOperand b = xs[1];
  std::string tb = terms[1];
  sum_alone(a, ta, tb);
  sum_alone(b, tb, ta);
  std::string batch, contracted, free_a, free_b;
  for (char ch : ta) {
    if (has(tb, ch)) (has(out, ch) ? batch : contracted) += ch;
    else free_a += ch;
  }
  for (char ch : tb)
    if (!has(ta, ch)) free_b += ch;
  std::vector<std::int64_t> a_shape = shape_of(batch), b_shape = shape_of(batch);
  if (batch.empty()) {
    const auto fa = shape_of(free_a);  // kept as matmul's broadcast dims
    a_shape.insert(a_shape.end(), fa.begin(), fa.end());
  } else {
    a_shape.push_back(count_of(free_a));
  }
  a_shape.push_back(count_of(contracted));
  b_shape.push_back(count_of(contracted));
  b_shape.push_back(count_of(free_b));
  GraphOperand a2 = reshaped(arrange(a, ta, batch + free_a + contracted), a_shape);
  GraphOperand b2 = reshaped(arrange(b, tb, batch + contracted + free_b), b_shape);
  const std::string natural = batch + free_a + free_b;
  GraphOperand product = reshaped(step_result(c.step("matmul", {a2, b2})), shape_of(natural));
  c.step("contiguous", {arrange(product, natural, out)});
}

// outer(a, b) = a[:, None] * b[None, :].
void map_outer(MappingContext& c) {
  int a = c.step("unsqueeze", {c.tensor(0, "self")}, {{"dim", int_attr(-1)}});
  int b = c.step("unsqueeze", {c.tensor(1, "vec2")}, {{"dim", int_attr(0)}});
  c.step("mul", {step_result(a), step_result(b)});
}

// grouped_mm_fallback(input, weight, offs), _grouped_mm(mat_a, mat_b, offs): the 2-D x 3-D form.
void map_grouped_mm(MappingContext& c) {
  GraphOperand x = c.tensor(0, "mat_a"), w = c.tensor(1, "mat_b");
  const AtenValue* offs = c.arg(2, "offs");
  if (!is_tensor(offs)) throw Unmappable{"grouped_mm without offsets"};
  if (c.arg(3, "bias")) throw Unmappable{"grouped_mm with a bias"};
  if (c.type_of(x).rank() != 2 || c.type_of(w).rank() != 3) throw Unmappable{"grouped_mm other than 2-D by 3-D"};
  c.step("grouped_mm", {x, w, c.tensor_of(offs, "offs")});
}

}  // namespace

void register_linear_algebra_mappings(std::vector<AtenMapping>& out) {
  add_mapping(out, {"linear"}, {"linear"}, map_linear);
  add_mapping(out, {"matmul", "mm"}, {"matmul"}, map_matmul);
  add_mapping(out, {"bmm"}, {"bmm"}, map_matmul);
  add_mapping(out, {"addmm"}, {"transpose", "linear", "matmul", "add"}, map_addmm);
  add_mapping(out, {"baddbmm"}, {"bmm", "mul", "add", "contiguous"}, map_baddbmm);
  add_mapping(out, {"einsum"}, {"sum", "permute", "transpose", "reshape", "matmul", "contiguous"}, map_einsum);
  add_mapping(out, {"outer", "ger"}, {"unsqueeze", "mul"}, map_outer);
  add_mapping(out, {"_grouped_mm", "transformers::grouped_mm_fallback"}, {"grouped_mm"}, map_grouped_mm);
}

}  // namespace twin::capture
