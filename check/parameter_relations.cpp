// Parameter relations (parameter_relations.h): candidates found on an index of the reference's
// tensors (by shape and a hash of the bits; by the shape without one dim and the first value),
// checked element by element, then confirmed by evaluating the relation's term.
#include "check/parameter_relations.h"

#include "ops/dtype.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <unordered_map>

namespace twin::check {

const char* relation_kind_name(RelationKind kind) {
  switch (kind) {
    case RelationKind::Unrelated: return "unrelated";
    case RelationKind::Equal: return "equal";
    case RelationKind::Transpose: return "transpose";
    case RelationKind::Repeat: return "repeat";
    case RelationKind::RepeatInterleave: return "repeat_interleave";
    case RelationKind::Slice: return "slice";
    case RelationKind::Concat: return "concat";
    case RelationKind::GroupedTranspose: return "grouped_transpose";
  }
  return "unrelated";
}

namespace {

using Shape = std::vector<std::int64_t>;

TermPtr int_term(std::int64_t v) { return make_constant(Rational(v)); }

TermPtr list_term(std::vector<TermPtr> items) {
  auto t = std::make_shared<Term>();
  t->kind = TermKind::List;
  t->operands = std::move(items);
  return t;
}

TermPtr slice_term(const std::string& source, std::int64_t dim, std::int64_t start, std::int64_t end) {
  return make_apply("slice", {make_symbol(source)},
                    {{"dim", int_term(dim)}, {"start", int_term(start)}, {"end", int_term(end)}});
}

TermPtr zeros_term(const std::vector<std::int64_t>& shape, ops::DType dtype) {
  std::vector<TermPtr> sizes;
  for (auto s : shape) sizes.push_back(int_term(s));
  return make_apply("zeros", {},
                    {{"shape", list_term(std::move(sizes))}, {"dtype", make_symbol(std::string(ops::dtype_name(dtype)))}});
}

ConcatPart source_part(const std::string& source, std::int64_t start, std::int64_t end, bool whole) {
  ConcatPart part;
  part.source = source;
  part.start = start;
  part.end = end;
  part.whole = whole;
  return part;
}

// A block of +0 of `shape`, `length` long along the concatenation dim.
ConcatPart zeros_part(const std::vector<std::int64_t>& shape, std::int64_t length, ops::DType dtype) {
  ConcatPart part;
  part.zeros = true;
  part.whole = false;
  part.end = length;
  part.zero_shape = shape;
  part.zero_dtype = dtype;
  return part;
}

// A tensor as the matcher sees it: shape, dtype and the bits of every element (row-major).
struct Flat {
  std::string name;
  Shape shape;
  ops::DType dtype{};
  std::vector<std::uint64_t> bits;
  std::size_t hash = 0;
  const ops::Tensor* tensor = nullptr;
  bool is_buffer = false;
};

std::uint64_t bits_of(double v) {
  std::uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

std::vector<std::uint64_t> tensor_bits(const ops::Tensor& t) {
  std::vector<double> values = t.to_doubles();
  std::vector<std::uint64_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = bits_of(values[i]);
  return out;
}

std::size_t hash_bits(const std::vector<std::uint64_t>& bits) {
  std::uint64_t h = 1469598103934665603ULL;
  for (std::uint64_t b : bits) {
    h ^= b + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  }
  return static_cast<std::size_t>(h);
}

std::size_t hash_shape(const Shape& shape, ops::DType dtype) {
  std::size_t h = std::hash<int>()(static_cast<int>(dtype));
  for (auto s : shape) h = h * 1000003u ^ std::hash<std::int64_t>()(s);
  return h;
}

Flat flatten(const NamedTensor& t) {
  Flat f;
  f.name = t.name;
  f.shape = t.value.shape();
  f.dtype = t.value.dtype();
  f.bits = tensor_bits(t.value);
  f.hash = hash_bits(f.bits) ^ hash_shape(f.shape, f.dtype);
  f.tensor = &t.value;
  f.is_buffer = t.is_buffer;
  return f;
}

// The tensor with its last two dims swapped (rank >= 2).
Flat transposed_flat(const Flat& f) {
  Flat t = f;
  const std::size_t rank = f.shape.size();
  std::swap(t.shape[rank - 2], t.shape[rank - 1]);
  const std::int64_t rows = f.shape[rank - 2], cols = f.shape[rank - 1];
  const std::int64_t batch = rows * cols == 0 ? 0 : static_cast<std::int64_t>(f.bits.size()) / (rows * cols);
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j)
        t.bits[b * rows * cols + j * rows + i] = f.bits[b * rows * cols + i * cols + j];
  t.hash = hash_bits(t.bits) ^ hash_shape(t.shape, t.dtype);
  return t;
}

// A tensor viewed as [outer, size(dim), inner].
struct View3 {
  std::int64_t outer = 1, mid = 1, inner = 1;
};

View3 view3(const Shape& shape, std::size_t dim) {
  View3 v;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i < dim) v.outer *= shape[i];
    else if (i == dim) v.mid = shape[i];
    else v.inner *= shape[i];
  }
  return v;
}

bool same_except(const Shape& a, const Shape& b, std::size_t dim) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (i != dim && a[i] != b[i]) return false;
  return true;
}

// port[o, p + i, in] == ref[o, map(i), in] for every o, in and i in [0, count).
template <class Map>
bool blocks_match(const Flat& port, const View3& pv, std::int64_t p, const Flat& ref, const View3& rv,
                  std::int64_t count, Map map) {
  for (std::int64_t o = 0; o < pv.outer; ++o) {
    for (std::int64_t i = 0; i < count; ++i) {
      const std::uint64_t* a = port.bits.data() + (o * pv.mid + p + i) * pv.inner;
      const std::uint64_t* b = ref.bits.data() + (o * rv.mid + map(i)) * rv.inner;
      if (std::memcmp(a, b, sizeof(std::uint64_t) * pv.inner) != 0) return false;
    }
  }
  return true;
}

// Row p of a matrix whose rows, viewed as [groups, b, a], are the reference's rows viewed as
// [groups, a, b] with the last two swapped (a grouped transpose) comes from this reference row.
std::int64_t grouped_source_row(std::int64_t p, std::int64_t a, std::int64_t b) {
  const std::int64_t group = p / (a * b), rem = p % (a * b);
  return group * a * b + (rem % a) * b + rem / a;
}

// reshape(transpose(reshape(source, [groups, a, b, -1]), 1, 2), [groups * a * b, -1])
TermPtr grouped_term(const std::string& source, std::int64_t groups, std::int64_t a, std::int64_t b) {
  return make_apply(
      "reshape",
      {make_apply("transpose",
                  {make_apply("reshape", {make_symbol(source)},
                              {{"shape", list_term({int_term(groups), int_term(a), int_term(b), int_term(-1)})}})},
                  {{"dim0", int_term(1)}, {"dim1", int_term(2)}})},
      {{"shape", list_term({int_term(groups * a * b), int_term(-1)})}});
}

// How alike two dotted names are: the same name first, then shared leading components, then
// shared trailing ones. Ties between reference tensors with the same values (norm weights that
// are all ones) go to the most alike name.
int name_score(const std::string& a, const std::string& b) {
  if (a == b) return 1 << 20;
  auto split = [](const std::string& s) {
    std::vector<std::string> parts;
    std::stringstream ss(s);
    std::string p;
    while (std::getline(ss, p, '.')) parts.push_back(p);
    return parts;
  };
  auto pa = split(a), pb = split(b);
  int prefix = 0;
  while (prefix < static_cast<int>(std::min(pa.size(), pb.size())) && pa[prefix] == pb[prefix]) ++prefix;
  int suffix = 0;
  while (suffix < static_cast<int>(std::min(pa.size(), pb.size())) &&
         pa[pa.size() - 1 - suffix] == pb[pb.size() - 1 - suffix])
    ++suffix;
  return prefix * 64 + suffix;
}

class Matcher {
 public:
  explicit Matcher(const std::vector<NamedTensor>& reference) : named_(reference) {
    for (const auto& t : reference) {
      if (!t.value.defined()) continue;
      refs_.push_back(flatten(t));
    }
    for (std::size_t i = 0; i < refs_.size(); ++i) by_hash_[refs_[i].hash].push_back(i);
  }

  ParameterRelation match(const NamedTensor& port_tensor) {
    ParameterRelation rel;
    rel.port = port_tensor.name;
    rel.is_buffer = port_tensor.is_buffer;
    if (port_tensor.value.defined()) rel.rank = static_cast<std::int64_t>(port_tensor.value.shape().size());
    if (!port_tensor.value.defined()) {
      rel.note = "no stored value (captured without weights)";
      return rel;
    }
    Flat port = flatten(port_tensor);
    scores_.assign(refs_.size(), 0);
    order_.resize(refs_.size());
    for (std::size_t i = 0; i < refs_.size(); ++i) {
      scores_[i] = name_score(port.name, refs_[i].name);
      order_[i] = i;
    }
    order_ = ranked(port.name, order_);
    std::vector<ParameterRelation> candidates;
    auto try_all = [&](auto&& finder, const Flat* target = nullptr) {
      const bool transposed = target != nullptr;
      candidates.clear();
      finder(transposed ? *target : port, candidates);
      for (auto& c : candidates) {
        c.port = port.name;
        c.is_buffer = port.is_buffer;
        c.rank = static_cast<std::int64_t>(port.shape.size());
        c.transposed = transposed;
        if (confirm_relation(c, named_, *port.tensor)) {
          c.confirmed = true;
          return std::optional<ParameterRelation>(c);
        }
      }
      return std::optional<ParameterRelation>();
    };
    if (auto r = try_all([&](const Flat& p, auto& out) { find_equal(p, out); })) return *r;
    if (auto r = try_all([&](const Flat& p, auto& out) { find_transpose(p, out); })) return *r;
    if (auto r = try_all([&](const Flat& p, auto& out) { find_repeat(p, out); })) return *r;
    if (auto r = try_all([&](const Flat& p, auto& out) { find_slice(p, out); })) return *r;
    if (auto r = try_all([&](const Flat& p, auto& out) { find_grouped_transpose(p, out); })) return *r;
    if (auto r = try_all([&](const Flat& p, auto& out) { find_concat(p, out); })) return *r;
    if (port.shape.size() >= 2) {
      // The transpose of a repeat, slice or concatenation (a Conv1D `c_attn` against q, k, v).
      Flat t = transposed_flat(port);
      if (auto r = try_all([&](const Flat& p, auto& out) { find_repeat(p, out); }, &t)) return *r;
      if (auto r = try_all([&](const Flat& p, auto& out) { find_slice(p, out); }, &t)) return *r;
      if (auto r = try_all([&](const Flat& p, auto& out) { find_concat(p, out); }, &t)) return *r;
    }
    rel.note = "no reference tensor, or combination of reference tensors, has these values";
    return rel;
  }

 private:
  // Reference indices in order of name similarity to the port tensor being matched (stable on
  // the reference's order); scores_ and order_ are set by match() for that tensor.
  std::vector<std::size_t> ranked(const std::string&, std::vector<std::size_t> ids) const {
    std::stable_sort(ids.begin(), ids.end(), [&](std::size_t a, std::size_t b) { return scores_[a] > scores_[b]; });
    return ids;
  }

  const std::vector<std::size_t>& all_ids() const { return order_; }

  void find_equal(const Flat& port, std::vector<ParameterRelation>& out) const {
    auto it = by_hash_.find(port.hash);
    if (it == by_hash_.end()) return;
    for (std::size_t i : ranked(port.name, it->second)) {
      const Flat& r = refs_[i];
      if (r.dtype != port.dtype || r.shape != port.shape || r.bits != port.bits) continue;
      ParameterRelation rel;
      rel.kind = RelationKind::Equal;
      rel.sources = {r.name};
      out.push_back(rel);
    }
  }

  // The last two dims swapped.
  void find_transpose(const Flat& port, std::vector<ParameterRelation>& out) const {
    const std::size_t rank = port.shape.size();
    if (rank < 2) return;
    Flat t = transposed_flat(port);
    auto it = by_hash_.find(t.hash);
    if (it == by_hash_.end()) return;
    for (std::size_t i : ranked(port.name, it->second)) {
      const Flat& r = refs_[i];
      if (r.dtype != port.dtype || r.shape != t.shape || r.bits != t.bits) continue;
      ParameterRelation rel;
      rel.kind = RelationKind::Transpose;
      rel.sources = {r.name};
      rel.dim = static_cast<std::int64_t>(rank) - 2;
      rel.dim1 = static_cast<std::int64_t>(rank) - 1;
      out.push_back(rel);
    }
  }

  // The whole tensor tiled, or every index repeated, k >= 2 times along one dim.
  void find_repeat(const Flat& port, std::vector<ParameterRelation>& out) const {
    for (std::size_t d = 0; d < port.shape.size(); ++d) {
      View3 pv = view3(port.shape, d);
      for (std::size_t i : ranked(port.name, all_ids())) {
        const Flat& r = refs_[i];
        if (r.dtype != port.dtype || !same_except(r.shape, port.shape, d)) continue;
        const std::int64_t rd = r.shape[d];
        if (rd == 0 || pv.mid % rd != 0 || pv.mid / rd < 2) continue;
        const std::int64_t k = pv.mid / rd;
        View3 rv = view3(r.shape, d);
        if (blocks_match(port, pv, 0, r, rv, pv.mid, [&](std::int64_t j) { return j / k; })) {
          ParameterRelation rel;
          rel.kind = RelationKind::RepeatInterleave;
          rel.sources = {r.name};
          rel.dim = static_cast<std::int64_t>(d);
          rel.repeats = k;
          out.push_back(rel);
        }
        if (blocks_match(port, pv, 0, r, rv, pv.mid, [&](std::int64_t j) { return j % rd; })) {
          ParameterRelation rel;
          rel.kind = RelationKind::Repeat;
          rel.sources = {r.name};
          rel.dim = static_cast<std::int64_t>(d);
          rel.repeats = k;
          out.push_back(rel);
        }
      }
    }
  }

  // A contiguous range along one dim of a larger reference tensor.
  void find_slice(const Flat& port, std::vector<ParameterRelation>& out) const {
    for (std::size_t d = 0; d < port.shape.size(); ++d) {
      View3 pv = view3(port.shape, d);
      for (std::size_t i : ranked(port.name, all_ids())) {
        const Flat& r = refs_[i];
        if (r.dtype != port.dtype || !same_except(r.shape, port.shape, d) || r.shape[d] <= pv.mid) continue;
        View3 rv = view3(r.shape, d);
        for (std::int64_t s = 0; s + pv.mid <= rv.mid; ++s) {
          if (!port.bits.empty() && port.bits[0] != r.bits[s * rv.inner]) continue;  // cheap first test
          if (!blocks_match(port, pv, 0, r, rv, pv.mid, [&](std::int64_t j) { return s + j; })) continue;
          ParameterRelation rel;
          rel.kind = RelationKind::Slice;
          rel.sources = {r.name};
          rel.dim = static_cast<std::int64_t>(d);
          rel.start = s;
          rel.end = s + pv.mid;
          out.push_back(rel);
          break;  // the first start in this tensor
        }
      }
    }
  }

  // The rows of a matrix permuted within groups: port row (g, j, i) of [groups, b, a] is
  // reference row (g, i, j) of [groups, a, b], with a or b = 2 (RoPE's pairs against halves).
  // Tried before concat, which would spell the same permutation as one slice per row.
  void find_grouped_transpose(const Flat& port, std::vector<ParameterRelation>& out) const {
    if (port.shape.size() != 2 || port.shape[0] < 4) return;
    View3 pv = view3(port.shape, 0);
    for (std::size_t i : ranked(port.name, all_ids())) {
      const Flat& r = refs_[i];
      if (r.dtype != port.dtype || r.shape != port.shape) continue;
      if (auto g = grouping(port, pv, 0, r)) {
        ParameterRelation rel;
        rel.kind = RelationKind::GroupedTranspose;
        rel.sources = {r.name};
        rel.groups = g->groups;
        rel.group_a = g->a;
        rel.group_b = g->b;
        out.push_back(rel);
        return;
      }
    }
  }

  struct Grouping {
    std::int64_t groups = 0, a = 0, b = 0;
  };

  // The grouped transpose (a or b = 2) that makes the matrix `r` the port's rows [offset,
  // offset + rows(r)), if any.
  static std::optional<Grouping> grouping(const Flat& port, const View3& pv, std::int64_t offset, const Flat& r) {
    if (r.shape.size() != 2 || port.shape.size() != 2 || r.shape[1] != port.shape[1]) return std::nullopt;
    const std::int64_t rows = r.shape[0];
    if (rows < 4 || offset + rows > pv.mid) return std::nullopt;
    View3 rv = view3(r.shape, 0);
    for (std::int64_t a = 2; a <= rows / 2; ++a) {
      if (rows % a != 0) continue;
      for (std::int64_t b = 2; b <= rows / a; ++b) {
        if ((rows / a) % b != 0 || (a != 2 && b != 2)) continue;
        auto source_row = [a, b](std::int64_t p) { return grouped_source_row(p, a, b); };
        if (pv.inner > 0 && port.bits[(offset + 1) * pv.inner] != r.bits[source_row(1) * rv.inner]) continue;  // cheap first test
        if (!blocks_match(port, pv, offset, r, rv, rows, source_row)) continue;
        return Grouping{rows / (a * b), a, b};
      }
    }
    return std::nullopt;
  }

  // Contiguous blocks along one dim, matched greedily from the start: at each offset the
  // longest whole reference tensor that fits and matches (most alike name first among equal
  // lengths), else the longest matching slice of one.
  void find_concat(const Flat& port, std::vector<ParameterRelation>& out) const {
    for (std::size_t d = 0; d < port.shape.size(); ++d) {
      View3 pv = view3(port.shape, d);
      std::vector<std::size_t> candidates;
      for (std::size_t i : ranked(port.name, all_ids())) {
        const Flat& r = refs_[i];
        if (r.dtype == port.dtype && same_except(r.shape, port.shape, d) && r.shape[d] > 0) candidates.push_back(i);
      }
      if (candidates.empty()) continue;
      std::stable_sort(candidates.begin(), candidates.end(),
                       [&](std::size_t a, std::size_t b) { return refs_[a].shape[d] > refs_[b].shape[d]; });
      std::vector<ConcatPart> parts;
      std::int64_t offset = 0;
      bool ok = true;
      while (offset < pv.mid && ok) {
        const std::int64_t first = pv.inner * offset;  // port[0, offset, 0]
        std::optional<ConcatPart> part;
        for (std::size_t i : candidates) {
          const Flat& r = refs_[i];
          const std::int64_t rd = r.shape[d];
          if (rd > pv.mid - offset) continue;
          if (pv.outer * pv.inner > 0 && port.bits[first] != r.bits[0]) continue;
          View3 rv = view3(r.shape, d);
          if (blocks_match(port, pv, offset, r, rv, rd, [](std::int64_t j) { return j; })) {
            part = source_part(r.name, 0, rd, true);
            break;
          }
        }
        if (!part && d == 0 && port.shape.size() == 2) {
          // A whole reference matrix with its rows permuted in groups (fused q/k/v rows in
          // Meta's RoPE order), before slices, which would spell the permutation row by row.
          for (std::size_t i : candidates) {
            const Flat& r = refs_[i];
            if (auto g = grouping(port, pv, offset, r)) {
              part = source_part(r.name, 0, r.shape[0], true);
              part->groups = g->groups;
              part->group_a = g->a;
              part->group_b = g->b;
              break;
            }
          }
        }
        // The run of all-zero blocks from here (padding), taken unless a slice runs as long.
        std::int64_t zero_run = 0;
        if (!part)
          while (offset + zero_run < pv.mid && all_zero(port, pv, offset + zero_run)) ++zero_run;
        if (!part) {
          // The longest run of this block that continues some reference tensor from some index.
          std::int64_t best = 0;
          for (std::size_t i : candidates) {
            const Flat& r = refs_[i];
            View3 rv = view3(r.shape, d);
            for (std::int64_t s = 0; s < rv.mid; ++s) {
              if (pv.outer * pv.inner > 0 && port.bits[first] != r.bits[s * rv.inner]) continue;
              std::int64_t len = 0;
              while (offset + len < pv.mid && s + len < rv.mid &&
                     blocks_match(port, pv, offset + len, r, rv, 1, [&](std::int64_t) { return s + len; }))
                ++len;
              if (len > best) {
                best = len;
                part = source_part(r.name, s, s + len, s == 0 && len == rv.mid);
              }
            }
          }
        }
        if (zero_run > 0 && (!part || zero_run >= part->end - part->start)) {
          Shape zero_shape = port.shape;
          zero_shape[d] = zero_run;
          part = zeros_part(zero_shape, zero_run, port.dtype);
        }
        if (!part) ok = false;
        else {
          offset += part->end - part->start;
          parts.push_back(*part);
        }
      }
      if (!ok || parts.size() < 2) continue;
      ParameterRelation rel;
      rel.kind = RelationKind::Concat;
      rel.dim = static_cast<std::int64_t>(d);
      rel.parts = parts;
      for (const auto& p : parts)
        if (!p.zeros) rel.sources.push_back(p.source);
      if (rel.sources.empty()) continue;  // all zeros: no reference tensor is involved
      out.push_back(rel);
    }
  }

  // port[o, index, in] is +0 for every o and in.
  static bool all_zero(const Flat& port, const View3& pv, std::int64_t index) {
    for (std::int64_t o = 0; o < pv.outer; ++o) {
      const std::uint64_t* a = port.bits.data() + (o * pv.mid + index) * pv.inner;
      for (std::int64_t in = 0; in < pv.inner; ++in)
        if (a[in] != 0) return false;
    }
    return true;
  }

  const std::vector<NamedTensor>& named_;
  std::vector<Flat> refs_;
  std::unordered_map<std::size_t, std::vector<std::size_t>> by_hash_;
  std::vector<int> scores_;
  std::vector<std::size_t> order_;
};

const ops::Tensor* find_named(const std::vector<NamedTensor>& tensors, const std::string& name) {
  for (const auto& t : tensors)
    if (t.name == name && t.value.defined()) return &t.value;
  return nullptr;
}

ops::Attributes attrs(std::initializer_list<std::pair<const char*, std::int64_t>> items) {
  ops::Attributes a;
  for (const auto& [k, v] : items) a[k] = ops::AttrValue::of_int(v);
  return a;
}

// The value of grouped_term: evaluated with the ops the term names.
ops::Tensor grouped_value(const ops::Tensor& source, std::int64_t groups, std::int64_t a, std::int64_t b) {
  ops::Attributes in, back, swap = attrs({{"dim0", 1}, {"dim1", 2}});
  in["shape"] = ops::AttrValue{std::vector<std::int64_t>{groups, a, b, -1}};
  back["shape"] = ops::AttrValue{std::vector<std::int64_t>{groups * a * b, -1}};
  ops::Tensor result = ops::evaluate("reshape", {source}, in).at(0);
  result = ops::evaluate("transpose", {result}, swap).at(0);
  return ops::evaluate("reshape", {result}, back).at(0);
}

}  // namespace

TermPtr ParameterRelation::term() const {
  if (cast) {
    ParameterRelation plain = *this;
    plain.cast.reset();
    TermPtr inner = plain.term();
    if (!inner) return nullptr;
    return make_apply("cast", {inner}, {{"dtype", make_symbol(std::string(ops::dtype_name(*cast)))}});
  }
  if (transposed) {
    ParameterRelation plain = *this;
    plain.transposed = false;
    TermPtr inner = plain.term();
    if (!inner) return nullptr;
    return make_apply("transpose", {inner}, {{"dim0", int_term(rank - 2)}, {"dim1", int_term(rank - 1)}});
  }
  switch (kind) {
    case RelationKind::Unrelated: return nullptr;
    case RelationKind::Equal: return make_symbol(sources.at(0));
    case RelationKind::Transpose:
      return make_apply("transpose", {make_symbol(sources.at(0))}, {{"dim0", int_term(dim)}, {"dim1", int_term(dim1)}});
    case RelationKind::Slice: return slice_term(sources.at(0), dim, start, end);
    case RelationKind::RepeatInterleave:
      return make_apply("repeat_interleave", {make_symbol(sources.at(0))},
                        {{"repeats", int_term(repeats)}, {"dim", int_term(dim)}});
    case RelationKind::Repeat: {
      // `repeat` takes one count per dim.
      std::vector<TermPtr> counts;
      for (std::int64_t i = 0; i < rank; ++i) counts.push_back(int_term(i == dim ? repeats : 1));
      return make_apply("repeat", {make_symbol(sources.at(0))}, {{"repeats", list_term(std::move(counts))}});
    }
    case RelationKind::GroupedTranspose: return grouped_term(sources.at(0), groups, group_a, group_b);
    case RelationKind::Concat: {
      std::vector<TermPtr> items;
      for (const auto& p : parts)
        items.push_back(p.zeros        ? zeros_term(p.zero_shape, p.zero_dtype)
                        : p.groups > 0 ? grouped_term(p.source, p.groups, p.group_a, p.group_b)
                        : p.whole      ? make_symbol(p.source)
                                       : slice_term(p.source, dim, p.start, p.end));
      return make_apply("cat", {list_term(std::move(items))}, {{"dim", int_term(dim)}});
    }
  }
  return nullptr;
}

std::string describe(const ParameterRelation& relation) {
  std::string who = relation.is_buffer ? "buffer " : "";
  if (!relation.related())
    return who + relation.port + ": unrelated" + (relation.note.empty() ? "" : " (" + relation.note + ")");
  return who + relation.port + " = " + print_term(*relation.term()) + "  (" + relation_kind_name(relation.kind) +
         (relation.transposed ? ", transposed" : "") +
         (relation.cast ? ", cast to " + std::string(ops::dtype_name(*relation.cast)) : std::string()) +
         (relation.confirmed ? ", confirmed exactly" : ", unconfirmed") + ")";
}

bool confirm_relation(const ParameterRelation& relation, const std::vector<NamedTensor>& reference,
                      const ops::Tensor& port) {
  if (!relation.related() || !port.defined()) return false;
  try {
    std::vector<ops::Tensor> cast_sources;
    cast_sources.reserve(relation.sources.size());
    std::vector<const ops::Tensor*> sources;
    for (const auto& name : relation.sources) {
      const ops::Tensor* t = find_named(reference, name);
      if (!t) return false;
      if (relation.cast) {
        if (!ops::is_floating(*relation.cast) || !ops::is_floating(t->dtype())) return false;
        ops::Attributes a;
        a["dtype"] = ops::AttrValue{*relation.cast};
        cast_sources.push_back(ops::evaluate("cast", {*t}, a).at(0));
        t = &cast_sources.back();
      }
      sources.push_back(t);
    }
    ops::Tensor result;
    switch (relation.kind) {
      case RelationKind::Unrelated: return false;
      case RelationKind::Equal: result = *sources.at(0); break;
      case RelationKind::Transpose:
        result = ops::evaluate("transpose", {*sources.at(0)}, attrs({{"dim0", relation.dim}, {"dim1", relation.dim1}})).at(0);
        break;
      case RelationKind::Slice:
        result = ops::evaluate("slice", {*sources.at(0)},
                               attrs({{"dim", relation.dim}, {"start", relation.start}, {"end", relation.end}}))
                     .at(0);
        break;
      case RelationKind::RepeatInterleave:
        result = ops::evaluate("repeat_interleave", {*sources.at(0)},
                               attrs({{"repeats", relation.repeats}, {"dim", relation.dim}}))
                     .at(0);
        break;
      case RelationKind::Repeat: {
        std::vector<std::int64_t> counts(sources.at(0)->shape().size(), 1);
        if (relation.dim < 0 || relation.dim >= static_cast<std::int64_t>(counts.size())) return false;
        counts[relation.dim] = relation.repeats;
        ops::Attributes a;
        a["repeats"] = ops::AttrValue{counts};
        result = ops::evaluate("repeat", {*sources.at(0)}, a).at(0);
        break;
      }
      case RelationKind::GroupedTranspose:
        result = grouped_value(*sources.at(0), relation.groups, relation.group_a, relation.group_b);
        break;
      case RelationKind::Concat: {
        std::vector<ops::Tensor> pieces;
        std::size_t next_source = 0;  // the zero blocks have no source
        for (const auto& p : relation.parts) {
          if (p.zeros) {
            ops::Attributes a;
            a["shape"] = ops::AttrValue{p.zero_shape};
            // The zeros take the dtype of the sources as evaluated here: cast when the relation is.
            a["dtype"] = ops::AttrValue{relation.cast ? *relation.cast : p.zero_dtype};
            pieces.push_back(ops::evaluate("zeros", {}, a).at(0));
            continue;
          }
          const ops::Tensor& source = *sources.at(next_source++);
          if (p.groups > 0) pieces.push_back(grouped_value(source, p.groups, p.group_a, p.group_b));
          else if (p.whole) pieces.push_back(source);
          else
            pieces.push_back(
                ops::evaluate("slice", {source}, attrs({{"dim", relation.dim}, {"start", p.start}, {"end", p.end}})).at(0));
        }
        result = ops::evaluate("cat", pieces, attrs({{"dim", relation.dim}})).at(0);
        break;
      }
    }
    if (relation.transposed) {
      const auto r = static_cast<std::int64_t>(result.shape().size());
      if (r < 2) return false;
      result = ops::evaluate("transpose", {result}, attrs({{"dim0", r - 2}, {"dim1", r - 1}})).at(0);
    }
    if (result.dtype() != port.dtype() || result.shape() != port.shape()) return false;
    return tensor_bits(result) == tensor_bits(port);
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<ParameterRelation> infer_relations(const std::vector<NamedTensor>& reference,
                                               const std::vector<NamedTensor>& port) {
  Matcher matcher(reference);
  // The reference's floating tensors cast to another floating dtype, built when a port tensor
  // of that dtype matches nothing in the stored dtypes.
  std::map<ops::DType, std::pair<std::vector<NamedTensor>, std::unique_ptr<Matcher>>> cast_matchers;
  std::vector<ParameterRelation> out;
  out.reserve(port.size());
  for (const auto& p : port) {
    ParameterRelation r = matcher.match(p);
    if (!r.related() && p.value.defined() && ops::is_floating(p.value.dtype())) {
      const ops::DType dtype = p.value.dtype();
      auto it = cast_matchers.find(dtype);
      if (it == cast_matchers.end()) {
        std::vector<NamedTensor> cast_reference;
        bool any = false;
        for (const auto& t : reference) {
          if (!t.value.defined() || !ops::is_floating(t.value.dtype()) || t.value.dtype() == dtype) continue;
          cast_reference.push_back({t.name, t.value.to(dtype), t.is_buffer});
          any = true;
        }
        it = cast_matchers.emplace(dtype, std::make_pair(std::move(cast_reference), nullptr)).first;
        if (any) it->second.second = std::make_unique<Matcher>(it->second.first);
      }
      if (it->second.second) {
        ParameterRelation c = it->second.second->match(p);
        if (c.related()) {
          c.cast = dtype;
          // A block of zeros is written in the sources' dtype, inside the cast.
          for (auto& part : c.parts)
            if (part.zeros)
              if (const ops::Tensor* source = find_named(reference, c.sources.at(0))) part.zero_dtype = source->dtype();
          c.confirmed = confirm_relation(c, reference, p.value);  // again, from the stored values
          if (c.confirmed) r = std::move(c);
        }
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<NamedTensor> graph_tensors(const Graph& graph) {
  std::vector<NamedTensor> out;
  for (const auto& p : graph.parameters()) out.push_back({p.name, p.value ? *p.value : ops::Tensor(), false});
  for (const auto& b : graph.buffers()) out.push_back({b.name, b.value ? *b.value : ops::Tensor(), true});
  return out;
}

std::vector<ParameterRelation> infer_parameter_relations(const Graph& reference, const Graph& port) {
  return infer_relations(graph_tensors(reference), graph_tensors(port));
}

}  // namespace twin::check
