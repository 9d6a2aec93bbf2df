#include "interp/lib/check_library.h"
#include "interp/lib/graph_library.h"
#include "interp/lib/json_values.h"

#include "capture/graph.h"
#include "check/equivalence_check.h"
#include "interp/rule_files.h"
#include "interp/value.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

namespace twin {

namespace {

// What the host lets the checker do (InterpreterOptions): fork the verifier's isolation
// process, use the verdict cache, run past the deadline (never).
void grant_capabilities(Interpreter& host, check::CheckOptions& options) {
  const InterpreterOptions& granted = host.options();
  options.verification.verify.isolate = granted.allow_processes;
  options.verification.use_cache = granted.verdict_cache != VerdictCacheAccess::None;
  options.verification.write_cache = granted.verdict_cache == VerdictCacheAccess::ReadWrite;
  options.verification.cache_directory = granted.verdict_cache_directory;
  options.deadline = host.budget().deadline();
}

}  // namespace

void open_check_library(Interpreter& interpreter) {
  interpreter.register_function("check_graphs", [](CallContext& c, CallArgs& a) {
    args::expect_count(a, 2, 2, "check_graphs");
    args::allow_named(a, {"rules", "numerics", "stdlib"}, "check_graphs");
    auto load = [&](const Value& v, const char* what) {
      std::filesystem::path path = c.interpreter.resolve_script_path(args::string(v, what, a.location), a.location);
      return read_graph_file(c.interpreter, path, a.location);
    };
    check::CheckOptions options;
    // The rule files load in the script's own sandbox: the same allowed directories and library
    // path, read through the same open.
    RuleFiles rule_files;
    rule_files.confine = true;
    rule_files.allow_read = c.interpreter.allowed_read_dirs();
    rule_files.allow_read_files = c.interpreter.allowed_read_files();
    rule_files.library_path = c.interpreter.library_path();
    if (const Value* rules = a.find_named("rules")) {
      if (!rules->is_list()) throw Error(ErrorKind::Type, "check_graphs: rules= takes a list of paths", a.location);
      for (const auto& r : rules->as_list()->items)
        rule_files.files.push_back(c.interpreter.resolve_script_path(args::string(r, "a rule file", a.location), a.location));
    }
    grant_capabilities(c.interpreter, options);
    if (const Value* n = a.find_named("numerics")) options.numerics = n->truthy();
    if (const Value* s = a.find_named("stdlib")) rule_files.stdlib = s->truthy();
    options.verification.warn = [&c](const std::string& message) {
      c.interpreter.diagnose({Diagnostic::Kind::Warning, "check_graphs", message});
    };
    options.progress = [&c](const check::CheckProgress& p) {
      c.interpreter.diagnose({Diagnostic::Kind::Progress, "check_graphs", p.stage + ": " + p.detail});
    };
    try {
      Graph reference = load(a.positional[0], "the reference graph's path");
      Graph port = load(a.positional[1], "the port graph's path");
      auto declarations = load_rule_files(rule_files);
      check::CheckResult result = check::check_equivalence(reference, port, declarations, options);
      c.interpreter.diagnose({Diagnostic::Kind::ProgressDone, "check_graphs", ""});
      c.interpreter.budget().check_deadline(a.location);  // a check cut short by the deadline is no answer
      return value_from_json(nlohmann::json::parse(result.to_json()));
    } catch (const Error& e) {
      throw Error(e.kind() == ErrorKind::Assertion ? ErrorKind::Value : e.kind(), "check_graphs: " + e.message(), a.location);
    }
  });
}

}  // namespace twin
