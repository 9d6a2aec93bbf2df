// twin verify [--json] [--write] [--allow-unknown] [--method z3|random] [--trials N] [--seed N] [--rule-seconds S] [--no-cache] FILE.rules...
//
// Validates every rule declared in the given files (not the ones they merely `use`) with the
// strongest method that applies (verify/rule_verifier.h), prints one row per rule, and exits 1
// when any rule is refuted or (unless --allow-unknown) could not be decided: a rule nobody
// could check must not pass CI silently. --write records each verdict in the file as an annotation,
// rewriting it atomically in canonical form.
#include "cli/command.h"
#include "cli/rule_emission.h"

#include "compiler/rule_compiler.h"
#include "egraph/op_table.h"
#include "interp/parser.h"
#include "interp/printer.h"
#include "util/atomic_file.h"
#include "verify/cached_verification.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace twin::cli {

namespace fs = std::filesystem;

namespace {

struct Row {
  std::string file;      // as given
  std::string ruleset;
  std::string rule;
  int line = 0;
  verify::RuleReport report;
  bool cached = false;
};

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

std::string format_seconds(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2fs", s);
  return buffer;
}

void print_table(const std::vector<Row>& rows) {
  std::size_t name_width = 4;
  for (const auto& row : rows) name_width = std::max(name_width, row.ruleset.size() + 1 + row.rule.size());
  name_width += 2;
  std::cout << pad("RULE", name_width) << pad("VERDICT", 20) << pad("NUMERICS", 22) << pad("METHOD", 12) << "TIME\n";
  for (const auto& row : rows) {
    const auto& r = row.report;
    std::cout << pad(row.ruleset + "." + row.rule, name_width) << pad(r.verdict_text(), 20)
              << pad(r.numerics.empty() ? "-" : r.numerics, 22) << pad(r.method.empty() ? "-" : r.method, 12)
              << format_seconds(r.seconds) << (row.cached ? " (cached)" : "") << "\n";
    if (r.verdict == verify::Verdict::Refuted) {
      std::cout << "    counterexample (" << row.file << ":" << row.line << "):\n";
      std::istringstream lines(r.counterexample);
      std::string line;
      while (std::getline(lines, line)) std::cout << "      " << line << "\n";
    } else if (r.verdict == verify::Verdict::Unknown && !r.detail.empty()) {
      std::cout << "    " << r.detail << "\n";
    }
  }
  std::map<std::string, int> counts;
  for (const auto& row : rows) counts[verify::verdict_name(row.report.verdict)]++;
  // The verdicts that occur, in order of strength ("3 rules: 2 proved, 1 refuted").
  std::string summary;
  for (const char* verdict : {"proved", "tested", "refuted", "unknown"})
    if (counts[verdict] > 0) summary += (summary.empty() ? "" : ", ") + std::to_string(counts[verdict]) + " " + verdict;
  std::cout << rows.size() << (rows.size() == 1 ? " rule" : " rules") << (summary.empty() ? "" : ": " + summary) << "\n";
}

void print_json(const std::vector<Row>& rows) {
  nlohmann::json out = {{"rules", nlohmann::json::array()}};
  for (const auto& row : rows) {
    const auto& r = row.report;
    out["rules"].push_back({{"name", row.rule},
                            {"ruleset", row.ruleset},
                            {"file", row.file},
                            {"line", row.line},
                            {"verdict", verify::verdict_name(r.verdict)},
                            {"trials", r.trials},
                            {"numerics", r.numerics},
                            {"r_ratio", r.r_ratio},
                            {"method", r.method},
                            {"seconds", r.seconds},
                            {"cached", row.cached},
                            {"counterexample", r.counterexample},
                            {"detail", r.detail}});
  }
  std::map<std::string, int> counts;
  for (const auto& row : rows) counts[verify::verdict_name(row.report.verdict)]++;
  out["summary"] = counts;
  std::cout << out.dump(2) << "\n";
}

// Rewrites `file` with each verified rule's annotations replaced by its verdict's.
void write_annotations(const std::string& file, const std::vector<Row>& rows) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  Program program = parse_program(std::make_shared<SourceFile>(file, contents.str()));
  for (auto& stmt : program.statements) {
    if (stmt->kind != StmtKind::Ruleset) continue;
    auto updated = std::make_shared<Stmt>(*stmt);
    for (auto& rule : updated->rules) {
      auto row = std::find_if(rows.begin(), rows.end(), [&](const Row& r) {
        return r.file == file && r.ruleset == stmt->text && r.rule == rule->name;
      });
      if (row == rows.end()) continue;
      auto decl = std::make_shared<RuleDecl>(*rule);
      std::vector<Annotation> kept;
      for (const auto& a : decl->annotations)
        if (a.name != "verified" && a.name != "numerics") kept.push_back(a);
      for (auto& a : verdict_annotations(row->report)) kept.push_back(a);
      decl->annotations = std::move(kept);
      rule = decl;
    }
    stmt = updated;
  }
  std::string text = format_program(program);
  if (text != contents.str()) replace_file_atomically(file, text);
}

int verify_main(const Arguments& arguments) {
  bool json = false, write = false, allow_unknown = false;
  verify::VerificationOptions verification;
  verify::VerifyOptions& options = verification.verify;
  std::vector<fs::path> readable;
  std::vector<std::string> files;
  for (std::size_t i = 0; i < arguments.size();) {
    const std::string& a = arguments[i];
    auto value = [&](const char* option) -> std::string {
      if (i + 1 >= arguments.size()) throw UsageError(std::string(option) + " needs a value");
      i += 2;
      return arguments[i - 1];
    };
    if (a == "--json") json = true, ++i;
    else if (a == "--write") write = true, ++i;
    else if (a == "--allow-unknown") allow_unknown = true, ++i;
    else if (a == "--no-cache") verification.use_cache = false, ++i;
    else if (a == "--method") {
      std::string m = value("--method");
      if (m == "z3") options.method = verify::Method::Z3;
      else if (m == "random") options.method = verify::Method::Random;
      else throw UsageError("--method takes z3 or random, not " + m);
    } else if (a == "--trials") {
      try {
        options.trials = std::stoi(value("--trials"));
      } catch (const std::exception&) {
        throw UsageError("--trials takes a positive number");
      }
      if (options.trials <= 0) throw UsageError("--trials takes a positive number");
    } else if (a == "--seed") {
      try {
        options.seed = std::stoull(value("--seed"));
      } catch (const std::exception&) {
        throw UsageError("--seed takes a number");
      }
    } else if (a == "--rule-seconds") {
      try {
        options.rule_seconds = std::stod(value("--rule-seconds"));
      } catch (const std::exception&) {
        throw UsageError("--rule-seconds takes a number of seconds");
      }
      if (!(options.rule_seconds >= 0)) throw UsageError("--rule-seconds takes a number of seconds (0: no limit)");
    } else if (take_allow_read(arguments, i, readable)) {
    } else if (a.starts_with("-")) {
      unknown_option(a);
    } else {
      files.push_back(a);
      ++i;
    }
  }
  if (files.empty()) throw UsageError("no .rules file to verify");
  std::error_code ignored;
  for (const auto& f : files) readable.push_back(fs::absolute(f, ignored).parent_path());
  readable.push_back(fs::current_path(ignored));

  return run_with_large_stack([&] {
    InterpreterOptions interpreter_options;
    interpreter_options.allowed_read_dirs = readable;
    Interpreter interpreter(std::move(interpreter_options));
    std::vector<Row> rows;
    TerminalProgress terminal(isatty(STDERR_FILENO));
    verification.on_verify = [&](const std::string& rule) { terminal.progress("verifying " + rule, 1.0); };
    verification.warn = [&](const std::string& message) { terminal.warning(message); };
    verify::CachedVerifier verifier(verification);
    try {
      for (const auto& file : files) interpreter.load_declarations(file);
      compiler::RuleCompiler compiler(interpreter.declarations(), std::make_shared<egraph::OpTable>());
      for (const auto& file : files) {
        std::string canonical = fs::weakly_canonical(fs::absolute(file, ignored), ignored).string();
        for (const auto& rule : compiler.declarations()->all_rules()) {
          const SourceLocation& at = rule->location;
          if (!at.file || at.file->path() != canonical) continue;
          Row row{file, rule->ruleset, rule->name, at.line, {}, false};
          verify::VerifiedRule verified = verifier.verify(*compiler.compile(rule), *compiler.ops());
          row.report = verified.report;
          row.cached = verified.cached;
          rows.push_back(std::move(row));
        }
      }
      terminal.clear();
      if (write)
        for (const auto& file : files) write_annotations(file, rows);
    } catch (const Error& error) {
      terminal.clear();
      return report(error);
    } catch (const FileWriteError& error) {
      std::cerr << "twin verify: " << error.what() << "\n";
      return kExitBadInput;
    }
    if (json) print_json(rows);
    else print_table(rows);
    bool unknown = false;
    for (const auto& row : rows) {
      if (row.report.verdict == verify::Verdict::Refuted) return kExitPropertyFails;
      unknown = unknown || row.report.verdict == verify::Verdict::Unknown;
    }
    if (unknown && !allow_unknown) {
      if (!json)
        std::cout << "some rules could not be verified (unknown): the exit status is 1; "
                     "pass --allow-unknown to accept them\n";
      return kExitPropertyFails;
    }
    return kExitSuccess;
  });
}

}  // namespace

const CommandSpec kVerifyCommand{
    .name = "verify",
    .usage = "verify [--json] [--write] [--allow-unknown] [--method z3|random] [--trials N] [--seed N] [--rule-seconds S] [--no-cache] FILE.rules...",
    .summary = "validate every rule of .rules files (Z3, random testing, numerics)",
    .details = R"(Validates each rule declared in the files with the strongest method that applies:
Z3 when every op of the rule has an encoding (proved or refuted on several small shapes),
else constraint-aware random testing in float64 (tested N trials or refuted). Each rule
that holds also gets a numerics verdict from the 3-tensor R-ratio at bf16 against an fp32
reference: exact, within bf16 baseline (R <= 1.2), or changes precision. A refuted rule
shows its counterexample as concrete tensors. "unknown" is never "proved".

Options:
  --json             one JSON object: {"rules": [...], "summary": {...}}
  --write            record verdicts in the files as @verified(...) / @numerics(...)
                     annotations, rewriting them atomically in canonical format
  --allow-unknown    exit 0 even when a rule could not be verified (unknown)
  --method z3|random force one method
  --trials N         random trials per rule (default 256)
  --seed N           seed of the random inputs (default 7)
  --rule-seconds S   wall-clock limit per rule (default 60; 0: none): Z3 is stopped after
                     3/4 of it (unknown, then random testing), random testing after all of it
  --no-cache         ignore and do not update the verdict cache
                     ($TWIN_CACHE_DIR, else $XDG_CACHE_HOME/twin/verify)
  --allow-read DIR   also allow `use` to read under DIR

Exit status: 0 every rule proved or tested (or unknown, with --allow-unknown); 1 a rule is
refuted, or unknown without --allow-unknown; 2 bad input.)",
    .main = verify_main,
};

}  // namespace twin::cli
