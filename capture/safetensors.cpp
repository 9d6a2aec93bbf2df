// Reading a safetensors file: the header's bounds and sizes are checked once, in `parse`, so
// that `load` can decode any entry without looking past the file's end.
#include "capture/safetensors.h"

#include "capture/tensor_limits.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace twin {

using json = nlohmann::json;

namespace {

constexpr std::uint64_t kMaxHeader = 512ull << 20;  // a header beyond 512 MiB is not a graph

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

[[noreturn]] void fail(ErrorKind kind, const std::string& file, const std::string& what) {
  throw Error(kind, file + ": " + what);
}

double half_to_double(std::uint16_t h) {
  int sign = (h >> 15) & 1, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double v;
  if (exponent == 0) v = std::ldexp(mantissa, -24);
  else if (exponent == 31) v = mantissa ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else v = std::ldexp(mantissa + 1024, exponent - 25);
  return sign ? -v : v;
}

template <class T>
T read_le(const unsigned char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));  // the machines Twin runs on are little-endian
  return value;
}

}  // namespace

namespace capture {

std::size_t safetensors_element_size(std::string_view dtype) {
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

std::optional<ops::DType> safetensors_twin_dtype(std::string_view dtype) {
  if (dtype == "F64") return ops::DType::F64;
  if (dtype == "F32") return ops::DType::F32;
  if (dtype == "F16") return ops::DType::F16;
  if (dtype == "BF16") return ops::DType::BF16;
  if (dtype == "I64") return ops::DType::I64;
  if (dtype == "BOOL") return ops::DType::Bool;
  if (dtype == "I32" || dtype == "I16" || dtype == "I8" || dtype == "U8") return ops::DType::I32;
  return std::nullopt;
}

SafetensorsFile SafetensorsFile::parse(std::string_view bytes, std::string file) {
  SafetensorsFile out;
  out.bytes_ = bytes;
  out.file_ = std::move(file);
  const std::string& name_of_file = out.file_;
  auto bad = [&](const std::string& what) { fail(ErrorKind::Value, name_of_file, what); };

  if (bytes.size() < 8)
    fail(ErrorKind::Io, name_of_file, "truncated file: " + std::to_string(bytes.size()) + " bytes, too short for a safetensors header");
  std::uint64_t n = read_le<std::uint64_t>(reinterpret_cast<const unsigned char*>(bytes.data()));
  if (n > kMaxHeader) bad("not a graph file: header length " + std::to_string(n) + " is implausible");
  if (n > bytes.size() - 8)
    fail(ErrorKind::Io, name_of_file, "truncated file: the header needs " + std::to_string(n) + " bytes, the file has " +
                            std::to_string(bytes.size() - 8) + " after the length");
  out.data_start_ = 8 + n;
  json header = json::parse(bytes.substr(8, n), nullptr, false);
  if (header.is_discarded() || !header.is_object()) bad("the safetensors header is not a JSON object");
  std::uint64_t data_size = bytes.size() - out.data_start_;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string& name = it.key();
    const json& e = it.value();
    auto tbad = [&](const std::string& what) { bad("tensor " + q(name) + ": " + what); };
    if (!e.is_object()) tbad("header entry is not an object");
    Entry entry;
    if (!e.contains("dtype") || !e["dtype"].is_string()) tbad("no dtype");
    entry.dtype = e["dtype"].get<std::string>();
    std::size_t size = safetensors_element_size(entry.dtype);
    if (size == 0) tbad("unsupported dtype " + entry.dtype);
    if (!e.contains("shape") || !e["shape"].is_array()) tbad("no shape");
    for (const auto& d : e["shape"]) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0) tbad("shape has a non-integer or negative size");
      entry.shape.push_back(d.get<std::int64_t>());
    }
    // Bounded first, so the element count below cannot overflow.
    if (auto why = implausible_size(entry.shape, size)) tbad(*why);
    std::uint64_t count = 1;
    for (auto d : entry.shape) count *= static_cast<std::uint64_t>(d);
    if (!e.contains("data_offsets") || !e["data_offsets"].is_array() || e["data_offsets"].size() != 2 ||
        !e["data_offsets"][0].is_number_unsigned() || !e["data_offsets"][1].is_number_unsigned())
      tbad("data_offsets must be two non-negative integers");
    entry.begin = e["data_offsets"][0].get<std::uint64_t>();
    entry.end = e["data_offsets"][1].get<std::uint64_t>();
    if (entry.begin > entry.end) tbad("data_offsets begin after they end");
    if (entry.end > data_size)
      fail(ErrorKind::Io, name_of_file, "truncated file: tensor " + q(name) + " ends at data byte " + std::to_string(entry.end) +
                              " but the data section has " + std::to_string(data_size) + " bytes");
    if (count * size != entry.end - entry.begin)
      tbad(entry.dtype + " shape " + e["shape"].dump() + " needs " + std::to_string(count * size) + " bytes, data_offsets hold " +
           std::to_string(entry.end - entry.begin));
    out.entries_.emplace(name, std::move(entry));
  }
  out.check_tiling(data_size);
  if (header.contains("__metadata__") && header["__metadata__"].is_object()) {
    auto& metadata = out.metadata_.emplace();
    for (auto it = header["__metadata__"].begin(); it != header["__metadata__"].end(); ++it) {
      // safetensors' metadata is string to string.
      if (!it.value().is_string()) bad("__metadata__ entry " + q(it.key()) + " is not a string");
      metadata.emplace(it.key(), it.value().get<std::string>());
    }
  }
  return out;
}

void SafetensorsFile::check_tiling(std::uint64_t data_size) const {
  std::vector<std::pair<const Entry*, const std::string*>> by_offset;
  for (const auto& [name, entry] : entries_) by_offset.emplace_back(&entry, &name);
  std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first->begin, a.first->end) < std::pair(b.first->begin, b.first->end);
  });
  std::uint64_t covered = 0;  // data bytes [0, covered) belong to the entries seen so far
  const std::string* previous = nullptr;
  for (const auto& [entry, name] : by_offset) {
    if (entry->begin < covered)
      fail(ErrorKind::Value, file_, "tensor " + q(*name) + " overlaps tensor " + q(*previous) + " (data bytes " +
                                        std::to_string(entry->begin) + " to " + std::to_string(covered) + ")");
    if (entry->begin > covered)
      fail(ErrorKind::Value, file_, std::to_string(entry->begin - covered) + " data bytes before tensor " + q(*name) +
                                        " belong to no tensor");
    covered = entry->end;
    previous = name;
  }
  if (covered != data_size)
    fail(ErrorKind::Value, file_, std::to_string(data_size - covered) + " trailing bytes after the tensor data (it ends at data byte " +
                                      std::to_string(covered) + " of " + std::to_string(data_size) + ")");
}

const SafetensorsFile::Entry* SafetensorsFile::find(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

ops::Tensor SafetensorsFile::load(std::string_view key, const ops::TensorType& type, const std::string& what) const {
  auto bad = [&](const std::string& message) { fail(ErrorKind::Value, file_, what + ": " + message); };
  const Entry* e = find(key);
  if (!e) fail(ErrorKind::Value, file_, what + ": no tensor " + q(key) + " in the file");
  ops::DType stored = *safetensors_twin_dtype(e->dtype);  // parse admitted only dtypes Twin reads
  if (e->shape != type.shape)
    bad("shape mismatch with the stored tensor " + q(key) + ": the graph says " + type.to_string() + ", the file holds " +
        ops::TensorType{stored, e->shape}.to_string());
  if (stored != type.dtype)
    bad("dtype mismatch with the stored tensor " + q(key) + ": the graph says " + std::string(ops::dtype_name(type.dtype)) +
        ", the file holds " + e->dtype);
  auto data = reinterpret_cast<const unsigned char*>(bytes_.data()) + data_start_ + e->begin;
  try {
    return tensor_from_bytes(data, e->shape, e->dtype);
  } catch (const std::exception& ex) {
    bad(ex.what());
  }
  throw std::logic_error("unreachable");
}

}  // namespace capture

ops::Tensor tensor_from_bytes(const unsigned char* data, const std::vector<std::int64_t>& shape, std::string_view dtype) {
  std::size_t size = capture::safetensors_element_size(dtype);
  if (size == 0) throw std::invalid_argument("unsupported safetensors dtype " + std::string(dtype));
  std::int64_t count = 1;
  for (auto d : shape) count *= d;
  std::vector<double> values(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const unsigned char* p = data + i * size;
    double v = 0;
    if (dtype == "F64") v = read_le<double>(p);
    else if (dtype == "F32") v = read_le<float>(p);
    else if (dtype == "BF16") {
      std::uint32_t bits = static_cast<std::uint32_t>(read_le<std::uint16_t>(p)) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      v = f;
    } else if (dtype == "F16") v = half_to_double(read_le<std::uint16_t>(p));
    else if (dtype == "I64") v = static_cast<double>(read_le<std::int64_t>(p));
    else if (dtype == "I32") v = read_le<std::int32_t>(p);
    else if (dtype == "I16") v = read_le<std::int16_t>(p);
    else if (dtype == "I8") v = static_cast<std::int8_t>(*p);
    else if (dtype == "U8") v = *p;
    else if (dtype == "BOOL") v = *p ? 1.0 : 0.0;
    values[i] = v;
  }
  return ops::Tensor::from_doubles(values, shape, *capture::safetensors_twin_dtype(dtype));
}

}  // namespace twin
