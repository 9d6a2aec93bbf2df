// libFuzzer target for the front end: parser and canonical printer.
//
// For arbitrary bytes:
//   1. parse_program must either succeed or throw twin::Error (a syntax error is the expected
//      outcome for most inputs); any other exception, crash, hang or sanitizer report is a bug;
//   2. if it parses, format_program's output must parse again, and formatting that must give
//      the same text (`twin fmt` is idempotent). A violation aborts with both texts printed.
//
// Build and run: fuzz/run.sh parser [SECONDS]   (see docs/building.md, "Fuzzing")
#include "fuzz/fuzz_support.h"
#include "interp/parser.h"
#include "interp/printer.h"
#include "util/error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace {

[[noreturn]] void fail(const char* what, const std::string& input, const std::string& formatted,
                       const std::string& detail) {
  twin::fuzz::broken("parser_fuzzer", what, input, "formatted:\n" + formatted + "\n" + detail);
}

twin::Program parse(const std::string& name, const std::string& text) {
  return twin::parse_program(std::make_shared<twin::SourceFile>(name, text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);

  twin::Program program;
  try {
    program = parse("fuzz.twin", input);
  } catch (const twin::Error&) {
    return 0;  // not a program: the expected outcome for most inputs
  }

  const std::string formatted = twin::format_program(program);
  twin::Program reparsed;
  try {
    reparsed = parse("formatted.twin", formatted);
  } catch (const twin::Error& error) {
    fail("the formatted text does not parse", input, formatted, error.format());
  }
  const std::string twice = twin::format_program(reparsed);
  if (twice != formatted) fail("formatting is not idempotent", input, formatted, "formatted again:\n" + twice);
  return 0;
}
