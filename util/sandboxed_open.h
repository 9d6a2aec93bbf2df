// Opening a file for reading only if it lies under one of a set of allowed directories, in a
// way that holds while other processes change the file system underneath.
//
// The one rule: open first, then judge what was opened, never a name checked earlier. A check
// of a path followed by an open of the same path can be raced: a symbolic link re-pointed
// between the two reads a file outside (the reliability issue measured it). So the path is
// resolved from a descriptor of the allowed directory itself, and every symbolic link met on
// the way is followed by us or by the kernel under a rule that cannot leave the directory:
//   - openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) where the kernel has it (Linux 5.6): the
//     kernel refuses any step that leaves the directory;
//   - otherwise, and whenever a link must be judged (an absolute link, a `..` above the allowed
//     directory, which openat2 refuses), a walk one component at a time with O_NOFOLLOW from
//     the directory's descriptor, reading each symbolic link's text and continuing from the
//     directory the link names. A link whose target lies outside every allowed directory is
//     denied; one into another allowed directory continues there.
// The file opened last is re-opened from its parent's descriptor without following links and
// compared (device, inode) with what was examined, so it is exactly the file that was judged.
//
// Invariants a caller relies on:
//   - A denied path is denied by its text and the text of links inside allowed directories,
//     never by whether something outside exists: the answer for an outside path that exists
//     and one that does not is the same (no existence oracle).
//   - A path holding a NUL byte is refused before anything is opened (a C API would silently
//     cut it there).
//   - Only regular files are opened (a FIFO or a device could block or never end); opening
//     never blocks.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace twin {

// An owned file descriptor, closed when destroyed. -1: none.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

struct SandboxedFile {
  enum class Status {
    Opened,       // `fd` reads the file; `resolved` names it
    Denied,       // outside every allowed directory (`why` says how it leads there)
    Missing,      // under an allowed directory, but no such file
    NotRegular,   // a directory, a FIFO, a device ...: `why` says which
    InvalidName,  // the path holds a NUL byte
    Failed,       // the system refused (`error` is the errno: EACCES, ELOOP, ...)
  };
  Status status = Status::Failed;
  FileDescriptor fd;
  // Opened: the file's absolute path with every symbolic link resolved (inside an allowed
  // directory), what relative names in the file are resolved against.
  std::filesystem::path resolved;
  std::string why;
  int error = 0;
  // Opened: the file's identity, which stays the same however it was named.
  unsigned long long device = 0, inode = 0;
};

class ReadSandbox {
 public:
  // `kernel_resolution`: use openat2 where the kernel has it (false: always walk; for tests).
  explicit ReadSandbox(bool kernel_resolution = true) : kernel_resolution_(kernel_resolution) {}

  // Allows reading files under `directory` (made absolute against the current directory now).
  // A directory reached through symbolic links is allowed under both names.
  void allow(const std::filesystem::path& directory);
  // Allows reading the one file `file` (under both names, as a directory is), and nothing
  // beside it: how `twin run` lets a script read the files named on its command line.
  void allow_file(const std::filesystem::path& file);

  // Whether `path`, made absolute and with `.` and `..` removed by name, lies under an allowed
  // directory. Symbolic links are judged when opening, not here.
  bool covers(const std::filesystem::path& path) const;

  // Opens `path` (absolute, or relative to the current directory) for reading.
  SandboxedFile open(const std::filesystem::path& path) const;

 private:
  struct Root {
    std::filesystem::path named;      // absolute, lexically normal: as the host named it
    std::filesystem::path canonical;  // every link resolved when it was allowed
    bool file = false;                // a single file (allow_file), matched only exactly
  };
  // The root that holds `normal_path` (absolute, lexically normal) by name, and the path's
  // components below it; nullptr when none does. The longest match wins.
  const Root* find_root(const std::filesystem::path& normal_path, std::vector<std::string>& below) const;
  SandboxedFile open_with_kernel(const Root& root, const std::vector<std::string>& below, bool& unsupported) const;
  SandboxedFile walk(std::filesystem::path normal_path) const;
  static SandboxedFile open_file_root(const Root& root);

  std::vector<Root> roots_;
  bool kernel_resolution_;
};

// `path` made absolute (against the current directory) and lexically normal: how the sandboxes
// compare paths by name.
std::filesystem::path absolute_normal(const std::filesystem::path& path);
// Whether `normal_path` is `normal_root` or lies below it, by name (both absolute and
// lexically normal): what ReadSandbox and Interpreter::write_text check before any link is
// followed.
bool lies_within(const std::filesystem::path& normal_path, const std::filesystem::path& normal_root);

// Reads everything from `fd` (as opened by ReadSandbox::open). Throws std::system_error.
std::string read_all(int fd);

// What a file that is not a regular file is ("a directory", "a FIFO", "a device", "a
// socket"), for errors that refuse it.
const char* file_kind(mode_t mode);

// `text` with a NUL byte shown as \0 and other control bytes as \xNN, for error messages.
std::string printable_path(const std::string& text);

}  // namespace twin
