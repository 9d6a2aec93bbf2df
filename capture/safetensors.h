// Reading a safetensors file (https://github.com/huggingface/safetensors): the container a
// `.graph` file is (docs/graph-format.md).
//
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   the header: a JSON object, tensor name -> {"dtype", "shape", "data_offsets"},
//             plus an optional "__metadata__" object of strings
//   rest      the tensor data, each tensor at its data_offsets (relative to the data start)
//
// Invariants once `SafetensorsFile::parse` returns: every entry's dtype is one Twin reads, its
// shape has a rank and a size that fit in memory (capture/tensor_limits.h), its offsets lie
// inside the data section, and its byte count is exactly its element count times its element
// size. So loading an entry reads only bytes the file holds, whatever the file says. The
// entries tile the data section, as safetensors' own reader requires: sorted by offset, each
// begins where the previous one ended and the last ends at the end of the file, so no byte
// is shared by two tensors, hidden between them, or appended after them. Every problem is a twin::Error naming the file: ErrorKind::Io for a file cut short,
// ErrorKind::Value for bad content.
//
// The parsed file refers to the bytes it was parsed from: they must outlive it.
#pragma once

#include "ops/tensor.h"
#include "ops/tensor_type.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twin {

namespace capture {

class SafetensorsFile {
 public:
  struct Entry {
    std::string dtype;  // the safetensors name: "F32", "BF16", "I64", ...
    std::vector<std::int64_t> shape;
    std::uint64_t begin = 0, end = 0;  // byte offsets in the data section
  };

  // Reads and checks the header of `bytes`; `file` names it in errors. Throws Error (Io, Value).
  static SafetensorsFile parse(std::string_view bytes, std::string file);

  const std::string& file() const { return file_; }
  // The "__metadata__" entries; nullopt when the header has none.
  const std::optional<std::map<std::string, std::string, std::less<>>>& metadata() const { return metadata_; }
  const Entry* find(std::string_view key) const;
  // Every entry by name ("__metadata__" is not one).
  const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }

  // The tensor stored under `key`, which must have exactly `type` (shape and Twin dtype).
  // `what` names the value the caller wanted in errors ("parameter 'w'"). Throws Error (Value).
  ops::Tensor load(std::string_view key, const ops::TensorType& type, const std::string& what) const;

 private:
  // Throws unless the entries tile the `data_size` bytes of the data section.
  void check_tiling(std::uint64_t data_size) const;

  std::string_view bytes_;
  std::string file_;
  std::uint64_t data_start_ = 0;
  std::map<std::string, Entry, std::less<>> entries_;
  std::optional<std::map<std::string, std::string, std::less<>>> metadata_;
};

// The bytes of one element of a safetensors dtype as stored ("BF16": 2, "U8": 1); 0 for a
// dtype Twin does not read.
std::size_t safetensors_element_size(std::string_view safetensors_dtype);

// The Twin dtype a safetensors dtype loads as (I16, I8 and U8 widen to i32); nullopt for a
// dtype Twin does not read.
std::optional<ops::DType> safetensors_twin_dtype(std::string_view safetensors_dtype);

}  // namespace capture

// Decodes `count` little-endian elements of a safetensors dtype ("F32", "BF16", "F16", "F64",
// "I64", "I32", "I16", "I8", "U8", "BOOL") into a tensor of Twin's dtype (I16, I8 and U8 widen
// to i32). Exact for every value. Throws std::invalid_argument for another dtype.
ops::Tensor tensor_from_bytes(const unsigned char* data, const std::vector<std::int64_t>& shape,
                              std::string_view safetensors_dtype);

}  // namespace twin
