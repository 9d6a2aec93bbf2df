// twin check --ref A.graph --port B.graph [--rules R.rules...] [--json] [--proof FILE] ...
//
// Is the port the same function as the reference? check/equivalence_check.h does the work;
// this file reads the options, shows progress on a terminal and prints the answer.
#include "check/equivalence_check.h"
#include "cli/command.h"
#include "interp/rule_files.h"
#include "cli/rule_emission.h"
#include "util/atomic_file.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace twin::cli {

namespace {

std::size_t parse_count(const std::string& option, const std::string& text) {
  try {
    std::size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used == text.size() && v > 0) return static_cast<std::size_t>(v);
  } catch (const std::exception&) {
  }
  throw UsageError(option + " takes a positive integer, not `" + text + "`");
}

int check_main(const Arguments& arguments) {
  std::string reference_path, port_path, proof_path, emit_path;
  bool json = false, quiet = false;
  check::ReportOptions report_options;
  check::CheckOptions options;
  RuleFiles rules;
  for (std::size_t i = 0; i < arguments.size();) {
    const std::string& a = arguments[i];
    auto value = [&](const std::string& name) -> std::string {
      if (i + 1 >= arguments.size()) throw UsageError(name + " needs a value");
      i += 2;
      return arguments[i - 1];
    };
    if (take_allow_read(arguments, i, rules.allow_read)) continue;
    if (a == "--ref" || a == "--reference") reference_path = value(a);
    else if (a == "--port") port_path = value(a);
    else if (a == "--rules") {
      rules.files.push_back(value(a));
      while (i < arguments.size() && arguments[i].rfind("--", 0) != 0) rules.files.push_back(arguments[i++]);
    } else if (a == "--json") json = true, ++i;
    else if (a == "--quiet" || a == "-q") quiet = true, ++i;
    else if (a == "--exact-constants") report_options.exact_constants = true, ++i;
    else if (a == "--explain-gaps") report_options.explain_gaps = true, ++i;
    else if (a == "--proof") proof_path = value(a), options.full_proof = true;
    else if (a == "--no-stdlib") rules.stdlib = false, ++i;
    else if (a == "--no-cache") options.verification.use_cache = false, ++i;
    else if (a == "--no-numerics") options.numerics = false, ++i;
    else if (a == "--no-synthesis") options.synthesis.enabled = false, ++i;
    else if (a == "--emit-rules") emit_path = value(a);
    else if (a == "--synthesis-seconds") options.synthesis.total_seconds = static_cast<double>(parse_count(a, value(a)));
    else if (a == "--iterations") options.limits.iterations = parse_count(a, value(a));
    else if (a == "--idle-iterations") {
      std::string n = value(a);
      options.idle_iterations = n == "0" ? 0 : parse_count(a, n);
    }
    else if (a == "--nodes") options.limits.nodes = parse_count(a, value(a));
    else if (a == "--time") options.limits.time_seconds = static_cast<double>(parse_count(a, value(a)));
    else if (!a.empty() && a[0] == '-') unknown_option(a);
    else throw UsageError("unexpected argument `" + a + "` (give the graphs with --ref and --port)");
  }
  if (reference_path.empty() || port_path.empty()) throw UsageError("both --ref and --port are required");

  return run_with_large_stack([&] {
    TerminalProgress terminal(!quiet && isatty(STDERR_FILENO));
    options.progress = [&](const check::CheckProgress& p) { terminal.progress(p.stage + ": " + p.detail, p.seconds); };
    options.verification.warn = [&](const std::string& message) { terminal.warning(message); };
    try {
      auto declarations = load_rule_files(rules);
      Graph reference = Graph::load(reference_path);
      Graph port = Graph::load(port_path);
      check::CheckResult result = check::check_equivalence(reference, port, declarations, options);
      terminal.clear();
      if (!proof_path.empty()) replace_file_atomically(proof_path, result.proof_text);
      if (!emit_path.empty()) replace_file_atomically(emit_path, synthesized_rules_text(result, reference_path, port_path));
      if (json) std::cout << result.to_json(report_options) << "\n";
      else std::cout << result.to_text(report_options);
      bool holds = result.verdict == check::CheckVerdict::Equivalent || result.verdict == check::CheckVerdict::EquivalentReal;
      return holds ? kExitSuccess : kExitPropertyFails;
    } catch (const Error& e) {
      terminal.clear();
      return report(e);
    }
  });
}

}  // namespace

const CommandSpec kCheckCommand{
    .name = "check",
    .usage = "check --ref REFERENCE.graph --port PORT.graph [--rules FILE.rules...] [--json] [--proof FILE] "
             "[--no-stdlib] [--no-numerics] [--explain-gaps] [--exact-constants] [--iterations N] [--nodes N] [--time SECONDS]",
    .summary = "prove a port equivalent to its reference, or show where it diverges",
    .details = R"(REFERENCE and PORT are .graph files or torch.export's .pt2 archives (with
NAME.io.safetensors beside them when there is one). Loads both captured graphs into one
e-graph, with the port's parameters expressed through their relations to the reference's, and saturates it with the stdlib's rules plus the
given files' (only rules `twin verify` accepts: proved or tested). Outputs are matched by
position. See docs/checking.md.

Verdicts:
  equivalent        every port output is in its reference output's e-class (exit 0)
  equivalent in real arithmetic
                    the same, but the proof moved or dropped a cast: each such place is listed
                    with its module path (exit 0; JSON "equivalent_real")
  not equivalent    the graphs, run on the example inputs, disagree: the first divergent port
                    nodes are named with their module paths and errors (exit 1)
  unproven          the outputs agree numerically but the rules do not connect them: the
                    smallest unmatched port pieces are listed (exit 1)
Every answer but "equivalent" starts with a "reason:" line (JSON "reason"): the ops a graph
cannot run, where the port diverges (module, node, op, source line), or the port pieces no
rule connects. Constants print as the shortest decimals that read back as the same double
(eps 1e-05); --exact-constants prints their exact rationals.

Options:
  --rules FILE...    more rule files (after the stdlib)
  --json             print the answer as JSON (verdict, rules_used, divergences,
                     precision_differences, unmatched, relations, stats)
  --explain-gaps     a gap diagnosis: the rules whose pattern matched but whose guard
                     refused every match (nearly matched; under each unmatched piece, those
                     that nearly matched there), and per-rule match counts (with
                     any verdict: after a proof that needed synthesis, it says why the
                     given rules did not suffice)
  --exact-constants  print constants as exact rationals, not readable decimals
  --quiet, -q        no progress line on standard error
  --proof FILE       write every proof step (rule, module, rewritten terms) to FILE
  --no-stdlib        use only the given rule files
  --no-numerics      do not run the graphs when the proof fails (unproven instead)
  --no-synthesis     do not make rules from the values when the proof fails
  --emit-rules FILE  write the rules synthesis made and the proof used to FILE (.rules),
                     annotated with how each was verified
  --synthesis-seconds S
                     the time synthesis may take in all (default 300)
  --no-cache         re-verify every rule
  --iterations N, --nodes N, --time SECONDS
                     saturation limits (default 40 iterations, 400000 e-nodes, 60 s)
  --idle-iterations N
                     stop saturating once no rule has changed the e-graph for N iterations
                     in a row (default 3; 0: run to the limits)
  --allow-read DIR   let rule files read under DIR
Exit status: 0 equivalent, 1 not equivalent or unproven, 2 bad input or usage.)",
    .main = check_main,
};

}  // namespace twin::cli
