// Reading a zip archive's stored entries: the container torch.export's `.pt2` files are (and
// the torch.save files inside them). PyTorch writes every entry stored, never compressed
// (caffe2::serialize::PyTorchStreamWriter, through miniz), with ZIP64 records when an
// archive passes 4 GiB, so this reader implements exactly that: the central directory, its
// ZIP64 forms, and stored entries. Nothing is decompressed.
//
//   ZipArchive zip = ZipArchive::parse(bytes, "model.pt2");
//   std::string_view json = zip.read("model/models/model.json");
//
// Invariants once `parse` returns: every entry's name is relative and free of `..`
// components, backslashes and NUL bytes; names are unique; every entry's data lies inside the
// bytes; entries are stored (method 0), or flagged compressed or encrypted and refused when
// read, naming the entry. So `read` only returns bytes the archive holds, whatever the
// archive says. Every problem is a twin::Error naming the file (and the entry): ErrorKind::Io
// for an archive cut short, ErrorKind::Value for bad content.
//
// The archive refers to the bytes it was parsed from: they must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace twin::capture {

// Whether `bytes` start like a zip archive ("PK\3\4", or an empty archive's "PK\5\6").
bool looks_like_zip(std::string_view bytes);

class ZipArchive {
 public:
  struct Entry {
    std::string name;
    std::uint16_t method = 0;  // 0: stored
    bool encrypted = false;
    std::uint64_t data_offset = 0;  // of the entry's bytes in the archive
    std::uint64_t size = 0;         // stored size (= uncompressed size for a stored entry)
  };

  // Reads the central directory of `bytes`; `file` names the archive in errors.
  static ZipArchive parse(std::string_view bytes, std::string file);

  const std::string& file() const { return file_; }
  const std::vector<Entry>& entries() const { return entries_; }  // in directory order
  const Entry* find(std::string_view name) const;
  // The bytes of entry `name`. Throws Error (Value) naming the entry when it is missing,
  // compressed or encrypted.
  std::string_view read(std::string_view name) const;
  std::string_view read(const Entry& entry) const;

 private:
  std::string_view bytes_;
  std::string file_;
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace twin::capture
