#include "util/error.h"

#include <algorithm>

namespace twin {

const char* error_kind_id(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Syntax: return "syntax";
    case ErrorKind::Name: return "name";
    case ErrorKind::Type: return "type";
    case ErrorKind::Value: return "value";
    case ErrorKind::Io: return "io";
    case ErrorKind::Permission: return "permission";
    case ErrorKind::Import: return "import";
    case ErrorKind::User: return "user";
    case ErrorKind::Assertion: return "assertion";
    case ErrorKind::Limit: return "limit";
  }
  return "value";
}

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Syntax: return "syntax error";
    case ErrorKind::Name: return "name error";
    case ErrorKind::Type: return "type error";
    case ErrorKind::Value: return "error";
    case ErrorKind::Io: return "i/o error";
    case ErrorKind::Permission: return "permission denied";
    case ErrorKind::Import: return "import error";
    case ErrorKind::User: return "error";
    case ErrorKind::Assertion: return "assertion failed";
    case ErrorKind::Limit: return "limit exceeded";
  }
  return "error";
}

Error::Error(ErrorKind kind, std::string message, SourceLocation location)
    : std::runtime_error(message), kind_(kind), message_(std::move(message)),
      location_(std::move(location)) {}

void Error::set_location_if_unknown(const SourceLocation& location) {
  if (!location_.known() && location.known()) location_ = location;
}

std::string Error::format() const {
  std::string out;
  if (location_.known()) out += location_.to_string() + ": ";
  out += error_kind_name(kind_);
  out += ": " + message_ + "\n";
  if (location_.known()) {
    std::string_view line = location_.file->line(location_.line);
    if (!line.empty()) {
      // A long line (generated code, a 40,000-character nesting) is cut to a window around
      // the column, each cut marked with "...", so the error stays readable.
      constexpr std::size_t kWidth = 100, kBefore = 60;
      std::size_t column = static_cast<std::size_t>(std::max(location_.column, 1)) - 1;
      std::size_t begin = 0, end = line.size();
      if (line.size() > kWidth) {
        begin = column > kBefore ? std::min(column - kBefore, line.size() - kWidth) : 0;
        end = begin + kWidth;
      }
      std::string shown = (begin > 0 ? "..." : "") + std::string(line.substr(begin, end - begin)) +
                          (end < line.size() ? "..." : "");
      out += "    " + shown + "\n    ";
      // Keep tabs so the caret lines up under the same column.
      if (begin > 0) out += "   ";
      for (std::size_t i = begin; i < column && i < end; ++i) out += line[i] == '\t' ? '\t' : ' ';
      out += "^\n";
    }
  }
  // Runaway recursion repeats one frame hundreds of times: print a run of identical frames once.
  for (std::size_t i = 0; i < stack_.size();) {
    const auto& frame = stack_[i];
    std::size_t run = 1;
    while (i + run < stack_.size() && stack_[i + run].function == frame.function &&
           stack_[i + run].call_site.to_string() == frame.call_site.to_string())
      ++run;
    out += "  in " + frame.function;
    if (frame.call_site.known()) out += " (called at " + frame.call_site.to_string() + ")";
    if (run > 1) out += " ... repeated " + std::to_string(run) + " times";
    out += "\n";
    i += run;
  }
  return out;
}

}  // namespace twin
