// libFuzzer target for the safetensors container (capture/safetensors.h), on its own: the
// header, dtypes, offsets, size limits and tiling, then every tensor it admits decoded.
//
// For arbitrary bytes:
//   1. SafetensorsFile::parse either returns or throws twin::Error naming the file;
//   2. on what parses, the header's invariants hold: every entry's shape is within the size
//      limits, its byte count is its element count times its element size, and the entries
//      tile the data section (their byte counts add up to it exactly);
//   3. every entry loads as its own type (load's checks cannot fail on what parse admitted),
//      into a tensor of its shape.
// A crash, a sanitizer report, a hang or another exception is a bug.
//
// Seeds: the example graphs (a `.graph` is a safetensors file) and the `.io.safetensors`
// files of ../shared/fixtures. Build and run: fuzz/run.sh safetensors [SECONDS]
#include "capture/safetensors.h"
#include "capture/tensor_limits.h"
#include "fuzz/fuzz_support.h"
#include "util/error.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace {

constexpr const char* kTarget = "safetensors_fuzzer";
constexpr const char* kFile = "fuzz.safetensors";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<twin::capture::SafetensorsFile> file;
  try {
    file = twin::capture::SafetensorsFile::parse(input, kFile);
  } catch (const twin::Error& e) {
    if (e.message().rfind(kFile, 0) != 0) twin::fuzz::broken(kTarget, "the error does not name the file", input, e.message());
    return 0;
  } catch (const std::exception& e) {
    twin::fuzz::broken(kTarget, "parse threw something other than twin::Error", input, e.what());
  }

  std::uint64_t header = 0;
  std::memcpy(&header, data, 8);
  const std::uint64_t data_size = size - 8 - header;
  std::uint64_t tiled = 0;
  for (const auto& [key, entry] : file->entries()) {
    if (auto why = twin::capture::implausible_size(entry.shape, twin::capture::safetensors_element_size(entry.dtype)))
      twin::fuzz::broken(kTarget, "parse admitted an implausible shape", input, key + ": " + *why);
    std::uint64_t count = 1;
    for (auto d : entry.shape) count *= static_cast<std::uint64_t>(d);
    if (count * twin::capture::safetensors_element_size(entry.dtype) != entry.end - entry.begin)
      twin::fuzz::broken(kTarget, "an entry's bytes do not match its shape", input, key);
    tiled += entry.end - entry.begin;
    twin::ops::TensorType type{*twin::capture::safetensors_twin_dtype(entry.dtype), entry.shape};
    try {
      twin::ops::Tensor tensor = file->load(key, type, "entry '" + key + "'");
      if (tensor.shape() != entry.shape) twin::fuzz::broken(kTarget, "a loaded tensor has another shape", input, key);
    } catch (const std::exception& e) {
      twin::fuzz::broken(kTarget, "an admitted entry does not load", input, key + ": " + e.what());
    }
  }
  if (tiled != data_size)
    twin::fuzz::broken(kTarget, "the entries do not tile the data section", input,
                       std::to_string(tiled) + " bytes in entries, " + std::to_string(data_size) + " in the data section");
  return 0;
}
