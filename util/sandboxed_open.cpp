#include "util/sandboxed_open.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <optional>
#include <system_error>

namespace twin {

namespace fs = std::filesystem;

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// Symbolic links followed while opening one path, as the kernel's own limit (MAXSYMLINKS).
constexpr int kMaxLinks = 40;

// The names of an absolute, lexically normal path below the root directory ("/a/b/" -> a, b).
std::vector<std::string> names_of(const fs::path& path) {
  std::vector<std::string> names;
  for (const auto& part : path.relative_path()) {
    std::string name = part.string();
    if (!name.empty() && name != ".") names.push_back(std::move(name));
  }
  return names;
}


SandboxedFile failure(SandboxedFile::Status status, std::string why = {}, int error = 0) {
  SandboxedFile f;
  f.status = status;
  f.why = std::move(why);
  f.error = error;
  return f;
}

SandboxedFile missing(int error) { return failure(SandboxedFile::Status::Missing, {}, error); }

// Opens an allowed directory from "/" one name at a time without following links: an allowed
// directory is trusted as it was when allowed (canonical then), and a link put in its place
// since does not move the sandbox elsewhere.
FileDescriptor open_root(const fs::path& canonical, int& error) {
  FileDescriptor dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    error = errno;
    return dir;
  }
  for (const auto& name : names_of(canonical)) {
    FileDescriptor next(::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next) {
      error = errno;
      return next;
    }
    dir = std::move(next);
  }
  return dir;
}

// Re-opens for reading the regular file `name` of directory `parent` that was examined as
// `examined`, making sure it is the same file (it may have been swapped in between).
SandboxedFile open_examined(int parent, const std::string& name, const struct stat& examined) {
  FileDescriptor file(::openat(parent, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!file) return errno == ENOENT ? missing(errno) : failure(SandboxedFile::Status::Failed, {}, errno);
  struct stat opened {};
  if (::fstat(file.get(), &opened) != 0) return failure(SandboxedFile::Status::Failed, {}, errno);
  if (opened.st_dev != examined.st_dev || opened.st_ino != examined.st_ino)
    return failure(SandboxedFile::Status::Failed, "the file changed while it was being opened", EAGAIN);
  SandboxedFile f;
  f.status = SandboxedFile::Status::Opened;
  f.fd = std::move(file);
  f.device = opened.st_dev;
  f.inode = opened.st_ino;
  return f;
}

std::atomic<bool> openat2_unsupported{false};

}  // namespace

fs::path absolute_normal(const fs::path& path) {
  std::error_code ec;
  fs::path absolute = path.is_absolute() ? path : fs::absolute(path, ec);
  return absolute.lexically_normal();
}

bool lies_within(const fs::path& normal_path, const fs::path& normal_root) {
  const std::vector<std::string> names = names_of(normal_path), prefix = names_of(normal_root);
  return prefix.size() <= names.size() && std::equal(prefix.begin(), prefix.end(), names.begin());
}

void ReadSandbox::allow(const fs::path& directory) {
  Root root;
  root.named = absolute_normal(directory);
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(root.named, ec);
  root.canonical = ec ? root.named : canonical.lexically_normal();
  roots_.push_back(std::move(root));
}

void ReadSandbox::allow_file(const fs::path& file) {
  allow(file);
  roots_.back().file = true;
}

// The allowed file itself, from its directory (opened without following links) and without
// following a link put in its place since.
SandboxedFile ReadSandbox::open_file_root(const Root& root) {
  int error = 0;
  FileDescriptor dir = open_root(root.canonical.parent_path(), error);
  if (!dir) return error == ENOENT || error == ENOTDIR ? missing(error) : failure(SandboxedFile::Status::Failed, {}, error);
  std::string name = root.canonical.filename().string();
  FileDescriptor entry(::openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!entry) return errno == ENOENT ? missing(errno) : failure(SandboxedFile::Status::Failed, {}, errno);
  struct stat st {};
  if (::fstat(entry.get(), &st) != 0) return failure(SandboxedFile::Status::Failed, {}, errno);
  if (S_ISLNK(st.st_mode)) return failure(SandboxedFile::Status::Failed, "the allowed file was replaced by a link", ELOOP);
  if (!S_ISREG(st.st_mode)) return failure(SandboxedFile::Status::NotRegular, file_kind(st.st_mode));
  SandboxedFile f = open_examined(dir.get(), name, st);
  if (f.status == SandboxedFile::Status::Opened) f.resolved = root.canonical;
  return f;
}

const ReadSandbox::Root* ReadSandbox::find_root(const fs::path& normal_path, std::vector<std::string>& below) const {
  std::vector<std::string> names = names_of(normal_path);
  const Root* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& root : roots_) {
    for (const fs::path* form : {&root.canonical, &root.named}) {
      const std::size_t length = names_of(*form).size();
      if (root.file && length != names.size()) continue;
      if ((best && length <= best_length) || !lies_within(normal_path, *form)) continue;
      best = &root;
      best_length = length;
    }
  }
  if (best) below.assign(names.begin() + static_cast<std::ptrdiff_t>(best_length), names.end());
  return best;
}

bool ReadSandbox::covers(const fs::path& path) const {
  std::vector<std::string> below;
  return find_root(absolute_normal(path), below) != nullptr;
}

SandboxedFile ReadSandbox::open(const fs::path& path) const {
  if (path.native().find('\0') != std::string::npos)
    return failure(SandboxedFile::Status::InvalidName, "the path contains a NUL byte (\\0)");
  fs::path normal = absolute_normal(path);
  std::vector<std::string> below;
  const Root* root = find_root(normal, below);
  if (!root) return failure(SandboxedFile::Status::Denied, "it is outside the directories this script may read");
  if (root->file) return open_file_root(*root);
  if (kernel_resolution_ && !openat2_unsupported.load(std::memory_order_relaxed)) {
    bool unsupported = false;
    SandboxedFile f = open_with_kernel(*root, below, unsupported);
    if (!unsupported) return f;
  }
  return walk(normal);
}

// The fast path. `unsupported` is set when the walk must decide instead: the kernel has no
// openat2, or the path needs a link judged (an absolute link or a `..` that leaves the root,
// which the kernel refuses with EXDEV though it may lead into another allowed directory).
SandboxedFile ReadSandbox::open_with_kernel(const Root& root, const std::vector<std::string>& below,
                                            bool& unsupported) const {
  if (below.empty()) return failure(SandboxedFile::Status::NotRegular, "a directory");
  int error = 0;
  FileDescriptor dir = open_root(root.canonical, error);
  if (!dir) return error == ENOENT || error == ENOTDIR ? missing(error) : failure(SandboxedFile::Status::Failed, {}, error);
  std::string relative;
  for (const auto& name : below) relative += (relative.empty() ? "" : "/") + name;
  struct open_how how {};
  how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, dir.get(), relative.c_str(), &how, sizeof how);
  if (fd < 0) {
    int e = errno;
    if (e == ENOSYS || e == EPERM || e == EINVAL || e == E2BIG) {
      if (e == ENOSYS) openat2_unsupported.store(true, std::memory_order_relaxed);
      unsupported = true;
    } else if (e == EXDEV || e == ELOOP || e == EAGAIN) {
      unsupported = true;  // a link or a race for the walk to judge
    } else if (e == ENOENT || e == ENOTDIR) {
      return missing(e);
    } else if (e == EISDIR) {
      return failure(SandboxedFile::Status::NotRegular, "a directory");
    } else {
      return failure(SandboxedFile::Status::Failed, {}, e);
    }
    return {};
  }
  FileDescriptor file(static_cast<int>(fd));
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) return failure(SandboxedFile::Status::Failed, {}, errno);
  if (!S_ISREG(st.st_mode)) return failure(SandboxedFile::Status::NotRegular, file_kind(st.st_mode));
  // The name the kernel resolved, for relative names inside the file. Without /proc, the walk
  // finds it.
  char buffer[4096];
  std::string link = "/proc/self/fd/" + std::to_string(file.get());
  ssize_t n = ::readlink(link.c_str(), buffer, sizeof buffer);
  if (n <= 0 || n >= static_cast<ssize_t>(sizeof buffer) || buffer[0] != '/') {
    unsupported = true;
    return {};
  }
  SandboxedFile f;
  f.status = SandboxedFile::Status::Opened;
  f.fd = std::move(file);
  f.resolved = fs::path(std::string(buffer, static_cast<std::size_t>(n)));
  f.device = st.st_dev;
  f.inode = st.st_ino;
  return f;
}

SandboxedFile ReadSandbox::walk(fs::path normal_path) const {
  const Root* root = nullptr;
  std::vector<FileDescriptor> directories;  // the root, then each directory entered below it
  std::vector<std::string> at;              // the names of those directories below the root
  std::deque<std::string> pending;
  int links = 0;
  // (Re)starts from the allowed directory that holds `absolute` by name: the path itself,
  // an absolute link's target, or what a `..` above the current root names.
  auto restart = [&](const fs::path& absolute) -> std::optional<SandboxedFile> {
    std::vector<std::string> below;
    root = find_root(absolute.lexically_normal(), below);
    if (!root)
      return failure(SandboxedFile::Status::Denied,
                     "a symbolic link on the way leads outside the directories this script may read");
    if (root->file) return std::nullopt;  // at_file_root opens it
    int error = 0;
    FileDescriptor dir = open_root(root->canonical, error);
    if (!dir) return error == ENOENT || error == ENOTDIR ? missing(error) : failure(SandboxedFile::Status::Failed, {}, error);
    directories.clear();
    directories.push_back(std::move(dir));
    at.clear();
    pending.insert(pending.begin(), below.begin(), below.end());
    return std::nullopt;
  };
  // A link to an allowed file (not a directory): the file, if nothing follows it on the path.
  auto at_file_root = [&]() -> std::optional<SandboxedFile> {
    if (!root->file) return std::nullopt;
    if (!pending.empty()) return missing(ENOTDIR);
    return open_file_root(*root);
  };
  auto current_directory = [&] {
    fs::path p = root->canonical;
    for (const auto& name : at) p /= name;
    return p;
  };
  {
    std::vector<std::string> below;
    if (!find_root(normal_path, below))
      return failure(SandboxedFile::Status::Denied, "it is outside the directories this script may read");
    if (auto stop = restart(normal_path)) return std::move(*stop);
    if (auto file = at_file_root()) return std::move(*file);
  }
  if (pending.empty()) return failure(SandboxedFile::Status::NotRegular, "a directory");
  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name.empty() || name == ".") continue;
    if (name == "..") {
      if (directories.size() > 1) {
        directories.pop_back();
        at.pop_back();
        continue;
      }
      // Above the root: what that names is judged by name, as an absolute link would be.
      fs::path above = current_directory().parent_path();
      for (const auto& rest : pending) above /= rest;
      pending.clear();
      if (auto stop = restart(above)) return std::move(*stop);
      if (auto file = at_file_root()) return std::move(*file);
      continue;
    }
    bool last = pending.empty();
    int parent = directories.back().get();
    FileDescriptor entry(::openat(parent, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!entry) return errno == ENOENT || errno == ENOTDIR ? missing(errno) : failure(SandboxedFile::Status::Failed, {}, errno);
    struct stat st {};
    if (::fstat(entry.get(), &st) != 0) return failure(SandboxedFile::Status::Failed, {}, errno);
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxLinks) return failure(SandboxedFile::Status::Failed, {}, ELOOP);
      char buffer[4096];
      ssize_t n = ::readlinkat(entry.get(), "", buffer, sizeof buffer);
      if (n < 0 || n >= static_cast<ssize_t>(sizeof buffer)) return failure(SandboxedFile::Status::Failed, {}, n < 0 ? errno : ENAMETOOLONG);
      fs::path target(std::string(buffer, static_cast<std::size_t>(n)));
      if (target.is_absolute()) {
        if (auto stop = restart(target)) return std::move(*stop);
        if (auto file = at_file_root()) return std::move(*file);
      } else {
        std::vector<std::string> names;
        for (const auto& part : target) names.push_back(part.string());
        pending.insert(pending.begin(), names.begin(), names.end());
      }
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (last) return failure(SandboxedFile::Status::NotRegular, "a directory");
      directories.push_back(std::move(entry));
      at.push_back(name);
      continue;
    }
    if (!last) return missing(ENOTDIR);
    if (!S_ISREG(st.st_mode)) return failure(SandboxedFile::Status::NotRegular, file_kind(st.st_mode));
    SandboxedFile f = open_examined(parent, name, st);
    if (f.status == SandboxedFile::Status::Opened) f.resolved = current_directory() / name;
    return f;
  }
  return failure(SandboxedFile::Status::NotRegular, "a directory");
}

std::string read_all(int fd) {
  std::string text;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category());
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string printable_path(const std::string& text) {
  std::string out;
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte == 0) {
      out += "\\0";
    } else if (byte < 0x20 || byte == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", byte);
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace twin
