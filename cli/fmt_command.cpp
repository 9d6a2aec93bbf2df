// twin fmt [--check] FILE...
//
// Never loses data: a file is rewritten only when its canonical text differs, only after the
// canonical text has been parsed back with every comment still there, and only through
// util/atomic_file.h (a complete temporary copy first; a file the user may not write is
// refused; hard links and owner are kept). It runs on the same large stack as `twin run`, so
// the deepest input the parser accepts cannot overflow it.
#include "cli/command.h"

#include "interp/parser.h"
#include "interp/printer.h"
#include "util/atomic_file.h"
#include "util/sandboxed_open.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <system_error>

namespace twin::cli {

namespace fs = std::filesystem;

namespace {

// What a file that is not a regular file is, for the error.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Reads a regular file. Anything else (a directory, a FIFO that would wait for a writer, a
// device such as /dev/zero that never ends) is refused without blocking: the open does not
// wait, and only a regular file is read. Returns the error message, empty on success.
std::string read_regular_file(const std::string& name, std::string& text) {
  FileDescriptor fd(::open(name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) return "cannot read " + name + ": " + std::strerror(errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return "cannot read " + name + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return name + " is " + kind_of(st.st_mode) + ", not a file";
  try {
    text = read_all(fd.get());
  } catch (const std::system_error& error) {
    return "cannot read " + name + ": " + error.code().message();
  }
  return "";
}

// Formats one file; returns its exit status.
int format_file(const std::string& name, bool check_only) {
  std::string text;
  if (std::string problem = read_regular_file(name, text); !problem.empty()) {
    std::cerr << "twin fmt: " << problem << "\n";
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
    replace_file_atomically(name, formatted);
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
  return run_with_large_stack([&] {
    int status = kExitSuccess;
    for (const std::string& file : files) status = std::max(status, format_file(file, check_only));
    return status;
  });
}

}  // namespace

const CommandSpec kFmtCommand{
    .name = "fmt",
    .usage = "fmt [--check] FILE...",
    .summary = "format .rules and .twin files canonically",
    .details = R"(Prints each FILE in the canonical form (two-space indentation, one space around
operators, comments kept) and rewrites it in place when it changes. The rewrite is atomic:
the new text goes to a temporary file beside FILE, keeps FILE's permissions, and is renamed
over it, so FILE is never left half-written. A FILE you may not write is refused (exit 2)
and left as it is, even in a directory you may write. A FILE with other hard links, or owned
by another user who lets you write it, keeps its links and owner: the complete new text is
written into it from the temporary copy. Prints "reformatted FILE" for each file changed.

Options:
  --check   change nothing; print "would reformat FILE" for each file that is not canonical

Exit status: 0 every file is (now) canonical; 1 with --check, some file is not canonical;
2 a file does not parse (printed as file:line:col: error: ...) or cannot be read or written.
Every file is processed even after an error; the highest status wins.)",
    .main = fmt_main,
};

}  // namespace twin::cli
