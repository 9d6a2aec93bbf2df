// Z3 encodings of the layout ops (ops/layout.cpp's family) as index maps: each output
// element is an input element, chosen by its index. `transpose permute reshape flatten
// unsqueeze squeeze expand repeat repeat_interleave cat stack slice select split chunk
// getitem`, and `index_select`, whose indices may be symbolic: an `ite` chain over the
// candidates, each index required integral and in range.
//
// `split` and `chunk` give several tensors (the rule reads them with getitem). `getitem` picks
// one of its flattened operands; the pattern walker (verify/z3_rule_walk.h) reads getitem over
// split's outputs itself, without calling this encoding.
#include "verify/z3/op_encoding.h"

#include <algorithm>
#include <numeric>

namespace twin::verify::encoding {

namespace {

std::vector<SymTensor> encode_transpose(EncodeCall& c) {
  c.need(1, 1);
  return {transpose(c.op, c.in[0], c.get_int("dim0"), c.get_int("dim1"))};
}

std::vector<SymTensor> encode_permute(EncodeCall& c) {
  c.need(1, 1);
  auto dims = c.opt_ints("dims");
  if (!dims || static_cast<std::int64_t>(dims->size()) != c.in[0].rank()) c.shape_error("dims do not match the rank");
  std::vector<std::int64_t> p;
  for (auto d : *dims) p.push_back(c.norm_dim(d, c.in[0].rank()));
  std::vector<std::int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != static_cast<std::int64_t>(i)) c.shape_error("not a permutation");
  Shape s;
  for (auto d : p) s.push_back(c.in[0].shape[d]);
  return {build(s, [&](const Index& idx) {
    Index src(idx.size());
    for (std::size_t i = 0; i < p.size(); ++i) src[p[i]] = idx[i];
    return at(c.in[0], src);
  })};
}

std::vector<SymTensor> encode_reshape(EncodeCall& c) {
  c.need(1, 1);
  auto shape = c.opt_ints("shape");
  if (!shape) throw NotEncodable(c.op, "missing shape");
  Shape s = *shape;
  std::int64_t known = 1, infer = -1;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (infer >= 0) c.shape_error("two -1 dims");
      infer = static_cast<std::int64_t>(i);
    } else if (s[i] < 0) {
      c.shape_error("negative dim");
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || c.in[0].numel() % known != 0) c.shape_error("cannot infer -1");
    s[infer] = c.in[0].numel() / known;
  }
  if (numel_of(s) != c.in[0].numel()) c.shape_error("numel differs: " + shape_text(c.in[0].shape) + " -> " + shape_text(s));
  return {reshape_to(c.in[0], s)};
}

std::vector<SymTensor> encode_flatten(EncodeCall& c) {
  c.need(1, 1);
  const SymTensor& x = c.in[0];
  if (x.rank() == 0) return {reshape_to(x, {1})};
  std::int64_t a = c.norm_dim(c.get_int("start_dim", 0), x.rank());
  std::int64_t b = c.norm_dim(c.get_int("end_dim", -1), x.rank());
  if (a > b) c.shape_error("start_dim > end_dim");
  Shape s(x.shape.begin(), x.shape.begin() + a);
  std::int64_t prod = 1;
  for (std::int64_t i = a; i <= b; ++i) prod *= x.shape[i];
  s.push_back(prod);
  s.insert(s.end(), x.shape.begin() + b + 1, x.shape.end());
  return {reshape_to(x, s)};
}

std::vector<SymTensor> encode_unsqueeze(EncodeCall& c) {
  c.need(1, 1);
  std::int64_t d = c.norm_dim(c.get_int("dim"), c.in[0].rank() + 1);
  Shape s = c.in[0].shape;
  s.insert(s.begin() + d, 1);
  return {reshape_to(c.in[0], s)};
}

std::vector<SymTensor> encode_squeeze(EncodeCall& c) {
  c.need(1, 1);
  const SymTensor& x = c.in[0];
  auto dims = c.opt_ints("dim");
  Shape s;
  std::vector<bool> drop(x.shape.size(), false);
  if (!dims) {
    for (std::size_t i = 0; i < drop.size(); ++i) drop[i] = x.shape[i] == 1;
  } else if (x.rank() > 0) {
    for (auto d : *dims) {
      auto nd = c.norm_dim(d, x.rank());
      drop[nd] = x.shape[nd] == 1;
    }
  }
  for (std::size_t i = 0; i < drop.size(); ++i)
    if (!drop[i]) s.push_back(x.shape[i]);
  return {reshape_to(x, s)};
}

std::vector<SymTensor> encode_expand(EncodeCall& c) {
  c.need(1, 1);
  auto size = c.opt_ints("shape");
  if (!size) throw NotEncodable("expand", "missing shape");
  Shape s = *size;
  const SymTensor& x = c.in[0];
  if (s.size() < x.shape.size()) c.shape_error("fewer dims than the tensor");
  std::size_t off = s.size() - x.shape.size();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (i < off) c.shape_error("-1 in a new leading dim");
      s[i] = x.shape[i - off];
    } else if (i >= off && x.shape[i - off] != 1 && x.shape[i - off] != s[i]) {
      c.shape_error("cannot expand " + shape_text(x.shape) + " to " + shape_text(*size));
    }
  }
  return {build(s, [&](const Index& i) { return broadcast_at(x, i); })};
}

std::vector<SymTensor> encode_repeat(EncodeCall& c) {
  c.need(1, 1);
  auto reps = c.opt_ints("repeats");
  if (!reps) throw NotEncodable("repeat", "missing repeats");
  const SymTensor& x = c.in[0];
  if (reps->size() < x.shape.size()) c.shape_error("fewer repeats than dims");
  std::size_t off = reps->size() - x.shape.size();
  Shape s(reps->size());
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = (*reps)[i] * (i < off ? 1 : x.shape[i - off]);
  return {build(s, [&](const Index& idx) {
    Index src;
    for (std::size_t i = off; i < idx.size(); ++i) src.push_back(idx[i] % x.shape[i - off]);
    return at(x, src);
  })};
}

std::vector<SymTensor> encode_repeat_interleave(EncodeCall& c) {
  c.need(1, 1);
  std::int64_t reps = c.get_int("repeats");
  if (reps < 0) c.shape_error("negative repeats");
  auto dim = c.opt_int("dim");
  SymTensor x = c.in[0];
  if (!dim) {
    x = reshape_to(x, {x.numel()});
    dim = 0;
  }
  std::int64_t d = c.norm_dim(*dim, x.rank());
  Shape s = x.shape;
  s[d] *= reps;
  return {build(s, [&](const Index& idx) {
    Index src = idx;
    src[d] /= reps;
    return at(x, src);
  })};
}

std::vector<SymTensor> encode_cat(EncodeCall& c) {
  const auto& in = c.in;
  if (in.empty()) c.shape_error("no tensors");
  std::int64_t dim = c.get_int("dim", 0);
  std::int64_t r = in[0].rank();
  if (r == 0) c.shape_error("zero-dimensional tensors cannot be concatenated");
  std::int64_t d = c.norm_dim(dim, r);
  Shape s = in[0].shape;
  s[d] = 0;
  std::vector<std::int64_t> offsets;
  for (const auto& t : in) {
    if (t.rank() != r) c.shape_error("ranks differ");
    for (std::int64_t i = 0; i < r; ++i)
      if (i != d && t.shape[i] != in[0].shape[i]) c.shape_error("sizes differ outside the cat dim");
    offsets.push_back(s[d]);
    s[d] += t.shape[d];
  }
  return {build(s, [&](const Index& idx) {
    std::size_t k = 0;
    while (k + 1 < in.size() && idx[d] >= offsets[k + 1]) ++k;
    Index src = idx;
    src[d] -= offsets[k];
    return at(in[k], src);
  })};
}

std::vector<SymTensor> encode_stack(EncodeCall& c) {
  const auto& in = c.in;
  if (in.empty()) c.shape_error("no tensors");
  std::int64_t d = c.norm_dim(c.get_int("dim", 0), in[0].rank() + 1);
  for (const auto& t : in)
    if (t.shape != in[0].shape) c.shape_error("shapes differ");
  Shape s = in[0].shape;
  s.insert(s.begin() + d, static_cast<std::int64_t>(in.size()));
  return {build(s, [&](const Index& idx) {
    Index src = idx;
    src.erase(src.begin() + d);
    return at(in[idx[d]], src);
  })};
}

std::vector<SymTensor> encode_slice(EncodeCall& c) {
  c.need(1, 1);
  const SymTensor& x = c.in[0];
  if (x.rank() == 0) c.shape_error("cannot slice a scalar");
  std::int64_t d = c.norm_dim(c.get_int("dim", 0), x.rank());
  std::int64_t n = x.shape[d];
  std::int64_t start = c.get_int("start", 0);
  std::int64_t end = c.get_int("end", n);
  std::int64_t step = c.get_int("step", 1);
  if (step <= 0) c.shape_error("step must be positive");
  auto clamp = [&](std::int64_t v) {
    if (v < 0) v += n;
    return std::clamp<std::int64_t>(v, 0, n);
  };
  start = clamp(start);
  end = clamp(end);
  std::int64_t len = end > start ? (end - start + step - 1) / step : 0;
  Shape s = x.shape;
  s[d] = len;
  return {build(s, [&](const Index& idx) {
    Index src = idx;
    src[d] = start + idx[d] * step;
    return at(x, src);
  })};
}

std::vector<SymTensor> encode_select(EncodeCall& c) {
  c.need(1, 1);
  const SymTensor& x = c.in[0];
  if (x.rank() == 0) c.shape_error("cannot select from a scalar");
  std::int64_t d = c.norm_dim(c.get_int("dim", 0), x.rank());
  std::int64_t i = c.get_int("index");
  if (i < -x.shape[d] || i >= x.shape[d]) c.shape_error("index out of range");
  if (i < 0) i += x.shape[d];
  Shape s = x.shape;
  s.erase(s.begin() + d);
  return {build(s, [&](const Index& idx) {
    Index src = idx;
    src.insert(src.begin() + d, i);
    return at(x, src);
  })};
}

// The sizes split or chunk cuts a dim of size n into.
std::vector<std::int64_t> split_sizes(EncodeCall& c, std::int64_t n) {
  std::vector<std::int64_t> sizes;
  if (c.registered == "chunk") {
    std::int64_t chunks = c.get_int("chunks");
    if (chunks <= 0) c.shape_error("chunks must be positive");
    std::int64_t size = (n + chunks - 1) / chunks;
    for (std::int64_t at0 = 0; at0 < n; at0 += size) sizes.push_back(std::min(size, n - at0));
    if (n == 0) sizes.push_back(0);
    return sizes;
  }
  auto given = c.opt_ints("split_size");
  if (!given) throw NotEncodable("split", "missing split sizes");
  bool is_list = std::holds_alternative<std::vector<std::int64_t>>(c.find_attr("split_size")->value);
  if (!is_list) {
    std::int64_t size = (*given)[0];
    if (size <= 0) c.shape_error("split size must be positive");
    for (std::int64_t at0 = 0; at0 < n; at0 += size) sizes.push_back(std::min(size, n - at0));
  } else {
    sizes = *given;
    if (std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0}) != n) c.shape_error("sections do not sum to the dim");
  }
  return sizes;
}

std::vector<SymTensor> encode_split(EncodeCall& c) {
  c.need(1, 1);
  const SymTensor& x = c.in[0];
  if (x.rank() == 0) c.shape_error("cannot split a scalar");
  std::int64_t d = c.norm_dim(c.get_int("dim", 0), x.rank());
  std::vector<SymTensor> outs;
  std::int64_t offset = 0;
  for (auto size : split_sizes(c, x.shape[d])) {
    Shape s = x.shape;
    s[d] = size;
    outs.push_back(build(s, [&](const Index& idx) {
      Index src = idx;
      src[d] += offset;
      return at(x, src);
    }));
    offset += size;
  }
  return outs;
}

std::vector<SymTensor> encode_index_select(EncodeCall& c) {
  c.need(2, 2);
  const SymTensor &x = c.in[0], &index = c.in[1];
  if (index.rank() > 1) c.shape_error("index must be 1-D");
  std::int64_t d = c.norm_dim(c.get_int("dim", 0), x.rank());
  std::int64_t n = x.shape[d];
  z3::context& ctx = c.ctx();
  for (const auto& e : index.elements) {
    if (auto v = numeral_value(e)) {
      if (!is_integer(*v) || *v < 0 || *v >= n) c.shape_error("index out of range");
    } else {
      c.require(z3::expr(ctx, Z3_mk_is_int(ctx, e)) && e >= 0 && e < c.real(n));
    }
  }
  Shape s = x.shape;
  s[d] = index.numel();
  return {build(s, [&](const Index& idx) {
    const z3::expr& ie = index.elements[idx[d]];
    Index src = idx;
    if (auto v = numeral_value(ie)) {
      src[d] = static_cast<std::int64_t>(boost::multiprecision::numerator(*v));
      return at(x, src);
    }
    src[d] = n - 1;
    z3::expr r = at(x, src);
    for (std::int64_t j = n - 2; j >= 0; --j) {
      src[d] = j;
      r = z3::ite(ie == c.real(j), at(x, src), r);
    }
    return r;
  })};
}

std::vector<SymTensor> encode_getitem(EncodeCall& c) {
  std::int64_t i = c.get_int("index");
  std::int64_t n = static_cast<std::int64_t>(c.in.size());
  if (i < 0) i += n;
  if (i < 0 || i >= n) c.shape_error("index out of range");
  return {c.in[static_cast<std::size_t>(i)]};
}

}  // namespace

void register_layout_encodings(EncodingTable& t) {
  t.add("transpose", encode_transpose);
  t.add("permute", encode_permute);
  t.add("reshape", encode_reshape);
  t.add("flatten", encode_flatten);
  t.add("unsqueeze", encode_unsqueeze);
  t.add("squeeze", encode_squeeze);
  t.add("expand", encode_expand);
  t.add("repeat", encode_repeat);
  t.add("repeat_interleave", encode_repeat_interleave);
  t.add("cat", encode_cat);
  t.add("stack", encode_stack);
  t.add("split", encode_split);
  t.add("chunk", encode_split);
  t.add("slice", encode_slice);
  t.add("select", encode_select);
  t.add("index_select", encode_index_select);
  t.add("getitem", encode_getitem);
}

}  // namespace twin::verify::encoding
