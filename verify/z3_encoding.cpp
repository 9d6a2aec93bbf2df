#include "verify/z3_encoding.h"

#include "ops/op_spec.h"
#include "verify/z3/op_encoding.h"

#include <algorithm>

namespace twin::verify {

using encoding::numeral_value;

std::int64_t SymTensor::numel() const { return encoding::numel_of(shape); }

bool has_z3_encoding(std::string_view registered_name) {
  return encoding::encoding_table().find(registered_name) != nullptr;
}

std::vector<std::string> z3_encoded_ops() { return encoding::encoding_table().names(); }

bool is_encodable(std::string_view op) {
  const ops::OpSpec* spec = ops::find_op(op);
  return spec && has_z3_encoding(spec->name);
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
  return encoding::build(shape, [&](const encoding::Index& idx) {
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
  const ops::OpSpec* spec = ops::find_op(op);
  encoding::OpEncoding encode_op = spec ? encoding::encoding_table().find(spec->name) : nullptr;
  if (!encode_op) throw NotEncodable(std::string(op), "");
  encoding::EncodeCall call(*this, op, spec->name, in, attrs);
  return encode_op(call);
}

}  // namespace twin::verify
