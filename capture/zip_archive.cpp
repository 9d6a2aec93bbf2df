// The zip reader of capture/zip_archive.h: the end-of-central-directory record (and its ZIP64
// form), the central directory, and each entry's local header, every offset and size checked
// against the archive's bytes before it is used.
#include "capture/zip_archive.h"

#include "util/error.h"

#include <algorithm>

namespace twin::capture {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50;
constexpr std::uint32_t kCentralHeader = 0x02014b50;
constexpr std::uint32_t kEndOfDirectory = 0x06054b50;
constexpr std::uint32_t kZip64End = 0x06064b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint64_t kMaxEntries = 1u << 20;  // a model with a million tensors is not a model

// Little-endian reads at an offset already checked against the bytes.
std::uint64_t le(std::string_view b, std::uint64_t at, int size) {
  std::uint64_t v = 0;
  for (int i = size - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::uint64_t>(i)]);
  return v;
}

}  // namespace

bool looks_like_zip(std::string_view bytes) {
  return bytes.size() >= 4 && (le(bytes, 0, 4) == kLocalHeader || le(bytes, 0, 4) == kEndOfDirectory);
}

ZipArchive ZipArchive::parse(std::string_view bytes, std::string file) {
  ZipArchive zip;
  zip.bytes_ = bytes;
  zip.file_ = std::move(file);
  const std::string& name = zip.file_;
  auto bad = [&](const std::string& what) -> void { throw Error(ErrorKind::Value, name + ": not a readable zip archive: " + what); };
  auto cut = [&](const std::string& what) -> void { throw Error(ErrorKind::Io, name + ": the zip archive is cut short: " + what); };
  const std::uint64_t size = bytes.size();
  auto fits = [&](std::uint64_t at, std::uint64_t n) { return at <= size && n <= size - at; };

  // The end-of-central-directory record: the last 22 bytes, or earlier behind a comment.
  if (size < 22) cut("no end-of-central-directory record");
  std::uint64_t end = size - 22, lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  while (le(bytes, end, 4) != kEndOfDirectory) {
    if (end == lowest) bad("no end-of-central-directory record");
    --end;
  }
  std::uint64_t count = le(bytes, end + 10, 2), directory_size = le(bytes, end + 12, 4), directory = le(bytes, end + 16, 4);
  if (le(bytes, end + 4, 2) != 0 || le(bytes, end + 6, 2) != 0) bad("a multi-disk archive");
  if (end >= 20 && le(bytes, end - 20, 4) == kZip64Locator) {
    std::uint64_t record = le(bytes, end - 12, 8);
    if (!fits(record, 56) || le(bytes, record, 4) != kZip64End) bad("a ZIP64 locator that points at no ZIP64 record");
    count = le(bytes, record + 32, 8);
    directory_size = le(bytes, record + 40, 8);
    directory = le(bytes, record + 48, 8);
  }
  if (count > kMaxEntries) bad(std::to_string(count) + " entries");
  if (!fits(directory, directory_size)) cut("the central directory lies beyond the end of the file");

  std::uint64_t at = directory;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!fits(at, 46) || at + 46 > directory + directory_size) cut("central directory entry " + std::to_string(i));
    if (le(bytes, at, 4) != kCentralHeader) bad("central directory entry " + std::to_string(i) + " has a bad signature");
    Entry e;
    std::uint64_t flags = le(bytes, at + 8, 2);
    e.method = static_cast<std::uint16_t>(le(bytes, at + 10, 2));
    e.encrypted = flags & 1;
    std::uint64_t compressed = le(bytes, at + 20, 4), uncompressed = le(bytes, at + 24, 4);
    std::uint64_t name_length = le(bytes, at + 28, 2), extra_length = le(bytes, at + 30, 2),
                  comment_length = le(bytes, at + 32, 2), local = le(bytes, at + 42, 4);
    std::uint64_t record_size = 46 + name_length + extra_length + comment_length;
    if (!fits(at, record_size)) cut("central directory entry " + std::to_string(i));
    e.name = std::string(bytes.substr(at + 46, name_length));
    // ZIP64: the fields saturated at 0xFFFFFFFF follow, in this order, in extra field 0x0001.
    for (std::uint64_t x = at + 46 + name_length; x + 4 <= at + 46 + name_length + extra_length;) {
      std::uint64_t id = le(bytes, x, 2), length = le(bytes, x + 2, 2);
      if (x + 4 + length > at + 46 + name_length + extra_length) bad("entry '" + e.name + "': a truncated extra field");
      if (id == 1) {
        std::uint64_t y = x + 4, stop = x + 4 + length;
        auto next = [&](std::uint64_t& field) {
          if (field != 0xFFFFFFFFu) return;
          if (y + 8 > stop) bad("entry '" + e.name + "': a truncated ZIP64 field");
          field = le(bytes, y, 8);
          y += 8;
        };
        next(uncompressed);
        next(compressed);
        next(local);
      }
      x += 4 + length;
    }
    at += record_size;

    // Names a reader could be tricked by: absolute paths, `..`, backslashes, NUL bytes.
    const std::string& n = e.name;
    if (n.empty() || n.front() == '/' || n.find('\\') != std::string::npos || n.find('\0') != std::string::npos ||
        n == ".." || n.rfind("../", 0) == 0 || n.find("/../") != std::string::npos ||
        (n.size() >= 3 && n.compare(n.size() - 3, 3, "/..") == 0) || (n.size() >= 2 && n[1] == ':'))
      bad("entry '" + n + "' has an unsafe name");
    if (zip.index_.count(n)) bad("entry '" + n + "' appears twice");

    // The local header: its own name and extra lengths decide where the data starts.
    if (!fits(local, 30) || le(bytes, local, 4) != kLocalHeader) bad("entry '" + n + "' has no local header at its offset");
    std::uint64_t start = local + 30 + le(bytes, local + 26, 2) + le(bytes, local + 28, 2);
    if (e.method == 0 && !e.encrypted && compressed != uncompressed)
      bad("entry '" + n + "' is stored with " + std::to_string(compressed) + " bytes for " + std::to_string(uncompressed));
    if (!fits(start, compressed)) cut("entry '" + n + "' lies beyond the end of the file");
    e.data_offset = start;
    e.size = compressed;
    zip.index_.emplace(n, zip.entries_.size());
    zip.entries_.push_back(std::move(e));
  }
  return zip;
}

const ZipArchive::Entry* ZipArchive::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::string_view ZipArchive::read(std::string_view name) const {
  const Entry* e = find(name);
  if (!e) throw Error(ErrorKind::Value, file_ + ": the archive has no entry '" + std::string(name) + "'");
  return read(*e);
}

std::string_view ZipArchive::read(const Entry& e) const {
  if (e.encrypted) throw Error(ErrorKind::Value, file_ + ": entry '" + e.name + "' is encrypted");
  if (e.method != 0)
    throw Error(ErrorKind::Value, file_ + ": entry '" + e.name + "' is compressed (method " + std::to_string(e.method) +
                                      "); Twin reads stored entries, as torch.export.save writes them (re-zip it with `zip -0`)");
  return bytes_.substr(e.data_offset, e.size);
}

}  // namespace twin::capture
