// libFuzzer target for the rule compiler (compiler/rule_compiler.h): from a parsed `.rules`
// file, through the front end's declarations, to the e-matching programs.
//
// For arbitrary bytes:
//   1. parsing, then declaring (the evaluator run in declarations-only mode, as `twin verify`
//      and `twin check` load rule files), either succeeds or throws twin::Error;
//   2. RuleCompiler::compile_all() on the declarations either succeeds or throws twin::Error
//      (a rule the engine cannot express is refused, located at the rule);
//   3. compiling is deterministic: a second compiler, over the same declarations and a fresh
//      op table, gives every rule the same canonical text (the verdict cache's key) and the
//      same number of programs.
// A crash, a sanitizer report, a hang or another exception is a bug.
//
// The interpreter reads no file: no directory is allowed, and the library path is empty, so
// `use` is refused like any other read outside the sandbox.
//
// Seeds: the `.rules` files of stdlib/, rules/, examples/ and ../shared/.
// Build and run: fuzz/run.sh rule_compiler [SECONDS]   (see docs/building.md, "Fuzzing")
#include "compiler/rule_compiler.h"
#include "egraph/op_table.h"
#include "fuzz/fuzz_support.h"
#include "interp/evaluator.h"
#include "interp/interpreter.h"
#include "interp/parser.h"
#include "util/error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr const char* kTarget = "rule_compiler_fuzzer";

std::vector<std::shared_ptr<const twin::compiler::CompiledRule>> compile(
    const std::shared_ptr<const twin::compiler::Declarations>& declarations) {
  twin::compiler::RuleCompiler compiler(declarations, std::make_shared<twin::egraph::OpTable>());
  return compiler.compile_all();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  twin::InterpreterOptions options;
  options.library_path = {"/nonexistent/twin-fuzz-library"};
  options.output = [](std::string_view) {};
  twin::Interpreter interpreter(std::move(options));

  std::shared_ptr<const twin::compiler::Declarations> declarations;
  try {
    twin::Program program = twin::parse_program(std::make_shared<twin::SourceFile>("fuzz.rules", input));
    interpreter.evaluator().run(program, true);
    declarations = interpreter.declarations();
  } catch (const twin::Error&) {
    return 0;  // not a rules file, or one that does not declare
  } catch (const std::exception& e) {
    twin::fuzz::broken(kTarget, "declaring threw something other than twin::Error", input, e.what());
  }

  std::vector<std::shared_ptr<const twin::compiler::CompiledRule>> first, second;
  try {
    first = compile(declarations);
  } catch (const twin::Error&) {
    return 0;
  } catch (const std::exception& e) {
    twin::fuzz::broken(kTarget, "compile_all threw something other than twin::Error", input, e.what());
  }
  try {
    second = compile(declarations);
  } catch (const std::exception& e) {
    twin::fuzz::broken(kTarget, "a second compilation failed where the first did not", input, e.what());
  }
  if (first.size() != second.size()) twin::fuzz::broken(kTarget, "two compilations give different rule counts", input, "");
  for (std::size_t i = 0; i < first.size(); ++i) {
    const auto& a = *first[i];
    const auto& b = *second[i];
    if (a.meaning_text != b.meaning_text || a.programs.size() != b.programs.size() ||
        a.meaning_programs.size() != b.meaning_programs.size())
      twin::fuzz::broken(kTarget, "compiling is not deterministic", input,
                         a.source->qualified_name() + ":\n" + a.meaning_text + "\nthen:\n" + b.meaning_text);
  }
  return 0;
}
