// The ATen mapping's table and its driver: lookup by ATen name, the output-count check, the
// check that a lowering used only the ops its entry declares, and the argument readers the
// family files (capture/aten/) share.
#include "capture/aten_mapping.h"

#include "capture/aten/mapping_context.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace twin::capture {

namespace {

struct Table {
  std::vector<AtenMapping> entries;
  // The first entry of each name (tests/capture_aten_registry_test.cpp rejects a second).
  std::map<std::string, std::size_t, std::less<>> index;
};

const Table& table() {
  static const Table t = [] {
    Table out;
    register_elementwise_mappings(out.entries);
    register_reduction_mappings(out.entries);
    register_linear_algebra_mappings(out.entries);
    register_layout_mappings(out.entries);
    register_other_mappings(out.entries);
    for (std::size_t i = 0; i < out.entries.size(); ++i) out.index.emplace(out.entries[i].aten_name, i);
    return out;
  }();
  return t;
}

// PyTorch's c10::ScalarType codes, as TorchScript passes a dtype argument.
std::optional<ops::DType> scalar_type_code(std::int64_t code) {
  switch (code) {
    case 0: case 1: case 2: case 3: return ops::DType::I32;  // u8 i8 i16 widened; i32
    case 4: return ops::DType::I64;
    case 5: return ops::DType::F16;
    case 6: return ops::DType::F32;
    case 7: return ops::DType::F64;
    case 11: return ops::DType::Bool;
    case 15: return ops::DType::BF16;
    default: return std::nullopt;
  }
}

}  // namespace

const std::vector<AtenMapping>& aten_mappings() { return table().entries; }

const AtenMapping* find_aten_mapping(std::string_view aten_name) {
  const Table& t = table();
  auto it = t.index.find(aten_name);
  return it == t.index.end() ? nullptr : &t.entries[it->second];
}

void add_mapping(std::vector<AtenMapping>& out, std::initializer_list<const char*> aten_names,
                 std::vector<std::string> emits, MapFunction map) {
  for (const char* name : aten_names) out.push_back(AtenMapping{name, emits, false, false, map});
}

Lowering lower_aten_call(const AtenCall& call, const RecordedTypes& types) {
  Lowering out;
  const AtenMapping* mapping = find_aten_mapping(call.name);
  try {
    if (!mapping) throw Unmappable{"Twin has no mapping for this op"};
    MappingContext context(call, types, out);
    mapping->map(context);
    // Every output of the node must come from the lowering.
    std::size_t produced = out.results.empty() ? 1 : out.results.size();
    if (produced != types.outputs.size() && !mapping->outputs_from_last_step)
      throw Unmappable{"records " + std::to_string(types.outputs.size()) + " outputs, the mapping gives " +
                       std::to_string(produced)};
  } catch (const Unmappable& u) {
    out = Lowering{};
    out.opaque = true;
    out.opaque_reason = u.reason;
    return out;
  }
  for (const auto& step : out.steps)
    if (std::find(mapping->emits.begin(), mapping->emits.end(), step.op) == mapping->emits.end())
      throw std::logic_error("the mapping of aten::" + call.name + " emitted " + step.op + ", which its entry does not declare");
  return out;
}

// ---- MappingContext -------------------------------------------------------------------------

GraphOperand MappingContext::tensor_of(const AtenValue* value, const char* what) const {
  if (!is_tensor(value)) throw Unmappable{std::string(what) + " is not a tensor reference"};
  return operand_of(value, what);
}

GraphOperand MappingContext::operand_of(const AtenValue* value, const char* what) const {
  GraphOperand o;
  if (is_tensor(value)) {
    o.kind = GraphOperand::Kind::Value;
    o.ref = value->tensor();
    return o;
  }
  if (value && value->is_bool()) {
    o.kind = GraphOperand::Kind::Scalar;
    o.scalar = value->bool_value() ? 1 : 0;
    o.integral = true;
    return o;
  }
  if (is_number(value)) {
    o.kind = GraphOperand::Kind::Scalar;
    o.scalar = value->number();
    o.integral = value->is_int();
    return o;
  }
  throw Unmappable{std::string(what) + " is neither a tensor nor a number"};
}

const ops::TensorType& MappingContext::type_of(const GraphOperand& operand) const {
  const ops::TensorType* type = operand.kind == GraphOperand::Kind::Value ? types_.value(operand.ref) : nullptr;
  if (!type) throw Unmappable{"no recorded type for " + operand.ref.to_string()};
  return *type;
}

const std::vector<std::int64_t>& MappingContext::out_shape() const {
  if (types_.outputs.size() != 1) throw Unmappable{"expects one recorded output"};
  return types_.outputs[0].shape;
}

ops::DType MappingContext::out_dtype() const {
  if (types_.outputs.empty()) throw Unmappable{"records no output"};
  return types_.outputs[0].dtype;
}

void MappingContext::require_outputs() const {
  if (types_.outputs.empty()) throw Unmappable{"a multi-output op with no recorded outputs"};
}

int MappingContext::step(std::string op, std::vector<GraphOperand> operands, ops::Attributes attributes) {
  out_.steps.push_back(GraphStep{std::move(op), std::move(operands), std::move(attributes), -1});
  return static_cast<int>(out_.steps.size()) - 1;
}

int MappingContext::cast_like(GraphOperand x, GraphOperand like) {
  out_.steps.push_back(GraphStep{"cast", {std::move(x), std::move(like)}, {}, 1});
  return static_cast<int>(out_.steps.size()) - 1;
}

GraphOperand step_result(int step, int output) {
  GraphOperand o;
  o.kind = GraphOperand::Kind::Step;
  o.step = step;
  o.output = output;
  return o;
}

GraphOperand scalar_operand(double value, bool integral) {
  GraphOperand o;
  o.kind = GraphOperand::Kind::Scalar;
  o.scalar = value;
  o.integral = integral;
  return o;
}

// ---- argument readers -----------------------------------------------------------------------

bool is_tensor(const AtenValue* value) { return value && value->is_tensor(); }

bool is_number(const AtenValue* value) { return value && value->is_number(); }

std::int64_t int_of(const AtenValue* value, const char* what) {
  if (!value || !value->is_int()) throw Unmappable{std::string(what) + " is not an integer"};
  return value->int_value();
}

std::vector<std::int64_t> ints_of(const AtenValue* value, const char* what) {
  if (value && value->is_int()) return {value->int_value()};
  if (!value || !value->is_list()) throw Unmappable{std::string(what) + " is not a list of integers"};
  std::vector<std::int64_t> out;
  for (const auto& e : value->list()) out.push_back(int_of(&e, what));
  return out;
}

std::optional<ops::DType> dtype_of(const AtenValue* value) {
  if (!value) return std::nullopt;
  if (value->is_dtype()) {
    if (!value->dtype().dtype) throw Unmappable{"unknown dtype " + value->to_string()};
    return value->dtype().dtype;
  }
  if (value->is_int()) {
    auto d = scalar_type_code(value->int_value());
    if (!d) throw Unmappable{"unknown ScalarType code " + value->to_string()};
    return d;
  }
  if (value->is_string())
    if (auto d = dtype_from_name(value->string())) return d;
  throw Unmappable{"not a dtype: " + value->to_string()};
}

ops::AttrValue number_attr(const AtenValue& value) {
  if (value.is_int()) return ops::AttrValue::of_int(value.int_value());
  if (!value.is_float()) throw Unmappable{"not a number: " + value.to_string()};
  double d = value.number();
  if (std::isnan(d)) return ops::AttrValue{std::string("nan")};
  if (std::isinf(d)) return ops::AttrValue{std::string(d < 0 ? "-inf" : "inf")};
  return ops::AttrValue{Rational(d)};  // exact: a float that happens to be integral stays a float's value
}

void lower_into(GraphNode& node, const AtenCall& call, const Graph& graph) {
  const RecordedTypes types{node.outputs, [&graph](const GraphRef& ref) { return graph.type_of(ref); }};
  Lowering lowering = lower_aten_call(call, types);
  node.opaque = lowering.opaque;
  node.opaque_reason = std::move(lowering.opaque_reason);
  node.steps = std::move(lowering.steps);
  node.results = std::move(lowering.results);
}

}  // namespace twin::capture
