// One call of an ATen op as a capture recorded it, independent of the file it came from: the
// input of the ATen mapping (capture/aten_mapping.h). Each graph format has a decoder that
// builds these from its own encoding (the `.graph` JSON in capture/graph_reader.cpp); the
// mapping never sees the file.
//
//   aten::add(x, 2.5, alpha=1)   ->  AtenCall{name "add", args [tensor x, 2.5], kwargs {alpha: 1}}
//
// What a decoder guarantees:
//   - every tensor reference names a value of the graph being read, with a recorded type;
//   - numbers are Int or Float by how the capture wrote them; non-finite floats are Float
//     (inf, -inf, nan), never strings;
//   - a dtype is a DType when the capture wrote it as one; a dtype Twin has no counterpart for
//     (complex64) is a DType without a value. TorchScript passes dtypes as plain ints
//     (c10::ScalarType codes), and a `.graph` may too: the mapping accepts an Int, and a
//     String naming a dtype, where it expects one;
//   - a value the decoder cannot interpret is Other (its text kept for messages): the
//     mapping fails on it only when it needs that argument.
// The mapping reads arguments by position or keyword name (`get`), as ATen's schemas allow.
#pragma once

#include "capture/graph.h"
#include "ops/dtype.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace twin::capture {

struct AtenValue {
  struct None {};
  struct DType {
    std::optional<ops::DType> dtype;  // nullopt: a dtype Twin does not know
    std::string spelling;             // as written ("bf16", "complex64"), for messages
  };
  struct Device {
    std::string name;  // "cpu", "cuda:0"
  };
  struct Layout {
    std::string name;  // "strided"
  };
  struct MemoryFormat {
    std::string name;  // "contiguous_format"
  };
  struct Other {
    std::string text;  // the value as the file wrote it
  };
  using List = std::vector<AtenValue>;

  std::variant<None, GraphRef, std::int64_t, double, bool, std::string, List, DType, Device, Layout, MemoryFormat, Other>
      value;

  bool is_none() const { return std::holds_alternative<None>(value); }
  bool is_tensor() const { return std::holds_alternative<GraphRef>(value); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(value); }
  bool is_float() const { return std::holds_alternative<double>(value); }
  bool is_number() const { return is_int() || is_float(); }  // not bool
  bool is_bool() const { return std::holds_alternative<bool>(value); }
  bool is_string() const { return std::holds_alternative<std::string>(value); }
  bool is_list() const { return std::holds_alternative<List>(value); }
  bool is_dtype() const { return std::holds_alternative<DType>(value); }
  bool is_device() const { return std::holds_alternative<Device>(value); }

  const GraphRef& tensor() const { return std::get<GraphRef>(value); }
  std::int64_t int_value() const { return std::get<std::int64_t>(value); }
  double number() const;  // an Int or a Float as a double
  bool bool_value() const { return std::get<bool>(value); }
  const std::string& string() const { return std::get<std::string>(value); }
  const List& list() const { return std::get<List>(value); }
  const DType& dtype() const { return std::get<DType>(value); }

  // In the `.graph` notation of docs/graph-format.md: {"ref":"x"}, 2.5, {"float":"-inf"},
  // {"dtype":"bf16"}, [1,8,64], "tanh", null.
  std::string to_string() const;
};

struct AtenCall {
  std::string name;       // "add": namespace `aten`, no overload, no in-place suffix
  std::string overload;   // "Tensor" when the capture recorded it; "" for the default or unknown
  bool in_place = false;  // `add_`: mutates its first argument (mapped as the pure op)
  std::vector<AtenValue> args;
  std::map<std::string, AtenValue, std::less<>> kwargs;

  // Positional argument `i`, else keyword argument `name`; nullptr when absent or none.
  const AtenValue* get(std::size_t i, std::string_view name) const;
};

// An ATen op's qualified name taken apart: "aten::add_.Tensor" -> {"add", "Tensor", in_place}.
// nullopt when the op is not in the `aten` namespace. A name like `__and__` keeps its
// underscores.
struct AtenOpName {
  std::string name, overload;
  bool in_place = false;
};
std::optional<AtenOpName> parse_aten_op_name(std::string_view qualified);

// A dtype's name as captures write it: Twin's names and torch's (ops::parse_dtype), and the
// narrow integer types, which Twin widens to i32 as it does their tensors ("i16", "int8", "u8").
std::optional<ops::DType> dtype_from_name(std::string_view name);

}  // namespace twin::capture
