// twin fmt [--check] FILE...
//
// Never loses data: a file is rewritten only when its canonical text differs, only after the
// canonical text has been parsed back with every comment still there, and only by writing a
// temporary file beside it (same permissions, synced to disk) and renaming it over the
// original, so a crash leaves either the old file or the new one.
#include "cli/command.h"

#include "interp/parser.h"
#include "interp/printer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace twin::cli {

namespace fs = std::filesystem;

namespace {

struct WriteFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& what) { throw WriteFailure(what + ": " + std::strerror(errno)); }

// Replaces the contents of `path` (a symbolic link: of its target) with `text`, atomically.
void replace_file(const fs::path& path, const std::string& text) {
  fs::path target = fs::is_symlink(path) ? fs::canonical(path) : path;
  struct stat original {};
  if (::stat(target.c_str(), &original) != 0) fail("cannot stat " + target.string());

  fs::path directory = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string temp_name = ".";  // hidden, beside the file: same file system, so rename is atomic
  temp_name += target.filename().string();
  temp_name += ".fmt-XXXXXX";
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

bool read_file(const fs::path& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream contents;
  contents << in.rdbuf();
  text = contents.str();
  return !in.bad();
}

// Formats one file; returns its exit status.
int format_file(const std::string& name, bool check_only) {
  std::string text;
  std::error_code ec;
  if (fs::is_directory(name, ec)) {
    std::cerr << "twin fmt: " << name << " is a directory, not a file\n";
    return kExitBadInput;
  }
  if (!read_file(name, text)) {
    std::cerr << "twin fmt: cannot read " << name << ": " << std::strerror(errno) << "\n";
    return kExitBadInput;
  }
  std::string formatted;
  std::size_t comments = 0;
  try {
    Program program = parse_program(std::make_shared<SourceFile>(name, text));
    comments = program.comments.size();
    formatted = format_program(program);
  } catch (const Error& error) {
    return report(error);
  }
  if (formatted == text) return kExitSuccess;
  if (check_only) {
    std::cout << "would reformat " << name << "\n";
    return kExitPropertyFails;
  }

  // The printer's own guarantee, checked before the file is touched.
  try {
    Program reparsed = parse_program(std::make_shared<SourceFile>(name + " (formatted)", formatted));
    if (reparsed.comments.size() != comments) throw std::runtime_error("formatting would drop comments");
  } catch (const Error& error) {
    std::cerr << "twin fmt: internal error: the formatted text of " << name << " does not parse; left unchanged\n"
              << error.format() << "\n";
    return kExitBadInput;
  } catch (const std::exception& error) {
    std::cerr << "twin fmt: internal error: " << error.what() << " in " << name << "; left unchanged\n";
    return kExitBadInput;
  }

  try {
    replace_file(name, formatted);
  } catch (const std::exception& error) {
    std::cerr << "twin fmt: " << error.what() << "; " << name << " is unchanged\n";
    return kExitBadInput;
  }
  std::cout << "reformatted " << name << "\n";
  return kExitSuccess;
}

int fmt_main(const Arguments& arguments) {
  bool check_only = false;
  std::vector<std::string> files;
  bool options_ended = false;
  for (const std::string& argument : arguments) {
    if (!options_ended && argument == "--") options_ended = true;
    else if (!options_ended && argument == "--check") check_only = true;
    else if (!options_ended && argument.starts_with("-") && argument != "-") unknown_option(argument);
    else files.push_back(argument);
  }
  if (files.empty()) throw UsageError("no files to format");
  int status = kExitSuccess;
  for (const std::string& file : files) status = std::max(status, format_file(file, check_only));
  return status;
}

}  // namespace

const CommandSpec kFmtCommand{
    .name = "fmt",
    .usage = "fmt [--check] FILE...",
    .summary = "format .rules and .twin files canonically",
    .details = R"(Prints each FILE in the canonical form (two-space indentation, one space around
operators, comments kept) and rewrites it in place when it changes. The rewrite is atomic:
the new text goes to a temporary file beside FILE, keeps FILE's permissions, and is renamed
over it, so FILE is never left half-written. Prints "reformatted FILE" for each file changed.

Options:
  --check   change nothing; print "would reformat FILE" for each file that is not canonical

Exit status: 0 every file is (now) canonical; 1 with --check, some file is not canonical;
2 a file does not parse (printed as file:line:col: error: ...) or cannot be read or written.
Every file is processed even after an error; the highest status wins.)",
    .main = fmt_main,
};

}  // namespace twin::cli
