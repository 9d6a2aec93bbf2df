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
