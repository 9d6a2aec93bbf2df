// Z3 encodings of tensor ops over concrete shapes.
//
// A SymTensor is a tensor of known shape whose elements are Z3 Real terms (row-major). The
// encoder turns each op of the vocabulary whose semantics are tractable into element terms:
// arithmetic and reductions are unrolled, layout ops are index maps, and the transcendental
// functions `exp log tanh erf sin cos` are uninterpreted functions constrained only by sound
// axioms (see axioms()). `sqrt` is an uninterpreted function too, but its axioms
// (x >= 0 -> sqrt(x) >= 0 and sqrt(x)^2 = x) define it exactly on its domain.
//
// Conventions are PyTorch's (ops/op_spec.h): negative dims count from the end, binary ops
// broadcast, `linear(x, w[, b])` is x @ w^T + b, `cast` is the identity in real arithmetic.
// Operands are passed flattened (a list operand's tensors in place), as ops::OpSpec::infer
// takes them. Only verify/ includes <z3++.h>.
//
// The per-op encodings live in verify/z3/, one file per op family, in a table keyed by the
// registered op name (verify/z3/op_encoding.h); this file is the encoder they share: exact
// constants, uninterpreted functions and their axioms, and the domain conditions of a side.
#pragma once

#include "verify/encodable_ops.h"

#include "ops/attributes.h"
#include "util/rational.h"

#include <z3++.h>

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace twin::verify {

struct SymTensor {
  std::vector<std::int64_t> shape;
  std::vector<z3::expr> elements;  // row-major, Real sort

  std::int64_t rank() const { return static_cast<std::int64_t>(shape.size()); }
  std::int64_t numel() const;
};

// The op has no Z3 encoding (or not with these attributes, e.g. a symbolic pow exponent).
class NotEncodable : public std::runtime_error {
 public:
  NotEncodable(std::string op, const std::string& why)
      : std::runtime_error("no Z3 encoding for `" + op + "`" + (why.empty() ? "" : ": " + why)), op_(std::move(op)) {}
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

// The operands do not fit the op (shape error): the instance is not a valid one.
class EncodingShapeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};


namespace encoding {
class EncodeCall;
}

class Z3Encoder {
 public:
  explicit Z3Encoder(z3::context& ctx);

  z3::context& ctx() { return ctx_; }
  z3::expr real(const Rational& value);
  z3::expr real(std::int64_t value) { return real(Rational(value)); }
  // A rank-0 tensor holding a constant.
  SymTensor constant(const Rational& value);
  // A tensor of fresh Real constants named `prefix[i,j]`.
  SymTensor fresh(const std::string& prefix, const std::vector<std::int64_t>& shape);

  // Encodes `op` (a registered name or an alias) on operands (list operands flattened) and
  // attributes (by the registry's names; missing ones take PyTorch's defaults), through the
  // encoding registered for the op. Most ops give one tensor; split and chunk give several.
  // Throws NotEncodable (no encoding, or none for these attributes) or EncodingShapeError.
  std::vector<SymTensor> encode(std::string_view op, const std::vector<SymTensor>& operands,
                                const ops::Attributes& attributes);

  // Sound facts about the uninterpreted functions, instantiated on the terms built so far
  // (call after encoding every side): positivity of exp, exp(a + b) = exp(a) * exp(b) on the
  // sums that occur as arguments, sqrt's defining equations, oddness and bounds of tanh/erf...
  z3::expr_vector axioms();
  // The equations among axioms() that define an application by other terms
  // (exp(a + b) -> exp(a) * exp(b)), for substituting before asking Z3. Valid after axioms().
  const std::vector<std::pair<z3::expr, z3::expr>>& definitions() const { return definitions_; }
  // Conditions under which the terms built since the last call are defined: arguments of
  // sqrt >= 0, of rsqrt and log > 0, divisors != 0, indices integral and in range.
  // Taken (and cleared) per side so a caller can tell lhs's domain from rhs's.
  z3::expr_vector take_domain_conditions();
  // Functions whose models may be spurious (exp log tanh erf sin cos and the irrational
  // constants), as used so far.
  const std::set<std::string>& uninterpreted_used() const { return uninterpreted_used_; }
  // The declaration of an uninterpreted function or constant by its name ("exp", "sqrt",
  // "sqrt2", "sqrt_2_over_pi"), if it was used; for evaluators.
  bool is_uf(const z3::func_decl& decl, std::string* name) const;

 private:
  friend class encoding::EncodeCall;  // an op's encoding builds terms through the encoder

  z3::expr apply_uf(const std::string& name, const z3::expr& arg);
  z3::expr uf_constant(const std::string& name);
  z3::expr sqrt_of(const z3::expr& x);
  z3::expr exp_of(const z3::expr& x);

  z3::context& ctx_;
  std::map<std::string, z3::func_decl> ufs_;
  std::map<std::string, z3::expr> uf_constants_;
  std::set<std::string> uninterpreted_used_;
  // Applications built so far, by function name (deduplicated by Z3 id).
  std::map<std::string, std::map<unsigned, z3::expr>> applications_;
  z3::expr_vector domain_;
  std::vector<std::pair<z3::expr, z3::expr>> definitions_;
  std::size_t fresh_counter_ = 0;
};

// Exact text of a Z3 numeral ("3", "-1/2"); an algebraic number as a decimal ("1.41421356?").
std::string numeral_text(const z3::expr& value);

}  // namespace twin::verify
