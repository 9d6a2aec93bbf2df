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

}  // namespace

// Replaces the contents of `path` (a symbolic link: of its target) with `text`, atomically.
void replace_file_atomically(const fs::path& path, const std::string& text) {
  fs::path target = fs::is_symlink(path) ? fs::canonical(path) : path;
  struct stat original {};
  bool exists = ::stat(target.c_str(), &original) == 0;
  if (!exists && errno != ENOENT) fail("cannot stat " + target.string());
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
  try {
    for (std::size_t written = 0; written < text.size();) {
      ssize_t n = ::write(fd, text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("cannot write " + temp);
      written += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, original.st_mode & 07777) != 0) fail("cannot set the permissions of " + temp);
    if (::fchown(fd, original.st_uid, original.st_gid) != 0) {
      // Only the owner's own group or root may keep a foreign owner; the file stays ours.
    }
    if (::fsync(fd) != 0) fail("cannot sync " + temp);
    int closed = ::close(fd);
    fd = -1;
    if (closed != 0) fail("cannot write " + temp);
    if (::rename(temp.c_str(), target.c_str()) != 0) fail("cannot replace " + target.string());
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
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
