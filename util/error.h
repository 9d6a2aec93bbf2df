// Errors that Twin reports to a user.
//
// Every error a script or file can cause is a twin::Error: it carries what went wrong, where
// (file:line:col, 1-based), what was expected, and for runtime errors the chain of calls that
// led there. `format()` renders it the way the CLI and the REPL show it:
//
//   runtime_error.twin:1:24: error: division by zero
//       fn inner(x) { return x / 0 }
//                              ^
//     in inner (runtime_error.twin:2:22)
//     in outer (runtime_error.twin:3:1)
//
// CLI exit codes: Assertion -> 1 (the checked property does not hold), every other kind -> 2
// (bad input). Nothing a user writes may crash Twin: anything else thrown inside the interpreter is a bug.
#pragma once

#include "util/source.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace twin {

enum class ErrorKind {
  Syntax,      // the text does not parse
  Name,        // an undefined name
  Type,        // a value of the wrong type
  Value,       // a value out of range, division by zero, a failed assertion ...
  Io,          // a file that cannot be read or written
  Permission,  // the host does not allow this (reading outside the allowed directories)
  Import,      // `use` of a missing file, or an import cycle
  User,        // raised by a script with error(...)
  Assertion,   // an `assert` that does not hold: the checked property is false (CLI exit 1)
  Limit,       // a limit the host set was reached: time, steps, memory, integer digits
};

const char* error_kind_name(ErrorKind kind);  // "syntax error", "type error", ... as printed
const char* error_kind_id(ErrorKind kind);    // "syntax", "type", ... as scripts see error.kind

struct StackFrame {
  std::string function;     // the called function's name ("<lambda>" for anonymous ones)
  SourceLocation call_site; // where it was called from
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, SourceLocation location = {});

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  const SourceLocation& location() const { return location_; }
  const std::vector<StackFrame>& stack() const { return stack_; }

  // The evaluator fills these in as the error unwinds; the first location set wins.
  void set_location_if_unknown(const SourceLocation& location);
  void add_frame(StackFrame frame) { stack_.push_back(std::move(frame)); }

  // Full text: "file:line:col: error: message", the source line with a caret, the call chain.
  std::string format() const;

 private:
  ErrorKind kind_;
  std::string message_;
  SourceLocation location_;
  std::vector<StackFrame> stack_;
};

}  // namespace twin
