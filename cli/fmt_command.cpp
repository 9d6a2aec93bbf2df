// twin fmt [--check | --diff] FILE...   twin fmt -   (standard input to standard output)
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
#include <variant>

namespace twin::cli {

namespace fs = std::filesystem;

namespace {

// Reads a regular file. Anything else (a directory, a FIFO that would wait for a writer, a
// device such as /dev/zero that never ends) is refused without blocking: the open does not
// wait, and only a regular file is read. Returns the error message, empty on success.
std::string read_regular_file(const std::string& name, std::string& text) {
  FileDescriptor fd(::open(name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) return "cannot read " + name + ": " + std::strerror(errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return "cannot read " + name + ": " + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return name + " is " + file_kind(st.st_mode) + ", not a file";
  try {
    text = read_all(fd.get());
  } catch (const std::system_error& error) {
    return "cannot read " + name + ": " + error.code().message();
  }
  return "";
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::size_t length = end == std::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(0, length));
    text.remove_prefix(length);
  }
  return lines;
}

// A unified diff (3 lines of context) from `before` to `after`, as `diff -u` prints it. The
// common head and tail are cut first; the rest is aligned by a longest common subsequence,
// or shown as one replaced block when it is too large for that table.
std::string unified_diff(const std::string& name, std::string_view before, std::string_view after) {
  std::vector<std::string_view> a = split_lines(before), b = split_lines(after);
  std::size_t head = 0;
  while (head < a.size() && head < b.size() && a[head] == b[head]) ++head;
  std::size_t tail = 0;
  while (tail < a.size() - head && tail < b.size() - head && a[a.size() - 1 - tail] == b[b.size() - 1 - tail]) ++tail;
  std::size_t n = a.size() - head - tail, m = b.size() - head - tail;

  // edits: ' ' kept, '-' removed from a, '+' added from b, over the whole of both files.
  std::vector<std::pair<char, std::string_view>> edits;
  for (std::size_t i = 0; i < head; ++i) edits.emplace_back(' ', a[i]);
  if (n * m <= 4'000'000) {
    std::vector<std::vector<unsigned>> common(n + 1, std::vector<unsigned>(m + 1, 0));
    for (std::size_t i = n; i-- > 0;)
      for (std::size_t j = m; j-- > 0;)
        common[i][j] = a[head + i] == b[head + j] ? common[i + 1][j + 1] + 1
                                                  : std::max(common[i + 1][j], common[i][j + 1]);
    std::size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[head + i] == b[head + j]) edits.emplace_back(' ', a[head + i++]), ++j;
      else if (i < n && (j == m || common[i + 1][j] >= common[i][j + 1])) edits.emplace_back('-', a[head + i++]);
      else edits.emplace_back('+', b[head + j++]);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) edits.emplace_back('-', a[head + i]);
    for (std::size_t j = 0; j < m; ++j) edits.emplace_back('+', b[head + j]);
  }
  for (std::size_t i = a.size() - tail; i < a.size(); ++i) edits.emplace_back(' ', a[i]);

  std::string out = "--- " + name + "\n+++ " + name + " (formatted)\n";
  constexpr std::size_t kContext = 3;
  std::size_t k = 0;
  while (k < edits.size()) {
    if (edits[k].first == ' ') { ++k; continue; }
    // A hunk: from kContext kept lines before this change to kContext after the last change
    // that is no more than 2 * kContext kept lines from the previous one.
    std::size_t start = k >= kContext ? k - kContext : 0, end = k;
    for (std::size_t kept = 0; end < edits.size() && kept <= 2 * kContext; ++end)
      kept = edits[end].first == ' ' ? kept + 1 : 0;
    while (end > k && edits[end - 1].first == ' ') --end;
    end = std::min(edits.size(), end + kContext);
    std::size_t line_a = 1, line_b = 1;
    for (std::size_t e = 0; e < start; ++e) {
      if (edits[e].first != '+') ++line_a;
      if (edits[e].first != '-') ++line_b;
    }
    std::size_t count_a = 0, count_b = 0;
    std::string body;
    for (std::size_t e = start; e < end; ++e) {
      if (edits[e].first != '+') ++count_a;
      if (edits[e].first != '-') ++count_b;
      body += edits[e].first;
      body += edits[e].second;
      if (!edits[e].second.ends_with('\n')) body += "\n\\ No newline at end of file\n";
    }
    out += "@@ -" + std::to_string(count_a ? line_a : line_a - 1) + "," + std::to_string(count_a) + " +" +
           std::to_string(count_b ? line_b : line_b - 1) + "," + std::to_string(count_b) + " @@\n" + body;
    k = end;
  }
  return out;
}

enum class Mode { kRewrite, kCheck, kDiff };

// Parses `text` (read from `name`) and returns its canonical form, or the exit status of the
// error it reported.
std::variant<std::string, int> canonical_text(const std::string& name, const std::string& text, std::size_t& comments) {
  try {
    Program program = parse_program(std::make_shared<SourceFile>(name, text));
    comments = program.comments.size();
    return format_program(program);
  } catch (const Error& error) {
    return report(error);
  }
}

// `twin fmt -`: standard input, formatted, to standard output.
int format_standard_input() {
  std::string text;
  try {
    text = read_all(STDIN_FILENO);
  } catch (const std::system_error& error) {
    std::cerr << "twin fmt: cannot read standard input: " << error.code().message() << "\n";
    return kExitBadInput;
  }
  std::size_t comments = 0;
  auto formatted = canonical_text("<stdin>", text, comments);
  if (const int* status = std::get_if<int>(&formatted)) return *status;
  std::cout << std::get<std::string>(formatted) << std::flush;
  return kExitSuccess;
}

// Formats one file; returns its exit status.
int format_file(const std::string& name, Mode mode) {
  if (name == "-") return format_standard_input();
  std::string text;
  if (std::string problem = read_regular_file(name, text); !problem.empty()) {
    std::cerr << "twin fmt: " << problem << "\n";
    return kExitBadInput;
  }
  std::size_t comments = 0;
  auto canonical = canonical_text(name, text, comments);
  if (const int* status = std::get_if<int>(&canonical)) return *status;
  const std::string& formatted = std::get<std::string>(canonical);
  if (formatted == text) return kExitSuccess;
  if (mode == Mode::kCheck) {
    std::cout << "would reformat " << name << "\n";
    return kExitPropertyFails;
  }
  if (mode == Mode::kDiff) {
    std::cout << unified_diff(name, text, formatted);
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
  Mode mode = Mode::kRewrite;
  std::vector<std::string> files;
  bool options_ended = false;
  for (const std::string& argument : arguments) {
    if (!options_ended && argument == "--") options_ended = true;
    else if (!options_ended && argument == "--check") mode = Mode::kCheck;
    else if (!options_ended && argument == "--diff") mode = Mode::kDiff;
    else if (!options_ended && argument.starts_with("-") && argument != "-") unknown_option(argument);
    else files.push_back(argument);
  }
  if (files.empty()) throw UsageError("no files to format");
  if (std::count(files.begin(), files.end(), "-") > 0 && files.size() > 1)
    throw UsageError("- (standard input) cannot be formatted together with files");
  return run_with_large_stack([&] {
    int status = kExitSuccess;
    for (const std::string& file : files) status = std::max(status, format_file(file, mode));
    return status;
  });
}

}  // namespace

const CommandSpec kFmtCommand{
    .name = "fmt",
    .usage = "fmt [--check | --diff] FILE...  |  fmt -",
    .summary = "format .rules and .twin files canonically",
    .details = R"(Prints each FILE in the canonical form (two-space indentation, one space around
operators, comments kept) and rewrites it in place when it changes. The rewrite is atomic:
the new text goes to a temporary file beside FILE, keeps FILE's permissions, and is renamed
over it, so FILE is never left half-written. A FILE you may not write is refused (exit 2)
and left as it is, even in a directory you may write. A FILE with other hard links, or owned
by another user who lets you write it, keeps its links and owner: the complete new text is
written into it from the temporary copy. Prints "reformatted FILE" for each file changed.

With FILE "-", reads standard input and prints its canonical form on standard output.

Options:
  --check   change nothing; print "would reformat FILE" for each file that is not canonical
  --diff    change nothing; print a unified diff from each FILE to its canonical form

Exit status: 0 every file is (now) canonical; 1 with --check or --diff, some file is not
canonical;
2 a file does not parse (printed as file:line:col: error: ...) or cannot be read or written.
Every file is processed even after an error; the highest status wins.)",
    .main = fmt_main,
};

}  // namespace twin::cli
