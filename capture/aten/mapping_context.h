// Internal to the ATen mapping (capture/aten_mapping.h): what one mapping function reads (the
// call's arguments, the recorded types) and writes (steps and results), the argument readers
// they share, and the registration function of each family file. aten_mapping.cpp calls every
// register_* function once, in a fixed order (explicit calls, not static registrars, which a
// static library's linker may drop).
//
// A mapping function either emits its steps or throws Unmappable with the reason; it never
// throws anything else for a call it does not handle, so no captured call fails a load.
#pragma once

#include "capture/aten_mapping.h"
#include "ops/attributes.h"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace twin::capture {

// A call the mapping does not handle: the node becomes opaque with this reason.
struct Unmappable {
  std::string reason;
};

class MappingContext {
 public:
  MappingContext(const AtenCall& call, const RecordedTypes& types, Lowering& out)
      : call_(call), types_(types), out_(out) {}

  const AtenCall& call() const { return call_; }
  const std::string& op() const { return call_.name; }
  // Positional argument `i`, else keyword `name`; nullptr when absent or none.
  const AtenValue* arg(std::size_t i, const char* name) const { return call_.get(i, name); }

  // The tensor at argument `i` (`name`); Unmappable when it is not a tensor.
  GraphOperand tensor(std::size_t i = 0, const char* name = "self") const { return tensor_of(arg(i, name), name); }
  // A tensor or a Python number (a bool counts as the integer 0 or 1) at argument `i`.
  GraphOperand operand(std::size_t i, const char* name) const { return operand_of(arg(i, name), name); }
  GraphOperand tensor_of(const AtenValue* value, const char* what) const;
  GraphOperand operand_of(const AtenValue* value, const char* what) const;
  // The recorded type of a tensor operand.
  const ops::TensorType& type_of(const GraphOperand& operand) const;

  // The recorded outputs.
  std::size_t output_count() const { return types_.outputs.size(); }
  const std::vector<std::int64_t>& out_shape() const;  // of the only output
  ops::DType out_dtype() const;                        // of the first output
  void require_outputs() const;  // a multi-output op: Unmappable when the capture recorded none

  // Appends a step; returns its index.
  int step(std::string op, std::vector<GraphOperand> operands, ops::Attributes attributes = {});
  // A cast of `x` to the run-time dtype of `like` (type_as, to(other)).
  int cast_like(GraphOperand x, GraphOperand like);
  // Declares output (`step`, `output`) the node's next output. A lowering that declares none
  // gives every output of its last step.
  void result(int step, int output = 0) { out_.results.push_back({step, output}); }

 private:
  const AtenCall& call_;
  const RecordedTypes& types_;
  Lowering& out_;
};

// An output of an earlier step, as an operand.
GraphOperand step_result(int step, int output = 0);
// A Python number, as an operand (an int when `integral`).
GraphOperand scalar_operand(double value, bool integral);

// Argument readers: Unmappable naming `what` when the argument is not of the kind.
bool is_tensor(const AtenValue* value);
bool is_number(const AtenValue* value);  // an Int or a Float (non-finite included), not a bool
std::int64_t int_of(const AtenValue* value, const char* what);
std::vector<std::int64_t> ints_of(const AtenValue* value, const char* what);  // one int or a list
// A dtype argument: a DType, a c10::ScalarType code (TorchScript), or a dtype name. nullopt
// when absent; Unmappable when it names no dtype Twin knows.
std::optional<ops::DType> dtype_of(const AtenValue* value);
// A number as an attribute value: exact (Rational), or "inf", "-inf", "nan".
ops::AttrValue number_attr(const AtenValue& value);

inline ops::AttrValue int_attr(std::int64_t v) { return ops::AttrValue::of_int(v); }
inline ops::AttrValue ints_attr(std::vector<std::int64_t> v) { return ops::AttrValue{std::move(v)}; }
inline ops::AttrValue dtype_attr(ops::DType d) { return ops::AttrValue{d}; }

// A permutation of x's dims as a step: a permute, or, when it swaps two dims and keeps the
// rest, the transpose it is (`permute(0, 2, 1, 3)`, `movedim(0, 1)`), the form the layout
// rules know. Returns the step's index. (layout.cpp)
int emit_permutation(MappingContext& c, GraphOperand x, std::vector<std::int64_t> dims);

// Registration: one entry per ATen name, each with the Twin ops it may emit.
using MapFunction = void (*)(MappingContext&);
void add_mapping(std::vector<AtenMapping>& out, std::initializer_list<const char*> aten_names,
                 std::vector<std::string> emits, MapFunction map);

void register_elementwise_mappings(std::vector<AtenMapping>& out);
void register_reduction_mappings(std::vector<AtenMapping>& out);
void register_linear_algebra_mappings(std::vector<AtenMapping>& out);
void register_layout_mappings(std::vector<AtenMapping>& out);
void register_other_mappings(std::vector<AtenMapping>& out);

}  // namespace twin::capture
