#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace twin {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) { throw FileWriteError(what + ": " + std::strerror(errno)); }

// Writes all of `text` to `fd`.
void write_all(int fd, const std::string& text, const std::string& name) {
  for (std::size_t written = 0; written < text.size();) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write " + name);
    written += static_cast<std::size_t>(n);
  }
}

// Writes `text` into the existing file `target` itself (its inode: hard links and owner stay),
// once the same text is safe in `temp`.
void write_in_place(const fs::path& target, const std::string& temp, const std::string& text) {
  std::string keep = "; the new text is in " + temp;
  int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot write " + target.string() + keep);
  try {
    write_all(fd, text, target.string() + keep);
    if (::ftruncate(fd, static_cast<off_t>(text.size())) != 0) fail("cannot write " + target.string() + keep);
    if (::fsync(fd) != 0) fail("cannot sync " + target.string() + keep);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) fail("cannot write " + target.string() + keep);
  ::unlink(temp.c_str());
}

}  // namespace

// Replaces the contents of `path` (a symbolic link: of its target) with `text`.
void replace_file_atomically(const fs::path& path, const std::string& text) {
  fs::path target = fs::is_symlink(path) ? fs::canonical(path) : path;
  struct stat original {};
  bool exists = ::stat(target.c_str(), &original) == 0;
  if (!exists && errno != ENOENT) fail("cannot stat " + target.string());
  if (exists && ::faccessat(AT_FDCWD, target.c_str(), W_OK, AT_EACCESS) != 0)
    fail("cannot write " + target.string());  // "Permission denied": the user may not change it
  if (!exists) {  // a new file: the permissions a plain create would give (0666 less the umask)
    mode_t mask = ::umask(0);
    ::umask(mask);
    original.st_mode = 0666 & ~mask;
  }

  fs::path directory = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string temp_name = ".";  // hidden, beside the file: same file system, so rename is atomic
  temp_name += target.filename().string();
  temp_name += ".tmp-XXXXXX";
  std::string temp = (directory / temp_name).string();
  int fd = ::mkstemp(temp.data());
  if (fd < 0) fail("cannot create a temporary file in " + directory.string());
  bool keep_identity = exists && original.st_nlink > 1;
  bool temp_is_the_only_copy = false;  // the new text is complete in `temp` and nowhere else
  try {
    write_all(fd, text, temp);
    if (::fchmod(fd, original.st_mode & 07777) != 0) fail("cannot set the permissions of " + temp);
    // A rename would give the file the temporary file's owner: where it cannot take the
    // original's, the file is written in place instead.
    if (exists && ::fchown(fd, original.st_uid, original.st_gid) != 0) keep_identity = true;
    if (::fsync(fd) != 0) fail("cannot sync " + temp);
    int closed = ::close(fd);
    fd = -1;
    if (closed != 0) fail("cannot write " + temp);
    if (keep_identity) {
      temp_is_the_only_copy = true;
      write_in_place(target, temp, text);
      return;
    }
    if (::rename(temp.c_str(), target.c_str()) != 0) fail("cannot replace " + target.string());
  } catch (...) {
    if (fd >= 0) ::close(fd);
    if (!temp_is_the_only_copy) ::unlink(temp.c_str());
    throw;
  }
  // Make the rename itself durable.
  int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory_fd >= 0) {
    ::fsync(directory_fd);
    ::close(directory_fd);
  }
}

}  // namespace twin
