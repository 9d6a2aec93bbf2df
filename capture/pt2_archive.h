// The layout of the archive torch.export.save writes (the "pt2" archive format, version 0,
// written by torch >= 2.6; tried with 2.11): a zip (capture/zip_archive.h) whose entries sit
// under one folder named after the file:
//
//   NAME/archive_format                 "pt2"
//   NAME/archive_version                "0"
//   NAME/byteorder                      "little"
//   NAME/models/model.json              the program, in torch's export schema (export_reader.cpp)
//   NAME/data/weights/model_weights_config.json     FQN -> {path_name, tensor_meta, use_pickle}
//   NAME/data/weights/weight_K          raw bytes of the storage of a parameter or buffer
//   NAME/data/constants/model_constants_config.json, tensor_K   likewise for constants
//   NAME/data/sample_inputs/model.pt    the example inputs, torch.save'd
//
// This room knows those names and the tensor configs; it knows nothing of the program. Every
// problem is a twin::Error naming the archive and the entry. The layout of torch 2.1 to 2.5
// (serialized_exported_program.json, pickled state dicts) is refused with a message saying so.
#pragma once

#include "capture/zip_archive.h"
#include "ops/tensor.h"
#include "ops/tensor_type.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twin::capture {

// The archive's dtype codes (torch/_export/serde/schema.py's ScalarType): 7 float32, 13
// bfloat16, 12 bool, ... nullopt for one Twin has no dtype for (complex, float8). Narrow
// integer types widen to i32, as Twin reads their tensors.
std::optional<ops::DType> export_scalar_type(long long code);
// For a complex dtype code (complex64: 10, complex128: 11), the real dtype of its parts (f32,
// f64): Twin holds a complex tensor of shape S as its real pairs, shape S + [2]
// (capture/aten/complex_pairs.h). nullopt for every other code.
std::optional<ops::DType> export_complex_part_type(long long code);
// The code's name for messages ("complex64" for 10, "code 99" when unknown).
std::string export_scalar_type_name(long long code);

// The row-major strides of a tensor of these sizes.
std::vector<std::int64_t> contiguous_strides(const std::vector<std::int64_t>& sizes);
// The tensor that sizes, strides and a storage offset (in elements) describe over a raw
// little-endian storage of an archive dtype code, every element checked to lie inside the
// storage. Throws Error (Value) starting with `what`.
ops::Tensor tensor_from_storage(std::string_view storage, long long dtype_code, const std::vector<std::int64_t>& sizes,
                                const std::vector<std::int64_t>& strides, std::int64_t offset, const std::string& what);

class Pt2Archive {
 public:
  // Opens the archive in `bytes` (which must outlive it) and checks its format, version and
  // byte order. Throws Error (Io, Value) naming `file`.
  static Pt2Archive open(std::string_view bytes, std::string file);

  const std::string& file() const { return zip_.file(); }
  const std::string& archive_version() const { return version_; }
  const std::string& model_name() const { return model_; }  // "model"
  // The program's JSON text (models/MODEL.json).
  std::string_view program_json() const;

  // Whether the weights or constants config describes a tensor under this fully qualified name.
  bool has_tensor(std::string_view fqn) const { return tensors_.count(fqn) != 0; }
  // Its recorded type; throws Error naming the tensor when the config is not one Twin reads.
  ops::TensorType tensor_type(std::string_view fqn) const;
  // Its values, read from its storage entry through its sizes, strides and storage offset.
  ops::Tensor load_tensor(std::string_view fqn) const;

  // The torch.save'd example inputs (data/sample_inputs/MODEL.pt); nullopt when absent.
  std::optional<std::string_view> sample_inputs() const;

 private:
  struct StoredTensor {
    std::string entry;        // the archive entry holding its storage
    std::string config;       // the config file that described it, for messages
    std::string meta;         // tensor_meta as JSON text
    bool pickled = false;     // use_pickle: stored by torch.save, which Twin does not read
  };
  void read_config(const std::string& entry, const std::string& folder);

  ZipArchive zip_;
  std::string prefix_;   // "NAME/"
  std::string version_, model_;
  std::map<std::string, StoredTensor, std::less<>> tensors_;
};

}  // namespace twin::capture
