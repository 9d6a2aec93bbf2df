// The `.pt2` archive's layout (capture/pt2_archive.h): the folder, the format and version
// entries, the model's program, and the tensors of its weights and constants configs, each
// read through its sizes, strides and storage offset, every byte checked against its entry.
#include "capture/pt2_archive.h"

#include "capture/safetensors.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

namespace twin::capture {

using json = nlohmann::json;

namespace {

// Each archive dtype code: Twin's dtype, the safetensors name tensor_from_bytes decodes, the
// element size, and torch's name.
struct ScalarTypeCode {
  long long code;
  std::optional<ops::DType> dtype;
  const char* bytes_as;
  std::size_t size;
  const char* name;
};

const ScalarTypeCode kScalarTypes[] = {
    {1, ops::DType::I32, "U8", 1, "uint8"},          {2, ops::DType::I32, "I8", 1, "int8"},
    {3, ops::DType::I32, "I16", 2, "int16"},         {4, ops::DType::I32, "I32", 4, "int32"},
    {5, ops::DType::I64, "I64", 8, "int64"},         {6, ops::DType::F16, "F16", 2, "float16"},
    {7, ops::DType::F32, "F32", 4, "float32"},       {8, ops::DType::F64, "F64", 8, "float64"},
    {9, std::nullopt, "", 4, "complex32"},           {10, std::nullopt, "", 8, "complex64"},
    {11, std::nullopt, "", 16, "complex128"},        {12, ops::DType::Bool, "BOOL", 1, "bool"},
    {13, ops::DType::BF16, "BF16", 2, "bfloat16"},   {28, std::nullopt, "", 2, "uint16"},
    {29, std::nullopt, "", 1, "float8_e4m3fn"},      {30, std::nullopt, "", 1, "float8_e5m2"},
};

const ScalarTypeCode* scalar_type(long long code) {
  for (const auto& s : kScalarTypes)
    if (s.code == code) return &s;
  return nullptr;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  return std::string(s);
}

// An `as_int` SymInt of the schema, or nullopt (a symbolic size).
std::optional<std::int64_t> sym_int(const json& j) {
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_object() && j.contains("as_int") && j["as_int"].is_number_integer()) return j["as_int"].get<std::int64_t>();
  return std::nullopt;
}

}  // namespace

std::optional<ops::DType> export_scalar_type(long long code) {
  const ScalarTypeCode* s = scalar_type(code);
  return s ? s->dtype : std::nullopt;
}

std::string export_scalar_type_name(long long code) {
  const ScalarTypeCode* s = scalar_type(code);
  return s ? s->name : "dtype code " + std::to_string(code);
}

Pt2Archive Pt2Archive::open(std::string_view bytes, std::string file) {
  Pt2Archive a;
  a.zip_ = ZipArchive::parse(bytes, std::move(file));
  const std::string& name = a.zip_.file();
  auto bad = [&](const std::string& what) -> void { throw Error(ErrorKind::Value, name + ": " + what); };

  // The folder: where archive_format sits (torch names it after the file; any name is read).
  for (const auto& e : a.zip_.entries()) {
    const std::string& n = e.name;
    std::size_t slash = n.find('/');
    if (slash != std::string::npos && n.substr(slash + 1) == "archive_format") a.prefix_ = n.substr(0, slash + 1);
    else if (n == "archive_format") a.prefix_.clear();
    else continue;
    a.version_ = "?";
    break;
  }
  if (a.version_.empty()) {
    for (const auto& e : a.zip_.entries())
      if (e.name.size() >= 32 && e.name.compare(e.name.size() - 32, 32, "serialized_exported_program.json") == 0)
        bad("a torch.export archive of torch 2.1 to 2.5 (serialized_exported_program.json, pickled weights): Twin reads "
            "the pt2 archive format (version 0) that torch.export.save writes since torch 2.6; re-save it with torch >= 2.6");
    bad("not a torch.export archive: the zip has no archive_format entry");
  }
  std::string format = trimmed(a.zip_.read(a.prefix_ + "archive_format"));
  if (format != "pt2") bad("archive_format is '" + format + "', not pt2");
  const ZipArchive::Entry* version = a.zip_.find(a.prefix_ + "archive_version");
  a.version_ = version ? trimmed(a.zip_.read(*version)) : "0";
  if (a.version_ != "0")
    bad("pt2 archive version " + a.version_ + " is not one Twin reads (it reads version 0, written by torch 2.6 to 2.11)");
  if (const ZipArchive::Entry* order = a.zip_.find(a.prefix_ + "byteorder")) {
    std::string o = trimmed(a.zip_.read(*order));
    if (o != "little") bad("byteorder is '" + o + "': Twin reads little-endian archives");
  }

  // The model: models/model.json, or the only models/*.json.
  std::vector<std::string> models;
  std::string folder = a.prefix_ + "models/";
  for (const auto& e : a.zip_.entries())
    if (e.name.rfind(folder, 0) == 0 && e.name.size() > folder.size() + 5 && e.name.compare(e.name.size() - 5, 5, ".json") == 0 &&
        e.name.find('/', folder.size()) == std::string::npos)
      models.push_back(e.name.substr(folder.size(), e.name.size() - folder.size() - 5));
  if (std::find(models.begin(), models.end(), "model") != models.end()) a.model_ = "model";
  else if (models.size() == 1) a.model_ = models[0];
  else if (models.empty()) bad("the archive holds no program (no entry " + folder + "model.json)");
  else bad("the archive holds " + std::to_string(models.size()) + " programs and none is named 'model'");

  a.read_config(a.prefix_ + "data/weights/" + a.model_ + "_weights_config.json", a.prefix_ + "data/weights/");
  a.read_config(a.prefix_ + "data/constants/" + a.model_ + "_constants_config.json", a.prefix_ + "data/constants/");
  return a;
}

std::string_view Pt2Archive::program_json() const { return zip_.read(prefix_ + "models/" + model_ + ".json"); }

void Pt2Archive::read_config(const std::string& entry, const std::string& folder) {
  const ZipArchive::Entry* e = zip_.find(entry);
  if (!e) return;  // a model without weights or constants
  auto bad = [&](const std::string& what) -> void { throw Error(ErrorKind::Value, file() + ": " + entry + ": " + what); };
  json j = json::parse(zip_.read(*e), nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad("not a JSON object");
  if (!j.contains("config") || !j["config"].is_object()) bad("no 'config' object");
  for (auto it = j["config"].begin(); it != j["config"].end(); ++it) {
    const json& t = it.value();
    if (!t.is_object() || !t.contains("path_name") || !t["path_name"].is_string() || !t.contains("tensor_meta"))
      bad("the entry of '" + it.key() + "' has no path_name or tensor_meta");
    StoredTensor s;
    s.entry = folder + t["path_name"].get<std::string>();
    s.config = entry;
    s.meta = t["tensor_meta"].dump();
    s.pickled = t.value("use_pickle", false);
    tensors_[it.key()] = std::move(s);
  }
}

ops::TensorType Pt2Archive::tensor_type(std::string_view fqn) const {
  auto it = tensors_.find(fqn);
  if (it == tensors_.end()) throw Error(ErrorKind::Value, file() + ": no stored tensor '" + std::string(fqn) + "'");
  auto bad = [&](const std::string& what) -> void {
    throw Error(ErrorKind::Value, file() + ": " + it->second.config + ": tensor '" + std::string(fqn) + "': " + what);
  };
  json meta = json::parse(it->second.meta);
  ops::TensorType type;
  if (!meta.contains("dtype") || !meta["dtype"].is_number_integer()) bad("no dtype");
  const long long code = meta["dtype"].get<long long>();
  auto d = export_scalar_type(code);
  auto part = export_complex_part_type(code);
  if (!d && !part) bad("dtype " + export_scalar_type_name(code) + " is not one Twin reads");
  type.dtype = d ? *d : *part;
  if (!meta.contains("sizes") || !meta["sizes"].is_array()) bad("no sizes");
  for (const auto& s : meta["sizes"]) {
    auto v = sym_int(s);
    if (!v || *v < 0) bad("a size that is not a non-negative integer: " + s.dump());
    type.shape.push_back(*v);
  }
  if (part) type.shape.push_back(2);  // a complex tensor as its real pairs
  return type;
}

ops::Tensor Pt2Archive::load_tensor(std::string_view fqn) const {
  ops::TensorType type = tensor_type(fqn);
  const StoredTensor& s = tensors_.find(fqn)->second;
  auto bad = [&](const std::string& what) -> void {
    throw Error(ErrorKind::Value, file() + ": tensor '" + std::string(fqn) + "' (" + s.entry + "): " + what);
  };
  if (s.pickled) bad("stored with torch.save (use_pickle), which Twin does not read");
  json meta = json::parse(s.meta);
  long long code = meta["dtype"].get<long long>();  // an integer: tensor_type checked it
  const auto part = export_complex_part_type(code);  // complex: type.shape ends in the pair dim
  const std::size_t rank = type.shape.size() - (part ? 1 : 0);  // the stored strides are the complex tensor's
  std::vector<std::int64_t> strides;
  std::int64_t offset = 0;
  if (meta.contains("strides") && meta["strides"].is_array()) {
    if (meta["strides"].size() != rank) bad("strides do not match the sizes");
    for (std::size_t i = 0; i < rank; ++i) {
      auto v = sym_int(meta["strides"][i]);
      if (!v || *v < 0) bad("a stride that is not a non-negative integer");
      strides.push_back(*v);
    }
  } else {
    strides = contiguous_strides(std::vector<std::int64_t>(type.shape.begin(), type.shape.begin() + std::ptrdiff_t(rank)));
  }
  if (meta.contains("storage_offset")) {
    auto v = sym_int(meta["storage_offset"]);
    if (!v || *v < 0) bad("a storage offset that is not a non-negative integer");
    offset = *v;
  }
  if (part) {
    // Complex elements are (real, imaginary) pairs of the part type in the storage: the pairs
    // view has every stride and the offset doubled and a last dim of 2 with stride 1.
    for (auto& st : strides) st *= 2;
    strides.push_back(1);
    offset *= 2;
    code = *part == ops::DType::F32 ? 7 : 8;
  }
  return tensor_from_storage(zip_.read(s.entry), code, type.shape, strides, offset,
                             file() + ": tensor '" + std::string(fqn) + "' (" + s.entry + ")");
}

std::optional<ops::DType> export_complex_part_type(long long code) {
  if (code == 10) return ops::DType::F32;  // complex64
  if (code == 11) return ops::DType::F64;  // complex128
  return std::nullopt;
}

std::vector<std::int64_t> contiguous_strides(const std::vector<std::int64_t>& sizes) {
  std::vector<std::int64_t> strides(sizes.size());
  std::int64_t step = 1;
  for (std::size_t i = sizes.size(); i-- > 0;) strides[i] = step, step *= sizes[i];
  return strides;
}

ops::Tensor tensor_from_storage(std::string_view storage, long long dtype_code, const std::vector<std::int64_t>& sizes,
                                const std::vector<std::int64_t>& strides, std::int64_t offset, const std::string& what) {
  auto bad = [&](const std::string& why) -> void { throw Error(ErrorKind::Value, what + ": " + why); };
  const ScalarTypeCode* code = scalar_type(dtype_code);
  if (!code || !code->dtype) bad("dtype " + export_scalar_type_name(dtype_code) + " is not one Twin reads");
  std::size_t rank = sizes.size();
  if (strides.size() != rank) bad("strides do not match the sizes");
  if (offset < 0) bad("a negative storage offset");
  const std::uint64_t elements = storage.size() / code->size;
  std::uint64_t numel = 1;
  for (auto d : sizes) {
    if (d < 0) bad("a negative size");
    if (d != 0 && numel > (std::uint64_t{1} << 40) / static_cast<std::uint64_t>(d)) bad("too many elements");
    numel *= static_cast<std::uint64_t>(d);
  }
  // The furthest element the view reaches must lie inside the storage.
  if (numel > 0) {
    std::uint64_t last = static_cast<std::uint64_t>(offset);
    for (std::size_t i = 0; i < rank; ++i) {
      if (strides[i] < 0) bad("a negative stride");
      std::uint64_t reach = static_cast<std::uint64_t>(sizes[i] - 1);
      if (strides[i] != 0 && reach > (std::uint64_t{1} << 50) / static_cast<std::uint64_t>(strides[i])) bad("strides out of range");
      last += reach * static_cast<std::uint64_t>(strides[i]);
    }
    if (last >= elements)
      bad("its sizes, strides and offset reach element " + std::to_string(last) + " of a storage of " +
          std::to_string(elements) + " (" + std::to_string(storage.size()) + " bytes)");
  }
  // Gather the view into row-major order.
  std::string contiguous(numel * code->size, '\0');
  std::vector<std::int64_t> index(rank, 0);
  for (std::uint64_t n = 0; n < numel; ++n) {
    std::int64_t at = offset;
    for (std::size_t i = 0; i < rank; ++i) at += index[i] * strides[i];
    std::memcpy(contiguous.data() + n * code->size, storage.data() + static_cast<std::uint64_t>(at) * code->size, code->size);
    for (std::size_t i = rank; i-- > 0;) {
      if (++index[i] < sizes[i]) break;
      index[i] = 0;
    }
  }
  return tensor_from_bytes(reinterpret_cast<const unsigned char*>(contiguous.data()), sizes, code->bytes_as);
}

std::optional<std::string_view> Pt2Archive::sample_inputs() const {
  const ZipArchive::Entry* e = zip_.find(prefix_ + "data/sample_inputs/" + model_ + ".pt");
  if (!e) return std::nullopt;
  return zip_.read(*e);
}

}  // namespace twin::capture
