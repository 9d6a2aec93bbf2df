// ATen's reductions onto Twin's: mean, sum, amax (dims, keepdim, an accumulation dtype), the
// softmax family (_softmax's third argument is half_to_float, not a dtype) and cumsum.
#include "capture/aten/mapping_context.h"

namespace twin::capture {

namespace {

void map_reduction(MappingContext& c) {
  const std::string& op = c.op();
  ops::Attributes at;
  if (auto d = c.arg(1, "dim")) {
    if (d->is_dtype()) at["dtype"] = dtype_attr(*dtype_of(d));  // sum(self, dtype=...)
    else at["dim"] = ints_attr(ints_of(d, "dim"));
  }
  if (auto k = c.arg(2, "keepdim")) {
    if (!k->is_bool()) throw Unmappable{"keepdim is not a boolean"};
    at["keepdim"] = ops::AttrValue{k->bool_value()};
  }
  if (op != "amax")
    if (auto dt = dtype_of(c.arg(3, "dtype"))) at["dtype"] = dtype_attr(*dt);
  if (op == "amax" && !at.count("dim")) at["dim"] = ints_attr({});
  c.step(op, {c.tensor()}, at);
}

void map_softmax(MappingContext& c) {
  const std::string& op = c.op();
  ops::Attributes at{{"dim", int_attr(int_of(c.arg(1, "dim"), "dim"))}};
  const AtenValue* d = op[0] == '_' ? nullptr : c.arg(2, "dtype");  // _softmax: half_to_float
  if (auto dt = dtype_of(d)) at["dtype"] = dtype_attr(*dt);
  c.step(op == "_softmax" ? "softmax" : op == "_log_softmax" ? "log_softmax" : op, {c.tensor()}, at);
}

void map_cumsum(MappingContext& c) {
  ops::Attributes at{{"dim", int_attr(int_of(c.arg(1, "dim"), "dim"))}};
  if (auto dt = dtype_of(c.arg(2, "dtype"))) at["dtype"] = dtype_attr(*dt);
  c.step("cumsum", {c.tensor()}, at);
}

}  // namespace

void register_reduction_mappings(std::vector<AtenMapping>& out) {
  add_mapping(out, {"mean"}, {"mean"}, map_reduction);
  add_mapping(out, {"sum"}, {"sum"}, map_reduction);
  add_mapping(out, {"amax"}, {"amax"}, map_reduction);
  add_mapping(out, {"softmax", "_softmax"}, {"softmax"}, map_softmax);
  add_mapping(out, {"log_softmax", "_log_softmax"}, {"log_softmax"}, map_softmax);
  add_mapping(out, {"cumsum"}, {"cumsum"}, map_cumsum);
}

}  // namespace twin::capture
