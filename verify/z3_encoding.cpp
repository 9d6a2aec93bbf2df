#include "verify/z3_encoding.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <optional>
#include <sstream>

namespace twin::verify {

namespace {

using Shape = std::vector<std::int64_t>;
using Index = std::vector<std::int64_t>;

std::int64_t numel_of(const Shape& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

Shape strides_of(const Shape& shape) {
  Shape s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

Index unravel(std::int64_t flat, const Shape& shape) {
  Index idx(shape.size(), 0);
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    if (shape[i] == 0) return idx;
    idx[i] = flat % shape[i];
    flat /= shape[i];
  }
  return idx;
}

std::int64_t ravel(const Index& idx, const Shape& shape) {
  std::int64_t flat = 0;
  for (std::size_t i = 0; i < shape.size(); ++i) flat = flat * shape[i] + idx[i];
  return flat;
}

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

[[noreturn]] void shape_error(std::string_view op, const std::string& why) {
  throw EncodingShapeError(std::string(op) + ": " + why);
}

std::int64_t norm_dim(std::string_view op, std::int64_t dim, std::int64_t rank) {
  std::int64_t r = std::max<std::int64_t>(rank, 1);
  if (dim < -r || dim >= r) shape_error(op, "dim " + std::to_string(dim) + " out of range for rank " + std::to_string(rank));
  return dim < 0 ? dim + r : dim;
}

// Builds a tensor of `shape` whose element at each index is f(index).
template <class F>
SymTensor build(const Shape& shape, F&& f) {
  SymTensor out;
  out.shape = shape;
  std::int64_t n = numel_of(shape);
  out.elements.reserve(n);
  for (std::int64_t i = 0; i < n; ++i) out.elements.push_back(f(unravel(i, shape)));
  return out;
}

const z3::expr& at(const SymTensor& t, const Index& idx) { return t.elements[ravel(idx, t.shape)]; }

Shape broadcast_shapes(std::string_view op, const Shape& a, const Shape& b) {
  std::size_t r = std::max(a.size(), b.size());
  Shape out(r, 1);
  for (std::size_t i = 0; i < r; ++i) {
    std::int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    std::int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) shape_error(op, "cannot broadcast " + shape_text(a) + " with " + shape_text(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// The element of t that broadcasts to `idx` of an output of rank idx.size().
const z3::expr& broadcast_at(const SymTensor& t, const Index& idx) {
  std::size_t off = idx.size() - t.shape.size();
  std::int64_t flat = 0;
  for (std::size_t i = 0; i < t.shape.size(); ++i) flat = flat * t.shape[i] + (t.shape[i] == 1 ? 0 : idx[off + i]);
  return t.elements[flat];
}

// ---- attributes ----------------------------------------------------------------------------

const ops::AttrValue* find_attr(const ops::Attributes& attrs, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (auto it = attrs.find(n); it != attrs.end() && !std::holds_alternative<std::monostate>(it->second.value))
      return &it->second;
  return nullptr;
}

std::optional<std::int64_t> opt_int(std::string_view op, const ops::Attributes& attrs,
                                    std::initializer_list<const char*> names) {
  const ops::AttrValue* v = find_attr(attrs, names);
  if (!v) return std::nullopt;
  if (auto* list = std::get_if<std::vector<std::int64_t>>(&v->value)) {
    if (list->size() == 1) return (*list)[0];
  }
  if (!v->is_int()) throw NotEncodable(std::string(op), "attribute " + std::string(*names.begin()) + " is not an integer");
  return v->as_int();
}

std::int64_t get_int(std::string_view op, const ops::Attributes& attrs, std::initializer_list<const char*> names,
                     std::optional<std::int64_t> fallback = std::nullopt) {
  if (auto v = opt_int(op, attrs, names)) return *v;
  if (fallback) return *fallback;
  throw NotEncodable(std::string(op), "missing attribute " + std::string(*names.begin()));
}

std::optional<std::vector<std::int64_t>> opt_ints(std::string_view op, const ops::Attributes& attrs,
                                                  std::initializer_list<const char*> names) {
  const ops::AttrValue* v = find_attr(attrs, names);
  if (!v) return std::nullopt;
  if (auto* list = std::get_if<std::vector<std::int64_t>>(&v->value)) return *list;
  if (v->is_int()) return std::vector<std::int64_t>{v->as_int()};
  throw NotEncodable(std::string(op), "attribute " + std::string(*names.begin()) + " is not a list of integers");
}

bool get_bool(const ops::Attributes& attrs, std::initializer_list<const char*> names, bool fallback) {
  const ops::AttrValue* v = find_attr(attrs, names);
  if (!v) return fallback;
  if (auto* b = std::get_if<bool>(&v->value)) return *b;
  if (v->is_int()) return v->as_int() != 0;
  return fallback;
}

std::string get_string(const ops::Attributes& attrs, std::initializer_list<const char*> names, std::string fallback) {
  const ops::AttrValue* v = find_attr(attrs, names);
  if (!v) return fallback;
  if (auto* s = std::get_if<std::string>(&v->value)) return *s;
  return fallback;
}

std::optional<Rational> opt_number(const ops::Attributes& attrs, std::initializer_list<const char*> names) {
  const ops::AttrValue* v = find_attr(attrs, names);
  if (!v) return std::nullopt;
  if (auto* r = std::get_if<Rational>(&v->value)) return *r;
  if (auto* b = std::get_if<bool>(&v->value)) return Rational(*b ? 1 : 0);
  return std::nullopt;
}

std::optional<Rational> numeral_value(const z3::expr& e) {
  if (!e.is_numeral()) return std::nullopt;
  Z3_string text = Z3_get_numeral_string(e.ctx(), e);
  return parse_rational(text);
}

// ---- signatures ----------------------------------------------------------------------------

const std::map<std::string, EncodedOpSignature, std::less<>>& signatures() {
  static const std::map<std::string, EncodedOpSignature, std::less<>> table = [] {
    std::map<std::string, EncodedOpSignature, std::less<>> t;
    auto add = [&](std::initializer_list<const char*> names, int operands, std::vector<std::string> attrs,
                   int optional = 0) {
      for (const char* n : names) t[n] = EncodedOpSignature{operands, optional, attrs};
    };
    add({"add", "sub"}, 2, {"alpha"});
    add({"mul", "pow", "matmul", "bmm"}, 2, {});
    add({"div"}, 2, {"rounding_mode"});
    add({"neg", "sqrt", "rsqrt", "exp", "log", "tanh", "sigmoid", "silu", "relu", "sin", "cos", "erf", "abs",
         "reciprocal", "square", "contiguous", "clone", "detach"},
        1, {});
    add({"gelu"}, 1, {"approximate"});
    add({"sum", "mean"}, 1, {"dim", "keepdim", "dtype"});
    add({"amax"}, 1, {"dim", "keepdim"});
    add({"softmax", "log_softmax"}, 1, {"dim", "dtype"});
    add({"linear"}, 3, {}, 1);
    add({"transpose"}, 1, {"dim0", "dim1"});
    add({"permute"}, 1, {"dims"});
    add({"reshape", "view"}, 1, {"shape"});
    add({"unsqueeze", "squeeze"}, 1, {"dim"});
    add({"flatten"}, 1, {"start_dim", "end_dim"});
    add({"expand"}, 1, {"size"});
    add({"repeat"}, 1, {"repeats"});
    add({"repeat_interleave"}, 1, {"repeats", "dim"});
    add({"cat", "stack"}, 1, {"dim"});
    add({"slice"}, 1, {"dim", "start", "end", "step"});
    add({"select"}, 1, {"dim", "index"});
    add({"split"}, 1, {"split_size", "dim"});
    add({"chunk"}, 1, {"chunks", "dim"});
    add({"getitem"}, 1, {"index"});
    add({"index_select"}, 2, {"dim"});
    add({"cast", "to"}, 1, {"dtype"});
    add({"where"}, 3, {});
    add({"masked_fill"}, 2, {"value"});
    add({"triu", "tril"}, 1, {"diagonal"});
    add({"zeros", "ones"}, 0, {"size"});
    add({"full"}, 0, {"size", "fill_value"});
    add({"arange"}, 0, {"end", "start", "step"});
    add({"layer_norm"}, 3, {"normalized_shape", "eps"}, 2);
    add({"scaled_dot_product_attention"}, 3, {"dropout_p", "is_causal", "scale"});
    return t;
  }();
  return table;
}

}  // namespace

std::int64_t SymTensor::numel() const { return numel_of(shape); }

const std::vector<std::string>& encodable_ops() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [name, sig] : signatures()) v.push_back(name);
    return v;
  }();
  return names;
}

bool is_encodable(std::string_view op) { return signatures().count(op) > 0; }

const EncodedOpSignature* encoded_signature(std::string_view op) {
  auto it = signatures().find(op);
  return it == signatures().end() ? nullptr : &it->second;
}

std::string numeral_text(const z3::expr& value) {
  if (value.is_numeral()) {
    Z3_string text = Z3_get_numeral_string(value.ctx(), value);
    return text;
  }
  if (value.is_algebraic()) return value.get_decimal_string(12) ;
  return value.to_string();
}

// ---- the encoder ---------------------------------------------------------------------------

Z3Encoder::Z3Encoder(z3::context& ctx) : ctx_(ctx), domain_(ctx) {}

z3::expr Z3Encoder::real(const Rational& value) {
  std::string text = boost::multiprecision::numerator(value).str();
  if (boost::multiprecision::denominator(value) != 1) text += "/" + boost::multiprecision::denominator(value).str();
  return ctx_.real_val(text.c_str());
}

SymTensor Z3Encoder::constant(const Rational& value) { return SymTensor{{}, {real(value)}}; }

SymTensor Z3Encoder::fresh(const std::string& prefix, const std::vector<std::int64_t>& shape) {
  return build(shape, [&](const Index& idx) {
    std::string name = prefix + "[";
    for (std::size_t i = 0; i < idx.size(); ++i) name += (i ? "," : "") + std::to_string(idx[i]);
    name += "]";
    return ctx_.real_const(name.c_str());
  });
}

z3::expr Z3Encoder::apply_uf(const std::string& name, const z3::expr& arg) {
  auto it = ufs_.find(name);
  if (it == ufs_.end()) it = ufs_.emplace(name, ctx_.function(("uf_" + name).c_str(), ctx_.real_sort(), ctx_.real_sort())).first;
  if (name != "sqrt") uninterpreted_used_.insert(name);
  z3::expr app = it->second(arg);
  applications_[name].emplace(app.id(), app);
  return app;
}

z3::expr Z3Encoder::uf_constant(const std::string& name) {
  auto it = uf_constants_.find(name);
  if (it != uf_constants_.end()) return it->second;
  z3::expr c = ctx_.real_const(("uf_" + name).c_str());
  uf_constants_.emplace(name, c);
  if (name != "sqrt2") uninterpreted_used_.insert(name);
  return c;
}

bool Z3Encoder::is_uf(const z3::func_decl& decl, std::string* name) const {
  for (const auto& [n, f] : ufs_)
    if (z3::eq(f, decl)) {
      if (name) *name = n;
      return true;
    }
  for (const auto& [n, c] : uf_constants_)
    if (z3::eq(c.decl(), decl)) {
      if (name) *name = n;
      return true;
    }
  return false;
}

z3::expr Z3Encoder::sqrt_of(const z3::expr& x) {
  domain_.push_back(x >= 0);
  return apply_uf("sqrt", x);
}

z3::expr Z3Encoder::exp_of(const z3::expr& x) { return apply_uf("exp", x); }

z3::expr_vector Z3Encoder::take_domain_conditions() {
  z3::expr_vector out = domain_;
  domain_ = z3::expr_vector(ctx_);
  return out;
}

namespace {

bool is_zero_numeral(const z3::expr& e) {
  auto v = numeral_value(e);
  return v && *v == 0;
}

// The summands of a + b + c (flattened), or {e}.
void summands(const z3::expr& e, std::vector<z3::expr>& out) {
  if (e.is_app() && e.decl().decl_kind() == Z3_OP_ADD) {
    for (unsigned i = 0; i < e.num_args(); ++i) summands(e.arg(i), out);
  } else {
    out.push_back(e);
  }
}

}  // namespace

z3::expr_vector Z3Encoder::axioms() {
  z3::expr_vector ax(ctx_);
  // exp: positivity, exp(0) = 1, exp(a + b) = exp(a) * exp(b), exp(a - b) * exp(b) = exp(a),
  // exp(-a) * exp(a) = 1. New exp terms created here are processed too (worklist).
  if (applications_.count("exp")) {
    std::vector<z3::expr> work;
    for (const auto& [id, app] : applications_["exp"]) work.push_back(app);
    std::set<unsigned> done;
    while (!work.empty()) {
      z3::expr app = work.back();
      work.pop_back();
      if (!done.insert(app.id()).second) continue;
      z3::expr t = app.arg(0);
      ax.push_back(app > 0);
      if (is_zero_numeral(t)) ax.push_back(app == 1);
      if (t.is_app() && t.decl().decl_kind() == Z3_OP_ADD) {
        std::vector<z3::expr> parts;
        summands(t, parts);
        z3::expr product = real(1);
        bool first = true;
        for (const auto& p : parts) {
          z3::expr e = exp_of(p);
          work.push_back(e);
          product = first ? e : product * e;
          first = false;
        }
        ax.push_back(app == product);
        definitions_.push_back({app, product});
      } else if (t.is_app() && t.decl().decl_kind() == Z3_OP_SUB && t.num_args() == 2) {
        z3::expr ea = exp_of(t.arg(0)), eb = exp_of(t.arg(1));
        work.push_back(ea);
        work.push_back(eb);
        ax.push_back(app * eb == ea);
      } else if (t.is_app() && t.decl().decl_kind() == Z3_OP_UMINUS) {
        z3::expr ea = exp_of(t.arg(0));
        work.push_back(ea);
        ax.push_back(app * ea == 1);
      }
    }
    // Monotonicity on small sets of terms.
    const auto& apps = applications_["exp"];
    if (apps.size() <= 24) {
      std::vector<z3::expr> v;
      for (const auto& [id, a] : apps) v.push_back(a);
      for (std::size_t i = 0; i < v.size(); ++i)
        for (std::size_t j = i + 1; j < v.size(); ++j) {
          ax.push_back(z3::implies(v[i].arg(0) < v[j].arg(0), v[i] < v[j]));
          ax.push_back(z3::implies(v[j].arg(0) < v[i].arg(0), v[j] < v[i]));
        }
    }
  }
  if (applications_.count("log")) {
    for (const auto& [id, app] : applications_["log"]) {
      z3::expr t = app.arg(0);
      ax.push_back(z3::implies(t > 0, app <= t - 1));
      if (auto v = numeral_value(t); v && *v == 1) ax.push_back(app == 0);
      if (t.is_app() && ufs_.count("exp") && z3::eq(t.decl(), ufs_.at("exp"))) ax.push_back(app == t.arg(0));
    }
    // exp(log(t)) = t for t > 0, where exp(log(t)) occurs.
    if (applications_.count("exp"))
      for (const auto& [id, e] : applications_["exp"]) {
        z3::expr t = e.arg(0);
        if (t.is_app() && z3::eq(t.decl(), ufs_.at("log"))) ax.push_back(z3::implies(t.arg(0) > 0, e == t.arg(0)));
      }
  }
  if (applications_.count("sqrt")) {
    for (const auto& [id, app] : applications_["sqrt"]) {
      z3::expr t = app.arg(0);
      ax.push_back(z3::implies(t >= 0, app >= 0 && app * app == t));
      ax.push_back(z3::implies(t > 0, app > 0));
    }
  }
  for (const char* odd : {"tanh", "erf"}) {
    if (!applications_.count(odd)) continue;
    std::vector<z3::expr> v;
    for (const auto& [id, a] : applications_[odd]) v.push_back(a);
    for (const auto& app : v) {
      z3::expr t = app.arg(0);
      ax.push_back(app > -1 && app < 1);
      ax.push_back(z3::implies(t > 0, app > 0));
      ax.push_back(z3::implies(t < 0, app < 0));
      ax.push_back(z3::implies(t == 0, app == 0));
    }
    if (v.size() <= 24)
      for (std::size_t i = 0; i < v.size(); ++i)
        for (std::size_t j = i + 1; j < v.size(); ++j) {
          z3::expr a = v[i].arg(0), b = v[j].arg(0);
          ax.push_back(z3::implies(a < b, v[i] < v[j]));
          ax.push_back(z3::implies(b < a, v[j] < v[i]));
          ax.push_back(z3::implies(a == -b, v[i] == -v[j]));
        }
  }
  for (const char* bounded : {"sin", "cos"}) {
    if (!applications_.count(bounded)) continue;
    for (const auto& [id, app] : applications_[bounded]) ax.push_back(app >= -1 && app <= 1);
  }
  if (applications_.count("sin") && applications_.count("cos")) {
    for (const auto& [id, s] : applications_["sin"]) {
      z3::expr c = ufs_.at("cos")(s.arg(0));
      if (applications_["cos"].count(c.id())) ax.push_back(s * s + c * c == 1);
    }
  }
  if (uf_constants_.count("sqrt2")) {
    z3::expr s = uf_constants_.at("sqrt2");
    ax.push_back(s > 0 && s * s == 2);
  }
  if (uf_constants_.count("sqrt_2_over_pi")) {
    // sqrt(2 / pi) = 0.7978845608...: only bounds are asserted.
    z3::expr k = uf_constants_.at("sqrt_2_over_pi");
    ax.push_back(k > real(Rational(7978845, 10000000)) && k < real(Rational(7978846, 10000000)));
  }
  return ax;
}

// ---- op encodings --------------------------------------------------------------------------

std::vector<SymTensor> Z3Encoder::encode(std::string_view op, const std::vector<SymTensor>& in,
                                         const ops::Attributes& attrs) {
  const EncodedOpSignature* sig = encoded_signature(op);
  if (!sig) throw NotEncodable(std::string(op), "");
  auto need = [&](std::size_t lo, std::size_t hi) {
    if (in.size() < lo || in.size() > hi)
      shape_error(op, "expects " + std::to_string(lo) + (hi != lo ? ".." + std::to_string(hi) : "") +
                          " tensor operands, got " + std::to_string(in.size()));
  };
  auto one = [](SymTensor t) { return std::vector<SymTensor>{std::move(t)}; };
  auto unary = [&](auto&& f) {
    need(1, 1);
    SymTensor out;
    out.shape = in[0].shape;
    for (const auto& e : in[0].elements) out.elements.push_back(f(e));
    return one(std::move(out));
  };
  auto binary = [&](auto&& f) {
    need(2, 2);
    Shape s = broadcast_shapes(op, in[0].shape, in[1].shape);
    return one(build(s, [&](const Index& i) { return f(broadcast_at(in[0], i), broadcast_at(in[1], i)); }));
  };
  auto div_expr = [&](const z3::expr& a, const z3::expr& b) {
    if (auto v = numeral_value(b); !(v && *v != 0)) domain_.push_back(b != 0);
    return a / b;
  };
  auto sigmoid = [&](const z3::expr& x) { return 1 / (1 + exp_of(-x)); };
  auto rsqrt = [&](const z3::expr& x) {
    domain_.push_back(x > 0);
    return 1 / sqrt_of(x);
  };

  // Elementwise.
  if (op == "add" || op == "sub") {
    Rational alpha = opt_number(attrs, {"alpha"}).value_or(Rational(1));
    z3::expr a = real(alpha);
    bool plain = alpha == 1;
    if (op == "add") return binary([&](const z3::expr& x, const z3::expr& y) { return plain ? x + y : x + a * y; });
    return binary([&](const z3::expr& x, const z3::expr& y) { return plain ? x - y : x - a * y; });
  }
  if (op == "mul") return binary([](const z3::expr& x, const z3::expr& y) { return x * y; });
  if (op == "div") {
    std::string mode = get_string(attrs, {"rounding_mode"}, "");
    if (!mode.empty() && mode != "none") throw NotEncodable("div", "rounding_mode=" + mode);
    return binary(div_expr);
  }
  if (op == "neg") return unary([](const z3::expr& x) { return -x; });
  if (op == "pow") {
    need(2, 2);
    if (in[1].numel() != 1) throw NotEncodable("pow", "the exponent must be a constant");
    auto p = numeral_value(in[1].elements[0]);
    if (!p) throw NotEncodable("pow", "the exponent must be a constant");
    Rational e = *p;
    auto power = [&](const z3::expr& x) -> z3::expr {
      if (e == Rational(1, 2)) return sqrt_of(x);
      if (e == Rational(-1, 2)) return rsqrt(x);
      if (!is_integer(e) || e > 8 || e < -8) throw NotEncodable("pow", "exponent " + rational_to_string(e));
      Rational ae = e < 0 ? Rational(-e) : e;
      long n = boost::multiprecision::numerator(ae).convert_to<long>();
      z3::expr r = real(1);
      for (long i = 0; i < n; ++i) r = i == 0 ? x : r * x;
      if (e < 0) return div_expr(real(1), r);
      return r;
    };
    SymTensor out = build(in[0].shape, [&](const Index& i) { return power(at(in[0], i)); });
    return one(std::move(out));
  }
  if (op == "sqrt") return unary([&](const z3::expr& x) { return sqrt_of(x); });
  if (op == "rsqrt") return unary(rsqrt);
  if (op == "exp") return unary([&](const z3::expr& x) { return exp_of(x); });
  if (op == "log") return unary([&](const z3::expr& x) {
      domain_.push_back(x > 0);
      return apply_uf("log", x);
    });
  if (op == "tanh" || op == "erf" || op == "sin" || op == "cos")
    return unary([&](const z3::expr& x) { return apply_uf(std::string(op), x); });
  if (op == "sigmoid") return unary(sigmoid);
  if (op == "silu") return unary([&](const z3::expr& x) { return x * sigmoid(x); });
  if (op == "relu") return unary([&](const z3::expr& x) { return z3::ite(x > 0, x, real(0)); });
  if (op == "abs") return unary([&](const z3::expr& x) { return z3::ite(x >= 0, x, -x); });
  if (op == "square") return unary([&](const z3::expr& x) { return x * x; });
  if (op == "reciprocal") return unary([&](const z3::expr& x) { return div_expr(real(1), x); });
  if (op == "gelu") {
    std::string approximate = get_string(attrs, {"approximate"}, "none");
    if (approximate == "tanh") {
      z3::expr k = uf_constant("sqrt_2_over_pi");
      z3::expr c = real(Rational(44715, 1000000));
      return unary([&](const z3::expr& x) {
        return real(Rational(1, 2)) * x * (1 + apply_uf("tanh", k * (x + c * x * x * x)));
      });
    }
    if (approximate != "none") throw NotEncodable("gelu", "approximate=\"" + approximate + "\"");
    z3::expr s2 = uf_constant("sqrt2");
    return unary([&](const z3::expr& x) { return x * (1 + apply_uf("erf", x / s2)) / 2; });
  }
  if (op == "contiguous" || op == "clone" || op == "detach" || op == "cast" || op == "to") {
    need(1, 1);
    return one(in[0]);
  }

  // Reductions.
  auto reduce_dims = [&](const SymTensor& x, std::optional<std::vector<std::int64_t>> dims) {
    std::vector<bool> reduced(x.shape.size(), !dims.has_value() || dims->empty());
    // A rank-0 tensor accepts dim 0 or -1 (as PyTorch does) and has nothing to reduce;
    // norm_dim still rejects other dims, but there is no slot to mark.
    for (auto d : dims ? *dims : std::vector<std::int64_t>{}) {
      std::int64_t axis = norm_dim(op, d, x.rank());
      if (x.rank() > 0) reduced[static_cast<std::size_t>(axis)] = true;
    }
    return reduced;
  };
  auto reduce = [&](const SymTensor& x, const std::vector<bool>& reduced, bool keepdim,
                    const std::function<z3::expr(const std::vector<z3::expr>&)>& combine) {
    Shape out_shape, kept_shape;
    for (std::size_t i = 0; i < x.shape.size(); ++i) {
      if (!reduced[i]) out_shape.push_back(x.shape[i]);
      else if (keepdim) out_shape.push_back(1);
    }
    std::map<std::int64_t, std::vector<z3::expr>> groups;
    Shape group_shape;
    for (std::size_t i = 0; i < x.shape.size(); ++i) group_shape.push_back(reduced[i] ? 1 : x.shape[i]);
    for (std::int64_t f = 0; f < x.numel(); ++f) {
      Index idx = unravel(f, x.shape);
      for (std::size_t i = 0; i < idx.size(); ++i)
        if (reduced[i]) idx[i] = 0;
      groups[ravel(idx, group_shape)].push_back(x.elements[f]);
    }
    SymTensor out;
    out.shape = out_shape;
    for (std::int64_t g = 0; g < numel_of(group_shape); ++g) out.elements.push_back(combine(groups[g]));
    return out;
  };
  auto sum_of = [&](const std::vector<z3::expr>& v) {
    z3::expr s = v[0];
    for (std::size_t i = 1; i < v.size(); ++i) s = s + v[i];
    return s;
  };
  if (op == "sum" || op == "mean" || op == "amax") {
    need(1, 1);
    auto reduced = reduce_dims(in[0], opt_ints(op, attrs, {"dim", "dims"}));
    bool keepdim = get_bool(attrs, {"keepdim"}, false);
    if (in[0].numel() == 0) shape_error(op, "empty tensor");
    if (op == "sum") return one(reduce(in[0], reduced, keepdim, sum_of));
    if (op == "mean")
      return one(reduce(in[0], reduced, keepdim, [&](const std::vector<z3::expr>& v) {
        return sum_of(v) / real(static_cast<std::int64_t>(v.size()));
      }));
    return one(reduce(in[0], reduced, keepdim, [&](const std::vector<z3::expr>& v) {
      z3::expr m = v[0];
      for (std::size_t i = 1; i < v.size(); ++i) m = z3::ite(v[i] > m, v[i], m);
      return m;
    }));
  }
  // Applies f to each line of x along `dim` (the elements that differ only in that index).
  auto along = [&](const SymTensor& x, std::int64_t dim,
                   const std::function<std::vector<z3::expr>(const std::vector<z3::expr>&)>& f) {
    SymTensor out = x;
    if (x.rank() == 0) {
      out.elements = f(x.elements);
      return out;
    }
    std::int64_t d = norm_dim(op, dim, x.rank());
    Shape st = strides_of(x.shape);
    for (std::int64_t flat = 0; flat < x.numel(); ++flat) {
      if (unravel(flat, x.shape)[d] != 0) continue;
      std::vector<z3::expr> line;
      for (std::int64_t k = 0; k < x.shape[d]; ++k) line.push_back(x.elements[flat + k * st[d]]);
      auto res = f(line);
      for (std::int64_t k = 0; k < x.shape[d]; ++k) out.elements[flat + k * st[d]] = res[k];
    }
    return out;
  };
  if (op == "softmax" || op == "log_softmax") {
    need(1, 1);
    std::int64_t dim = get_int(op, attrs, {"dim"});
    bool log_form = op == "log_softmax";
    return one(along(in[0], dim, [&](const std::vector<z3::expr>& line) {
      std::vector<z3::expr> ex;
      for (const auto& e : line) ex.push_back(exp_of(e));
      z3::expr total = sum_of(ex);
      std::vector<z3::expr> res;
      for (std::size_t i = 0; i < line.size(); ++i)
        res.push_back(log_form ? line[i] - apply_uf("log", total) : ex[i] / total);
      return res;
    }));
  }

  // Linear algebra.
  auto batched_matmul = [&](const SymTensor& a, const SymTensor& b) {
    // a [..., m, n], b [..., n, p], batch dims broadcast.
    std::int64_t m = a.shape[a.rank() - 2], n = a.shape[a.rank() - 1];
    std::int64_t n2 = b.shape[b.rank() - 2], p = b.shape[b.rank() - 1];
    if (n != n2) shape_error(op, "inner dims differ: " + shape_text(a.shape) + " @ " + shape_text(b.shape));
    Shape ba(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
    Shape batch = broadcast_shapes(op, ba, bb);
    Shape out_shape = batch;
    out_shape.push_back(m);
    out_shape.push_back(p);
    return build(out_shape, [&](const Index& idx) {
      Index ia(idx.begin(), idx.end() - 2), ib = ia;
      std::int64_t i = idx[idx.size() - 2], j = idx[idx.size() - 1];
      auto elem = [&](const SymTensor& t, const Shape& tb, const Index& bi, std::int64_t r, std::int64_t c) {
        Index full;
        std::size_t off = bi.size() - tb.size();
        for (std::size_t q = 0; q < tb.size(); ++q) full.push_back(tb[q] == 1 ? 0 : bi[off + q]);
        full.push_back(r);
        full.push_back(c);
        return at(t, full);
      };
      z3::expr s = elem(a, ba, ia, i, 0) * elem(b, bb, ib, 0, j);
      for (std::int64_t k = 1; k < n; ++k) s = s + elem(a, ba, ia, i, k) * elem(b, bb, ib, k, j);
      return s;
    });
  };
  auto reshape_to = [](const SymTensor& t, Shape s) {
    SymTensor out = t;
    out.shape = std::move(s);
    return out;
  };
  if (op == "matmul") {
    need(2, 2);
    SymTensor a = in[0], b = in[1];
    if (a.rank() == 0 || b.rank() == 0) shape_error(op, "operands must have rank >= 1");
    bool a1 = a.rank() == 1, b1 = b.rank() == 1;
    if (a1) a = reshape_to(a, {1, a.shape[0]});
    if (b1) b = reshape_to(b, {b.shape[0], 1});
    SymTensor r = batched_matmul(a, b);
    Shape s = r.shape;
    if (b1) s.erase(s.end() - 1);
    if (a1) s.erase(s.end() - (b1 ? 1 : 2));
    return one(reshape_to(r, s));
  }
  if (op == "bmm") {
    need(2, 2);
    if (in[0].rank() != 3 || in[1].rank() != 3 || in[0].shape[0] != in[1].shape[0])
      shape_error(op, "expects [b, n, m] @ [b, m, p]");
    return one(batched_matmul(in[0], in[1]));
  }
  auto transpose = [&](const SymTensor& x, std::int64_t d0, std::int64_t d1) {
    if (x.rank() == 0) return x;
    d0 = norm_dim(op, d0, x.rank());
    d1 = norm_dim(op, d1, x.rank());
    Shape s = x.shape;
    std::swap(s[d0], s[d1]);
    return build(s, [&](const Index& idx) {
      Index src = idx;
      std::swap(src[d0], src[d1]);
      return at(x, src);
    });
  };
  if (op == "linear") {
    need(2, 3);
    const SymTensor &x = in[0], &w = in[1];
    if (x.rank() < 1 || (w.rank() != 1 && w.rank() != 2)) shape_error(op, "expects x[..., in] and w[out, in]");
    SymTensor r;
    if (w.rank() == 2) {
      SymTensor wt = transpose(w, 0, 1);
      SymTensor xx = x.rank() == 1 ? reshape_to(x, {1, x.shape[0]}) : x;
      r = batched_matmul(xx, wt);
      if (x.rank() == 1) r = reshape_to(r, {r.shape.back()});
    } else {
      r = encode("matmul", {x, w}, {})[0];
    }
    if (in.size() == 3) {
      Shape s = broadcast_shapes(op, r.shape, in[2].shape);
      if (s != r.shape) shape_error(op, "bias does not broadcast to the output");
      r = build(s, [&](const Index& i) { return at(r, i) + broadcast_at(in[2], i); });
    }
    return one(std::move(r));
  }

  // Layout.
  if (op == "transpose") {
    need(1, 1);
    return one(transpose(in[0], get_int(op, attrs, {"dim0"}), get_int(op, attrs, {"dim1"})));
  }
  if (op == "permute") {
    need(1, 1);
    auto dims = opt_ints(op, attrs, {"dims"});
    if (!dims || static_cast<std::int64_t>(dims->size()) != in[0].rank()) shape_error(op, "dims do not match the rank");
    std::vector<std::int64_t> p;
    for (auto d : *dims) p.push_back(norm_dim(op, d, in[0].rank()));
    std::vector<std::int64_t> sorted = p;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i)
      if (sorted[i] != static_cast<std::int64_t>(i)) shape_error(op, "not a permutation");
    Shape s;
    for (auto d : p) s.push_back(in[0].shape[d]);
    return one(build(s, [&](const Index& idx) {
      Index src(idx.size());
      for (std::size_t i = 0; i < p.size(); ++i) src[p[i]] = idx[i];
      return at(in[0], src);
    }));
  }
  if (op == "reshape" || op == "view") {
    need(1, 1);
    auto shape = opt_ints(op, attrs, {"shape", "size"});
    if (!shape) throw NotEncodable(std::string(op), "missing shape");
    Shape s = *shape;
    std::int64_t known = 1, infer = -1;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == -1) {
        if (infer >= 0) shape_error(op, "two -1 dims");
        infer = static_cast<std::int64_t>(i);
      } else if (s[i] < 0) {
        shape_error(op, "negative dim");
      } else {
        known *= s[i];
      }
    }
    if (infer >= 0) {
      if (known == 0 || in[0].numel() % known != 0) shape_error(op, "cannot infer -1");
      s[infer] = in[0].numel() / known;
    }
    if (numel_of(s) != in[0].numel()) shape_error(op, "numel differs: " + shape_text(in[0].shape) + " -> " + shape_text(s));
    return one(reshape_to(in[0], s));
  }
  if (op == "flatten") {
    need(1, 1);
    const SymTensor& x = in[0];
    if (x.rank() == 0) return one(reshape_to(x, {1}));
    std::int64_t a = norm_dim(op, get_int(op, attrs, {"start_dim"}, 0), x.rank());
    std::int64_t b = norm_dim(op, get_int(op, attrs, {"end_dim"}, -1), x.rank());
    if (a > b) shape_error(op, "start_dim > end_dim");
    Shape s(x.shape.begin(), x.shape.begin() + a);
    std::int64_t prod = 1;
    for (std::int64_t i = a; i <= b; ++i) prod *= x.shape[i];
    s.push_back(prod);
    s.insert(s.end(), x.shape.begin() + b + 1, x.shape.end());
    return one(reshape_to(x, s));
  }
  if (op == "unsqueeze") {
    need(1, 1);
    std::int64_t d = norm_dim(op, get_int(op, attrs, {"dim"}), in[0].rank() + 1);
    Shape s = in[0].shape;
    s.insert(s.begin() + d, 1);
    return one(reshape_to(in[0], s));
  }
  if (op == "squeeze") {
    need(1, 1);
    auto dims = opt_ints(op, attrs, {"dim", "dims"});
    Shape s;
    std::vector<bool> drop(in[0].shape.size(), false);
    if (!dims) {
      for (std::size_t i = 0; i < drop.size(); ++i) drop[i] = in[0].shape[i] == 1;
    } else if (in[0].rank() > 0) {
      for (auto d : *dims) {
        auto nd = norm_dim(op, d, in[0].rank());
        drop[nd] = in[0].shape[nd] == 1;
      }
    }
    for (std::size_t i = 0; i < drop.size(); ++i)
      if (!drop[i]) s.push_back(in[0].shape[i]);
    return one(reshape_to(in[0], s));
  }
  if (op == "expand") {
    need(1, 1);
    auto size = opt_ints(op, attrs, {"size", "shape", "sizes"});
    if (!size) throw NotEncodable("expand", "missing size");
    Shape s = *size;
    const SymTensor& x = in[0];
    if (s.size() < x.shape.size()) shape_error(op, "fewer dims than the tensor");
    std::size_t off = s.size() - x.shape.size();
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == -1) {
        if (i < off) shape_error(op, "-1 in a new leading dim");
        s[i] = x.shape[i - off];
      } else if (i >= off && x.shape[i - off] != 1 && x.shape[i - off] != s[i]) {
        shape_error(op, "cannot expand " + shape_text(x.shape) + " to " + shape_text(*size));
      }
    }
    return one(build(s, [&](const Index& i) { return broadcast_at(x, i); }));
  }
  if (op == "repeat") {
    need(1, 1);
    auto reps = opt_ints(op, attrs, {"repeats", "sizes"});
    if (!reps) throw NotEncodable("repeat", "missing repeats");
    const SymTensor& x = in[0];
    if (reps->size() < x.shape.size()) shape_error(op, "fewer repeats than dims");
    std::size_t off = reps->size() - x.shape.size();
    Shape s(reps->size());
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = (*reps)[i] * (i < off ? 1 : x.shape[i - off]);
    return one(build(s, [&](const Index& idx) {
      Index src;
      for (std::size_t i = off; i < idx.size(); ++i) src.push_back(idx[i] % x.shape[i - off]);
      return at(x, src);
    }));
  }
  if (op == "repeat_interleave") {
    need(1, 1);
    std::int64_t reps = get_int(op, attrs, {"repeats"});
    if (reps < 0) shape_error(op, "negative repeats");
    auto dim = opt_int(op, attrs, {"dim"});
    SymTensor x = in[0];
    if (!dim) {
      x = reshape_to(x, {x.numel()});
      dim = 0;
    }
    std::int64_t d = norm_dim(op, *dim, x.rank());
    Shape s = x.shape;
    s[d] *= reps;
    return one(build(s, [&](const Index& idx) {
      Index src = idx;
      src[d] /= reps;
      return at(x, src);
    }));
  }
  if (op == "cat") {
    if (in.empty()) shape_error(op, "no tensors");
    std::int64_t dim = get_int(op, attrs, {"dim"}, 0);
    std::int64_t r = in[0].rank();
    if (r == 0) shape_error(op, "zero-dimensional tensors cannot be concatenated");
    std::int64_t d = norm_dim(op, dim, r);
    Shape s = in[0].shape;
    s[d] = 0;
    std::vector<std::int64_t> offsets;
    for (const auto& t : in) {
      if (t.rank() != r) shape_error(op, "ranks differ");
      for (std::int64_t i = 0; i < r; ++i)
        if (i != d && t.shape[i] != in[0].shape[i]) shape_error(op, "sizes differ outside the cat dim");
      offsets.push_back(s[d]);
      s[d] += t.shape[d];
    }
    return one(build(s, [&](const Index& idx) {
      std::size_t k = 0;
      while (k + 1 < in.size() && idx[d] >= offsets[k + 1]) ++k;
      Index src = idx;
      src[d] -= offsets[k];
      return at(in[k], src);
    }));
  }
  if (op == "stack") {
    if (in.empty()) shape_error(op, "no tensors");
    std::int64_t d = norm_dim(op, get_int(op, attrs, {"dim"}, 0), in[0].rank() + 1);
    for (const auto& t : in)
      if (t.shape != in[0].shape) shape_error(op, "shapes differ");
    Shape s = in[0].shape;
    s.insert(s.begin() + d, static_cast<std::int64_t>(in.size()));
    return one(build(s, [&](const Index& idx) {
      Index src = idx;
      src.erase(src.begin() + d);
      return at(in[idx[d]], src);
    }));
  }
  if (op == "slice") {
    need(1, 1);
    const SymTensor& x = in[0];
    if (x.rank() == 0) shape_error(op, "cannot slice a scalar");
    std::int64_t d = norm_dim(op, get_int(op, attrs, {"dim"}, 0), x.rank());
    std::int64_t n = x.shape[d];
    std::int64_t start = get_int(op, attrs, {"start"}, 0);
    std::int64_t end = get_int(op, attrs, {"end"}, n);
    std::int64_t step = get_int(op, attrs, {"step"}, 1);
    if (step <= 0) shape_error(op, "step must be positive");
    auto clamp = [&](std::int64_t v) {
      if (v < 0) v += n;
      return std::clamp<std::int64_t>(v, 0, n);
    };
    start = clamp(start);
    end = clamp(end);
    std::int64_t len = end > start ? (end - start + step - 1) / step : 0;
    Shape s = x.shape;
    s[d] = len;
    return one(build(s, [&](const Index& idx) {
      Index src = idx;
      src[d] = start + idx[d] * step;
      return at(x, src);
    }));
  }
  if (op == "select") {
    need(1, 1);
    const SymTensor& x = in[0];
    if (x.rank() == 0) shape_error(op, "cannot select from a scalar");
    std::int64_t d = norm_dim(op, get_int(op, attrs, {"dim"}, 0), x.rank());
    std::int64_t i = get_int(op, attrs, {"index"});
    if (i < -x.shape[d] || i >= x.shape[d]) shape_error(op, "index out of range");
    if (i < 0) i += x.shape[d];
    Shape s = x.shape;
    s.erase(s.begin() + d);
    return one(build(s, [&](const Index& idx) {
      Index src = idx;
      src.insert(src.begin() + d, i);
      return at(x, src);
    }));
  }
  if (op == "split" || op == "chunk") {
    need(1, 1);
    const SymTensor& x = in[0];
    if (x.rank() == 0) shape_error(op, "cannot split a scalar");
    std::int64_t d = norm_dim(op, get_int(op, attrs, {"dim"}, 0), x.rank());
    std::int64_t n = x.shape[d];
    std::vector<std::int64_t> sizes;
    if (op == "chunk") {
      std::int64_t chunks = get_int(op, attrs, {"chunks"});
      if (chunks <= 0) shape_error(op, "chunks must be positive");
      std::int64_t size = (n + chunks - 1) / chunks;
      for (std::int64_t at0 = 0; at0 < n; at0 += size) sizes.push_back(std::min(size, n - at0));
      if (n == 0) sizes.push_back(0);
    } else {
      auto given = opt_ints(op, attrs, {"split_size", "split_size_or_sections", "split_sizes", "sections"});
      if (!given) throw NotEncodable("split", "missing split sizes");
      const ops::AttrValue* raw = find_attr(attrs, {"split_size", "split_size_or_sections", "split_sizes", "sections"});
      bool is_list = std::holds_alternative<std::vector<std::int64_t>>(raw->value);
      if (!is_list) {
        std::int64_t size = (*given)[0];
        if (size <= 0) shape_error(op, "split size must be positive");
        for (std::int64_t at0 = 0; at0 < n; at0 += size) sizes.push_back(std::min(size, n - at0));
      } else {
        sizes = *given;
        if (std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0}) != n) shape_error(op, "sections do not sum to the dim");
      }
    }
    std::vector<SymTensor> outs;
    std::int64_t offset = 0;
    for (auto size : sizes) {
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
  if (op == "index_select") {
    need(2, 2);
    const SymTensor &x = in[0], &index = in[1];
    if (index.rank() > 1) shape_error(op, "index must be 1-D");
    std::int64_t d = norm_dim(op, get_int(op, attrs, {"dim"}, 0), x.rank());
    std::int64_t n = x.shape[d];
    for (const auto& e : index.elements) {
      if (auto v = numeral_value(e)) {
        if (!is_integer(*v) || *v < 0 || *v >= n) shape_error(op, "index out of range");
      } else {
        domain_.push_back(z3::expr(ctx_, Z3_mk_is_int(ctx_, e)) && e >= 0 && e < real(n));
      }
    }
    Shape s = x.shape;
    s[d] = index.numel();
    return one(build(s, [&](const Index& idx) {
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
        r = z3::ite(ie == real(j), at(x, src), r);
      }
      return r;
    }));
  }
  auto mask_bool = [&](const z3::expr& m) {
    if (!m.is_numeral()) domain_.push_back(m == 0 || m == 1);
    return m != 0;
  };
  if (op == "where") {
    need(3, 3);
    Shape s = broadcast_shapes(op, broadcast_shapes(op, in[0].shape, in[1].shape), in[2].shape);
    return one(build(s, [&](const Index& i) {
      return z3::ite(mask_bool(broadcast_at(in[0], i)), broadcast_at(in[1], i), broadcast_at(in[2], i));
    }));
  }
  if (op == "masked_fill") {
    need(2, 3);
    z3::expr value = real(0);
    if (in.size() == 3) {
      if (in[2].numel() != 1) shape_error(op, "value must be a scalar");
      value = in[2].elements[0];
    } else {
      auto v = opt_number(attrs, {"value"});
      if (!v) throw NotEncodable("masked_fill", "the fill value must be a finite constant");
      value = real(*v);
    }
    Shape s = broadcast_shapes(op, in[0].shape, in[1].shape);
    if (s != in[0].shape) shape_error(op, "mask does not broadcast to the input");
    return one(build(s, [&](const Index& i) { return z3::ite(mask_bool(broadcast_at(in[1], i)), value, at(in[0], i)); }));
  }
  if (op == "triu" || op == "tril") {
    need(1, 1);
    if (in[0].rank() < 2) shape_error(op, "needs rank >= 2");
    std::int64_t k = get_int(op, attrs, {"diagonal"}, 0);
    bool upper = op == "triu";
    return one(build(in[0].shape, [&](const Index& idx) {
      std::int64_t i = idx[idx.size() - 2], j = idx[idx.size() - 1];
      bool keep = upper ? j - i >= k : j - i <= k;
      return keep ? at(in[0], idx) : real(0);
    }));
  }
  if (op == "zeros" || op == "ones" || op == "full") {
    need(0, 0);
    auto size = opt_ints(op, attrs, {"size", "shape"});
    if (!size) throw NotEncodable(std::string(op), "missing size");
    for (auto d : *size)
      if (d < 0) shape_error(op, "negative size");
    Rational v = op == "zeros" ? Rational(0) : op == "ones" ? Rational(1) : Rational(0);
    if (op == "full") {
      auto fv = opt_number(attrs, {"fill_value", "value"});
      if (!fv) throw NotEncodable("full", "the fill value must be a finite constant");
      v = *fv;
    }
    z3::expr e = real(v);
    return one(build(*size, [&](const Index&) { return e; }));
  }
  if (op == "arange") {
    need(0, 0);
    auto num = [&](const char* n, std::optional<Rational> d) {
      auto v = opt_number(attrs, {n});
      if (!v && !d) throw NotEncodable("arange", std::string("missing ") + n);
      return v ? *v : *d;
    };
    Rational start = num("start", Rational(0)), end = num("end", std::nullopt), step = num("step", Rational(1));
    if (step == 0) shape_error(op, "step is zero");
    std::vector<z3::expr> el;
    for (Rational v = start; step > 0 ? v < end : v > end; v += step) el.push_back(real(v));
    SymTensor out;
    out.shape = {static_cast<std::int64_t>(el.size())};
    out.elements = el;
    return one(std::move(out));
  }
  if (op == "layer_norm") {
    need(1, 3);
    const SymTensor& x = in[0];
    auto ns = opt_ints(op, attrs, {"normalized_shape"});
    if (!ns) throw NotEncodable("layer_norm", "missing normalized_shape");
    if (static_cast<std::int64_t>(ns->size()) > x.rank()) shape_error(op, "normalized_shape longer than the rank");
    for (std::size_t i = 0; i < ns->size(); ++i)
      if (x.shape[x.rank() - ns->size() + i] != (*ns)[i]) shape_error(op, "normalized_shape does not match");
    Rational eps = opt_number(attrs, {"eps"}).value_or(Rational(1, 100000));
    std::vector<bool> reduced(x.shape.size(), false);
    for (std::size_t i = x.shape.size() - ns->size(); i < x.shape.size(); ++i) reduced[i] = true;
    SymTensor mean = reduce(x, reduced, true, [&](const std::vector<z3::expr>& v) {
      return sum_of(v) / real(static_cast<std::int64_t>(v.size()));
    });
    SymTensor centered = build(x.shape, [&](const Index& i) { return at(x, i) - broadcast_at(mean, i); });
    SymTensor var = reduce(centered, reduced, true, [&](const std::vector<z3::expr>& v) {
      std::vector<z3::expr> sq;
      for (const auto& e : v) sq.push_back(e * e);
      return sum_of(sq) / real(static_cast<std::int64_t>(v.size()));
    });
    z3::expr eps_e = real(eps);
    std::vector<z3::expr> inv;
    for (const auto& v : var.elements) inv.push_back(rsqrt(v + eps_e));
    SymTensor inv_t{var.shape, inv};
    Shape ns_shape(*ns);
    SymTensor y = build(x.shape, [&](const Index& i) { return at(centered, i) * broadcast_at(inv_t, i); });
    for (std::size_t k = 1; k < in.size(); ++k) {
      if (in[k].shape != ns_shape) shape_error(op, "weight/bias must have the normalized shape");
      y = build(x.shape, [&](const Index& i) {
        return k == 1 ? at(y, i) * broadcast_at(in[k], i) : at(y, i) + broadcast_at(in[k], i);
      });
    }
    return one(std::move(y));
  }
  if (op == "scaled_dot_product_attention") {
    if (in.size() == 4) throw NotEncodable(std::string(op), "attn_mask");
    need(3, 3);
    const SymTensor &q = in[0], &k = in[1], &v = in[2];
    if (q.rank() < 2 || k.rank() < 2 || v.rank() < 2) shape_error(op, "q, k, v need rank >= 2");
    if (auto p = opt_number(attrs, {"dropout_p"}); p && *p != 0) throw NotEncodable(std::string(op), "dropout");
    bool causal = get_bool(attrs, {"is_causal"}, false);
    std::int64_t e = q.shape.back();
    z3::expr scale = real(1);
    if (auto s = opt_number(attrs, {"scale"})) scale = real(*s);
    else scale = 1 / sqrt_of(real(e));
    SymTensor kt = transpose(k, -2, -1);
    SymTensor scores = batched_matmul(q, kt);
    std::int64_t L = scores.shape[scores.rank() - 2], S = scores.shape.back();
    SymTensor weights = scores;
    Shape st = strides_of(scores.shape);
    for (std::int64_t flat = 0; flat < scores.numel(); flat += S) {
      std::int64_t row = (flat / S) % L;
      std::vector<z3::expr> ex;
      for (std::int64_t j = 0; j < S; ++j)
        ex.push_back(causal && j > row ? real(0) : exp_of(scores.elements[flat + j] * scale));
      z3::expr total = ex[0];
      for (std::int64_t j = 1; j < S; ++j) total = total + ex[j];
      for (std::int64_t j = 0; j < S; ++j) weights.elements[flat + j] = ex[j] / total;
    }
    (void)st;
    return one(batched_matmul(weights, v));
  }
  if (op == "getitem") throw NotEncodable("getitem", "handled by the pattern walker");
  throw NotEncodable(std::string(op), "");
}

}  // namespace twin::verify
