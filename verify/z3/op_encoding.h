// Internal to verify/: the table of Z3 encodings, one entry per registered op, and what an
// encoding is given when it runs.
//
// The table is keyed by the op's registered name in ops/op_spec.h, never by an alias: `view`
// is encoded by `reshape`'s entry, `to` by `cast`'s. Each op family has one file, as ops/ has
// (verify/z3/elementwise.cpp, reductions.cpp, linear_algebra.cpp, layout.cpp, other.cpp), with
// one register_*_encodings function; encoding_table() calls each once, in a fixed order
// (explicit calls, not static registrars, which a static library's linker may drop).
// EncodingTable::add throws std::logic_error for a name that ops::find_op does not resolve to
// that op's registered name, and for a name registered twice: the table and the registry
// cannot drift apart silently (tests/verify_registry_test.cpp also checks that every op whose
// validation is Symbolic has an entry).
//
// An encoding reads its operands flattened (a list operand's tensors in place, as
// ops::OpSpec::infer takes them) and its attributes by the registry's names, as given: the
// checker passes the attributes a rule writes (checked against the registry by its shape
// inference first), tests pass partial ones, so a missing attribute takes PyTorch's default,
// which the encoding applies itself. It throws NotEncodable when it has no encoding for these
// attributes (a symbolic pow exponent), EncodingShapeError when the operands do not fit.
#pragma once

#include "verify/z3/sym_tensor_ops.h"
#include "verify/z3_encoding.h"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twin::verify::encoding {

// One call of an op's encoding: the op, its operands and attributes, and the encoder's
// services (constants, uninterpreted functions, domain conditions).
class EncodeCall {
 public:
  EncodeCall(Z3Encoder& encoder, std::string_view op, std::string_view registered,
             const std::vector<SymTensor>& operands, const ops::Attributes& attributes)
      : op(op), registered(registered), in(operands), attrs(attributes), encoder_(encoder) {}

  const std::string op;          // as the rule wrote it (an alias stays): for messages
  const std::string registered;  // the registry's name: what encodings branch on
  const std::vector<SymTensor>& in;
  const ops::Attributes& attrs;

  z3::context& ctx() { return encoder_.ctx(); }
  z3::expr real(const Rational& value) { return encoder_.real(value); }
  z3::expr real(std::int64_t value) { return encoder_.real(value); }
  // Uninterpreted functions and constants (see Z3Encoder::axioms for what is known of them).
  z3::expr uf(const std::string& name, const z3::expr& arg) { return encoder_.apply_uf(name, arg); }
  z3::expr uf_constant(const std::string& name) { return encoder_.uf_constant(name); }
  z3::expr sqrt_of(const z3::expr& x) { return encoder_.sqrt_of(x); }
  z3::expr exp_of(const z3::expr& x) { return encoder_.exp_of(x); }
  // A condition under which the term being built is defined (the side's domain).
  void require(const z3::expr& condition) { encoder_.domain_.push_back(condition); }
  // a / b, with b != 0 required unless b is a non-zero numeral.
  z3::expr div(const z3::expr& a, const z3::expr& b);
  // 1 / sqrt(x), with x > 0 required.
  z3::expr rsqrt(const z3::expr& x);
  z3::expr sigmoid(const z3::expr& x) { return 1 / (1 + exp_of(-x)); }
  // Another op's encoding (linear without a rank-2 weight is matmul).
  std::vector<SymTensor> encode(std::string_view other, const std::vector<SymTensor>& operands,
                                const ops::Attributes& attributes) {
    return encoder_.encode(other, operands, attributes);
  }

  // Throws EncodingShapeError unless lo <= operands <= hi.
  void need(std::size_t lo, std::size_t hi);
  [[noreturn]] void shape_error(const std::string& why) const;
  // A dim wrapped into [0, rank) (a rank-0 tensor accepts -1 and 0), else a shape error.
  std::int64_t norm_dim(std::int64_t dim, std::int64_t rank) const;

  // Attributes by name; absent and none read as missing.
  const ops::AttrValue* find_attr(const char* name) const;
  std::optional<std::int64_t> opt_int(const char* name) const;  // a one-element list counts
  std::int64_t get_int(const char* name, std::optional<std::int64_t> fallback = std::nullopt) const;
  std::optional<std::vector<std::int64_t>> opt_ints(const char* name) const;  // one integer counts
  bool get_bool(const char* name, bool fallback) const;
  std::string get_string(const char* name, std::string fallback) const;
  std::optional<Rational> opt_number(const char* name) const;  // a bool counts as 0/1

  // The op applied to each element of its one operand.
  template <class F>
  std::vector<SymTensor> unary(F&& f) {
    need(1, 1);
    SymTensor out;
    out.shape = in[0].shape;
    for (const auto& e : in[0].elements) out.elements.push_back(f(e));
    return {std::move(out)};
  }
  // The op applied elementwise to its two operands, broadcast.
  template <class F>
  std::vector<SymTensor> binary(F&& f) {
    need(2, 2);
    Shape s = broadcast_shapes(op, in[0].shape, in[1].shape);
    return {build(s, [&](const Index& i) { return f(broadcast_at(in[0], i), broadcast_at(in[1], i)); })};
  }

 private:
  Z3Encoder& encoder_;
};

using OpEncoding = std::vector<SymTensor> (*)(EncodeCall& call);

class EncodingTable {
 public:
  // Throws std::logic_error when `registered_name` is not an op's registered name (unknown,
  // or an alias) or already has an encoding.
  void add(std::string_view registered_name, OpEncoding encoding);
  OpEncoding find(std::string_view registered_name) const;  // nullptr when none
  std::vector<std::string> names() const;                   // sorted

 private:
  std::map<std::string, OpEncoding, std::less<>> entries_;
};

// Every family's encodings, registered once.
const EncodingTable& encoding_table();

void register_elementwise_encodings(EncodingTable& table);
void register_reduction_encodings(EncodingTable& table);
void register_linear_algebra_encodings(EncodingTable& table);
void register_layout_encodings(EncodingTable& table);
void register_other_encodings(EncodingTable& table);

}  // namespace twin::verify::encoding
