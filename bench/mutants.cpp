// bench/mutants: a measure of the verifier's soundness (issue 4, item 7).
//
// It takes valid rules (every stdlib/*.rules file and bench/mutant_sources.rules, or the
// files named on the command line), derives mutants by changing each rule's RIGHT side (so a
// mutant still matches exactly the terms its source matches), verifies every mutant, and
// reports how many the verifier refuted ("killed"), how many it proved (genuinely equivalent
// mutants: listed), and every other survivor (tested, unknown or not encodable: listed, these
// are soundness gaps). Target: every non-equivalent mutant refuted.
//
// Mutation operators, applied at every position of the right side:
//   - operands of a non-commutative op swapped (sub div pow matmul bmm where), the list of a
//     cat/stack reordered, the two dims of a transpose exchanged, two entries of an
//     attribute list (permute's dims, reshape's shape) exchanged;
//   - a pattern variable replaced by another variable of the rule (tensor for tensor,
//     integer for integer), an integer attribute variable replaced by 0;
//   - constants changed: c -> c+1, -c, 2c (operands and float attributes);
//   - dims/axes/attributes changed: dim d -> d-1, d+1, 0, -1; start/end/index/size +-1;
//     keepdim and causal flags flipped; gelu's approximation switched;
//   - a term dropped: an op node replaced by one of its tensor operands (or a list item), an
//     optional operand (linear's bias, layer_norm's affine) removed;
//   - ops swapped: add<->sub, mul<->div, add->mul, sum<->mean, amax->sum,
//     softmax<->log_softmax, exp<->log, sqrt<->rsqrt, sigmoid<->tanh, silu<->gelu, relu->silu,
//     relu->neg, sin<->cos, triu<->tril, cat<->stack, squeeze<->unsqueeze, matmul->mul ...
// Mutants are deduplicated by their text ("lhs => rhs if guard"), and a mutant whose text is
// its source's is skipped. An ill-typed right side counts as killed only if it is refuted.
// Only source rules that verify (proved or tested) are mutated; the others are listed.
// Equivalent mutants: the proved ones, and the tested ones reviewed by hand as equivalent
// (reviewed_equivalents(): no method here can prove them).
//
//   mutants [--jobs N] [--item-seconds S] [--timeout-ms N] [--method auto|z3] [--verbose] [--skip N] [--limit N] [--list] [FILES...]
//   mutants --check FILES...   verify the rules themselves (no mutation), one line per rule
//
// The last line is: mutants=N killed=N equivalent=N survivors=N kill_rate=X% seconds=S
#include "egraph/op_table.h"
#include "egraph/rewrite.h"
#include "compiler/rule_compiler.h"
#include "compiler/term_printer.h"
#include "ops/op_spec.h"
#include "interp/interpreter.h"
#include "ops/backend_loader.h"
#include "verify/z3_checker.h"
#ifdef TWIN_HAVE_RULE_VERIFIER
#include "verify/rule_verifier.h"
#endif

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#ifndef TWIN_SOURCE_DIR
#define TWIN_SOURCE_DIR "."
#endif

namespace {

namespace fs = std::filesystem;
using namespace twin;

// ---- mutation --------------------------------------------------------------------------

struct Mutation {
  TermPtr rhs;
  std::string what;  // e.g. "sub -> add", "swap operands of div"
};

// Variables of the rule, by role: operands (tensors) and attribute values (integers).
struct VarRoles {
  std::set<std::string> tensors, integers;
};

void collect_roles(const Term& t, bool in_attribute, VarRoles& roles) {
  if (t.kind == TermKind::Var) (in_attribute ? roles.integers : roles.tensors).insert(t.name);
  for (const auto& o : t.operands) collect_roles(*o, in_attribute, roles);
  for (const auto& [name, value] : t.attributes) collect_roles(*value, true, roles);
}

std::shared_ptr<Term> copy(const Term& t) { return std::make_shared<Term>(t); }

TermPtr constant(const Rational& r) { return make_constant(r); }

// The ops a port writes by mistake in `op`'s place: the registry's `confusable` (ops/op_spec.h).
const std::vector<std::string>* op_swaps(const std::string& op) {
  const ops::OpSpec* spec = ops::find_op(op);
  return spec && !spec->confusable.empty() ? &spec->confusable : nullptr;
}

// Binary arithmetic whose operands do not commute (sub, div, pow, matmul, bmm): swapping them
// is a port's typical slip.
bool non_commutative(const std::string& op) {
  const ops::OpSpec* spec = ops::find_op(op);
  return spec && spec->operands.size() == 2 && !spec->commutative &&
         (spec->family == ops::OpFamily::Elementwise || spec->family == ops::OpFamily::LinearAlgebra);
}

bool is_dim_attribute(const std::string& name) {
  return name == "dim" || name == "dim0" || name == "dim1" || name == "dims";
}

// Local mutations of an attribute value (a constant, symbol, variable or list of constants).
void mutate_attribute(const std::string& attr, const Term& value, const VarRoles& roles,
                      const std::function<void(TermPtr, std::string)>& emit) {
  auto emit_constant = [&](const Rational& r, const std::string& why) {
    if (r != value.constant) emit(constant(r), attr + " " + rational_to_string(value.constant) + " -> " + rational_to_string(r) + why);
  };
  switch (value.kind) {
    case TermKind::Constant: {
      const Rational& c = value.constant;
      if (is_dim_attribute(attr)) {
        emit_constant(c - Rational(1), "");
        emit_constant(c + Rational(1), "");
        emit_constant(Rational(0), "");
        emit_constant(Rational(-1), "");
      } else if (is_integer(c)) {
        emit_constant(c + Rational(1), "");
        emit_constant(c - Rational(1), "");
      } else {
        emit_constant(c * Rational(2), "");
        emit_constant(c + Rational(1), "");
      }
      return;
    }
    case TermKind::Symbol: {
      static const std::map<std::string, std::string> flips = {
          {"true", "false"}, {"false", "true"}, {"none", "tanh"}, {"tanh", "none"}};
      if (auto it = flips.find(value.name); it != flips.end())
        emit(make_symbol(it->second), attr + " " + value.name + " -> " + it->second);
      return;
    }
    case TermKind::String: {
      static const std::map<std::string, std::string> flips = {{"none", "tanh"}, {"tanh", "none"}};
      if (auto it = flips.find(value.name); it != flips.end()) {
        auto s = copy(value);
        s->name = it->second;
        emit(s, attr + " " + value.name + " -> " + it->second);
      }
      return;
    }
    case TermKind::Var: {
      for (const auto& other : roles.integers)
        if (other != value.name) {
          auto v = copy(value);
          v->name = other;
          emit(v, attr + " ?" + value.name + " -> ?" + other);
        }
      emit(constant(Rational(0)), attr + " ?" + value.name + " -> 0");
      return;
    }
    case TermKind::List: {
      const auto& items = value.operands;
      for (std::size_t i = 0; i + 1 < items.size(); ++i) {
        if (*items[i] == *items[i + 1]) continue;
        auto l = copy(value);
        std::swap(l->operands[i], l->operands[i + 1]);
        emit(l, attr + ": entries " + std::to_string(i) + " and " + std::to_string(i + 1) + " exchanged");
      }
      for (std::size_t i = 0; i < items.size(); ++i) {
        mutate_attribute(attr + "[" + std::to_string(i) + "]", *items[i], roles, [&](TermPtr item, std::string why) {
          auto l = copy(value);
          l->operands[i] = std::move(item);
          emit(l, std::move(why));
        });
      }
      return;
    }
    default: return;
  }
}

// Every mutation of `t` (at `t` itself or below it). `in_attribute`: t is an attribute value.
void mutate(const Term& t, const VarRoles& roles, const std::function<void(TermPtr, std::string)>& emit) {
  switch (t.kind) {
    case TermKind::Var: {
      for (const auto& other : roles.tensors)
        if (other != t.name) {
          auto v = copy(t);
          v->name = other;
          emit(v, "?" + t.name + " -> ?" + other);
        }
      return;
    }
    case TermKind::Constant: {
      const Rational& c = t.constant;
      std::vector<std::pair<Rational, std::string>> changes = {{c + Rational(1), "c+1"}, {-c, "-c"}, {c * Rational(2), "2c"}};
      for (const auto& [r, why] : changes)
        if (r != c) emit(constant(r), "constant " + rational_to_string(c) + " -> " + rational_to_string(r) + " (" + why + ")");
      return;
    }
    case TermKind::List:
    case TermKind::Apply: break;
    default: return;
  }
  const std::string op = t.kind == TermKind::List ? "list" : t.name;

  // Ops swapped.
  if (t.kind == TermKind::Apply) {
    if (const auto* swaps = op_swaps(op)) {
      for (const auto& other : *swaps) {
        auto m = copy(t);
        m->name = other;
        // Attributes that the new op does not take are dropped (sum's dim is fine for mean).
        const ops::OpSpec* target = ops::find_op(other);
        std::vector<std::pair<std::string, TermPtr>> kept;
        for (const auto& attribute : m->attributes)
          for (const auto& declared : target->attributes)
            if (declared.name == attribute.first) kept.push_back(attribute);
        m->attributes = std::move(kept);
        if ((op == "squeeze" || op == "unsqueeze") && m->attributes.empty()) continue;
        emit(m, op + " -> " + other);
      }
    }
  }
  // Operands of a non-commutative op swapped; a list reordered; where's branches swapped.
  if (t.kind == TermKind::Apply && non_commutative(op) && t.operands.size() == 2 && !(*t.operands[0] == *t.operands[1])) {
    auto m = copy(t);
    std::swap(m->operands[0], m->operands[1]);
    emit(m, "operands of " + op + " swapped");
  }
  if (t.kind == TermKind::Apply && op == "where" && t.operands.size() == 3 && !(*t.operands[1] == *t.operands[2])) {
    auto m = copy(t);
    std::swap(m->operands[1], m->operands[2]);
    emit(m, "branches of where swapped");
  }
  if (t.kind == TermKind::List && t.operands.size() >= 2) {
    for (std::size_t i = 0; i + 1 < t.operands.size(); ++i) {
      if (*t.operands[i] == *t.operands[i + 1]) continue;
      auto m = copy(t);
      std::swap(m->operands[i], m->operands[i + 1]);
      emit(m, "list items " + std::to_string(i) + " and " + std::to_string(i + 1) + " exchanged");
    }
  }
  if (t.kind == TermKind::Apply && op == "transpose") {
    const Term* d0 = nullptr;
    const Term* d1 = nullptr;
    for (const auto& [name, value] : t.attributes) {
      if (name == "dim0") d0 = value.get();
      if (name == "dim1") d1 = value.get();
    }
    if (d0 && d1 && !(*d0 == *d1)) {
      auto m = copy(t);
      for (auto& [name, value] : m->attributes) {
        if (name == "dim0") value = std::make_shared<Term>(*d1);
        else if (name == "dim1") value = std::make_shared<Term>(*d0);
      }
      emit(m, "dims of transpose exchanged");
    }
  }
  // A term dropped: the node replaced by one of its tensor operands (or list items).
  if (t.kind == TermKind::Apply) {
    std::set<std::string> seen;
    for (const auto& operand : t.operands) {
      std::vector<TermPtr> candidates;
      if (operand->kind == TermKind::List) candidates = operand->operands;
      else candidates.push_back(operand);
      for (const auto& c : candidates) {
        std::string text = print_term(*c);
        if (!seen.insert(text).second) continue;
        emit(c, op + "(...) dropped, keeping " + text);
      }
    }
    // An optional operand removed: linear's bias, layer_norm's weight/bias.
    if ((op == "linear" && t.operands.size() == 3) || (op == "layer_norm" && t.operands.size() >= 2)) {
      auto m = copy(t);
      m->operands.pop_back();
      emit(m, "last operand of " + op + " removed");
    }
  }
  // Mutations below this node.
  for (std::size_t i = 0; i < t.operands.size(); ++i) {
    mutate(*t.operands[i], roles, [&](TermPtr child, std::string why) {
      auto m = copy(t);
      m->operands[i] = std::move(child);
      emit(m, std::move(why));
    });
  }
  for (std::size_t i = 0; i < t.attributes.size(); ++i) {
    const auto& [name, value] = t.attributes[i];
    mutate_attribute(name, *value, roles, [&](TermPtr v, std::string why) {
      auto m = copy(t);
      m->attributes[i].second = std::move(v);
      emit(m, op + ": " + why);
    });
  }
}

// ---- mutants reviewed as equivalent ---------------------------------------------------------

// Mutants equivalent to their source that no method here can prove: only random testing can
// judge them (masked_fill with an infinite value has no Z3 encoding), and all it can say is
// "tested". Each was reviewed by hand; the reason is printed with it. A listed mutant counts as
// equivalent only when it is tested (never when unknown); one that is refuted is reported, since
// then the review or the verifier is wrong. An entry matches a mutant's exact text, so an entry
// whose source rule changed matches nothing (and its mutants count again).
const std::map<std::string, std::string>& reviewed_equivalents() {
  static const std::string mask = R"(masked_fill(?x, ?m, value="-inf") => ?x + )";
  static const std::string guard = R"( if dtype(?x) == f32 and dtype(?m) == bool)";
  static const std::map<std::string, std::string> list = {
      {mask + R"(masked_fill(cast(?m, dtype=f32) + 0, ?m, value="-inf"))" + guard,
       "cast(?m) + 0 is 0 where the mask is false; the masked elements become -inf either way"},
      {mask + R"(masked_fill(cast(?m, dtype=f32), ?m, value="-inf"))" + guard,
       "cast(?m) is 0 where the mask is false; the masked elements become -inf either way"},
      {mask + R"(masked_fill(cast(?m, dtype=f32) * 1, ?m, value="-inf"))" + guard,
       "cast(?m) * 1 is 0 where the mask is false; the masked elements become -inf either way"},
      {mask + R"(masked_fill(cast(?x, dtype=f32) * 0, ?m, value="-inf"))" + guard,
       "cast(?x) * 0 is 0 for every real ?x, as cast(?m) * 0 is"},
      // examples/llama/token_layout/token_layout.rules (not a default source file).
      {"embedding(?w, squeeze(?i, dim=-2)) => squeeze(embedding(?w, ?i), dim=0) if rank(?i) == 2",
       "embedding(?w, ?i) has rank 3 (rank(?i) == 2), where dim 0 is dim -3"},
      {"squeeze(?x, dim=?d) ** ?p => squeeze(?x ** ?p, dim=0) if ?d + rank(?x) == 0 and rank(?p) == 0",
       "?d + rank(?x) == 0 makes ?d the first dim, dim 0, of ?x ** ?p (?p is a scalar)"},
  };
  return list;
}

// ---- verification ------------------------------------------------------------------------

enum class Outcome { Killed, Equivalent, Survivor, Error };

struct Result {
  Outcome outcome = Outcome::Error;
  std::string verdict;  // "refuted", "proved", "tested 256 trials", "unknown", "not encodable", "error"
  std::string detail;
  double seconds = 0;
};

struct Options {
  unsigned timeout_ms = 10000;
  bool z3_only = false;
  int jobs = 1;
  double item_seconds = 60;  // a mutant without a verdict by then is a survivor
  rlim_t item_memory_bytes = rlim_t(8) << 30;  // address space of one verification
  bool verbose = false;
  long limit = -1;
};

Result run_verifier(const egraph::Rewrite& rewrite, const egraph::OpTable& ops, const Options& options) {
  Result result;
  auto start = std::chrono::steady_clock::now();
  try {
#ifdef TWIN_HAVE_RULE_VERIFIER
    if (!options.z3_only) {
      verify::VerifyOptions vo;
      vo.z3_timeout_ms = options.timeout_ms;
      // Inside the bench's own limit, so that a Z3 check that runs over is stopped in time for
      // random testing to judge the mutant (a rule's verdict, not the bench's kill, decides).
      vo.rule_seconds = options.item_seconds * 0.8;
      verify::RuleReport r = verify::verify_rule(rewrite, ops, vo);
      result.verdict = r.verdict_text();
      result.detail = r.method + (r.detail.empty() ? "" : ": " + r.detail);
      switch (r.verdict) {
        case verify::Verdict::Refuted: result.outcome = Outcome::Killed; break;
        case verify::Verdict::Proved: result.outcome = Outcome::Equivalent; break;
        default: result.outcome = Outcome::Survivor; break;
      }
      result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return result;
    }
#endif
    verify::Z3Options zo;
    zo.timeout_ms = options.timeout_ms;
    zo.wall_seconds = options.item_seconds * 0.8;
    verify::Z3Verdict v = verify::check_rule_z3(rewrite, ops, zo);
    result.verdict = verify::z3_status_name(v.status);
    result.detail = "z3: " + v.reason;
    switch (v.status) {
      case verify::Z3Status::Refuted: result.outcome = Outcome::Killed; break;
      case verify::Z3Status::Proved: result.outcome = Outcome::Equivalent; break;
      default: result.outcome = Outcome::Survivor; break;
    }
  } catch (const std::exception& e) {
    result.outcome = Outcome::Error;
    result.verdict = "error";
    result.detail = e.what();
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// Verifies items [0, n), each in a child process of its own, at most `jobs` at a time. A
// child that gives no verdict within `item_seconds` is killed, and its item is a survivor
// ("no verdict within the bench's time limit"): a verifier that hangs must not stall the
// bench, nor pass for one that refutes. The parent itself never runs a solver or libtorch,
// so forking stays safe.
std::vector<Result> verify_all(std::size_t n, const std::function<Result(std::size_t)>& one, const Options& options,
                               const std::function<void(std::size_t, const Result&)>& progress) {
  using Clock = std::chrono::steady_clock;
  std::vector<Result> results(n);
  auto escape = [](std::string s) {
    for (auto& c : s)
      if (c == '\n' || c == '\t') c = ' ';
    return s;
  };
  struct Running {
    pid_t pid;
    int fd;
    std::size_t index;
    Clock::time_point start;
    std::string output;
  };
  std::vector<Running> running;
  std::size_t next = 0;
  const std::size_t jobs = static_cast<std::size_t>(std::max(1, options.jobs));
  // Load the tensor backend (libtorch) once, here: every child forked below inherits it
  // initialized, instead of each paying libtorch's start-up (about half a second) for its
  // one mutant, under its memory limit.
  try {
    twin::ops::tensor_backend();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "mutants: %s\n", error.what());
    std::exit(2);
  }
  auto finish = [&](Running& r, bool timed_out) {
    Result result;
    result.seconds = std::chrono::duration<double>(Clock::now() - r.start).count();
    int status = 0;
    if (timed_out) kill(r.pid, SIGKILL);
    waitpid(r.pid, &status, 0);
    close(r.fd);
    std::vector<std::string> fields;
    std::size_t pos = 0;
    while (!timed_out && fields.size() < 3) {
      std::size_t tab = r.output.find('\t', pos);
      if (tab == std::string::npos) break;
      fields.push_back(r.output.substr(pos, tab - pos));
      pos = tab + 1;
    }
    if (timed_out) {
      result.outcome = Outcome::Survivor;
      result.verdict = "unknown";
      result.detail = "no verdict within the bench's limit of " + std::to_string(options.item_seconds) + " s";
    } else if (fields.size() == 3) {
      std::string last = r.output.substr(pos);
      if (!last.empty() && last.back() == '\n') last.pop_back();
      result.outcome = static_cast<Outcome>(std::stoi(fields[1]));
      result.verdict = fields[2];
      result.detail = last;
      result.seconds = std::stod(fields[0]);
    } else {
      result.outcome = Outcome::Error;
      result.verdict = "error";
      result.detail = WIFSIGNALED(status) ? "the verifier crashed (signal " + std::to_string(WTERMSIG(status)) + ")"
                                          : "the verifier exited without a verdict";
    }
    results[r.index] = result;
    progress(r.index, results[r.index]);
  };
  std::fflush(stdout);
  std::fflush(stderr);
  while (next < n || !running.empty()) {
    while (running.size() < jobs && next < n) {
      int fds[2];
      if (pipe(fds) != 0) { std::perror("pipe"); std::exit(2); }
      std::size_t index = next++;
      pid_t pid = fork();
      if (pid < 0) { std::perror("fork"); std::exit(2); }
      if (pid == 0) {
        close(fds[0]);
        // A runaway solver fails alone (bad_alloc in the child), never the bench.
        rlimit memory{options.item_memory_bytes, options.item_memory_bytes};
        setrlimit(RLIMIT_AS, &memory);
        Result r = one(index);
        std::string line = std::to_string(r.seconds) + "\t" + std::to_string(static_cast<int>(r.outcome)) + "\t" +
                           escape(r.verdict) + "\t" + escape(r.detail) + "\n";
        const char* data = line.data();
        std::size_t left = line.size();
        while (left > 0) {
          ssize_t w = write(fds[1], data, left);
          if (w <= 0) break;
          data += w;
          left -= static_cast<std::size_t>(w);
        }
        close(fds[1]);
        std::_Exit(0);
      }
      close(fds[1]);
      running.push_back({pid, fds[0], index, Clock::now(), {}});
    }
    std::vector<pollfd> fds;
    for (const auto& r : running) fds.push_back({r.fd, POLLIN, 0});
    poll(fds.data(), fds.size(), 200);
    std::vector<Running> still;
    for (std::size_t i = 0; i < running.size(); ++i) {
      Running& r = running[i];
      bool eof = false;
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buffer[4096];
        ssize_t got = read(r.fd, buffer, sizeof buffer);
        if (got > 0) r.output.append(buffer, static_cast<std::size_t>(got));
        else eof = true;
      }
      double age = std::chrono::duration<double>(Clock::now() - r.start).count();
      if (eof) finish(r, false);
      else if (age > options.item_seconds) finish(r, true);
      else still.push_back(std::move(r));
    }
    running = std::move(still);
  }
  return results;
}

// ---- main --------------------------------------------------------------------------------

struct Mutant {
  std::string source;  // ruleset.rule
  std::string what;
  std::string text;    // lhs => rhs if guard
  std::shared_ptr<const compiler::RuleSource> rule;
};

std::string rule_text(const Term& lhs, const Term& rhs, const compiler::RuleSource& rule) {
  std::string text = print_term(lhs) + " => " + print_term(rhs);
  if (!rule.guard_text.empty()) text += " if " + rule.guard_text;
  return text;
}

std::vector<fs::path> default_files() {
  std::vector<fs::path> files;
  fs::path stdlib = fs::path(TWIN_SOURCE_DIR) / "stdlib";
  if (fs::is_directory(stdlib))
    for (const auto& e : fs::directory_iterator(stdlib))
      if (e.path().extension() == ".rules") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  fs::path extra = fs::path(TWIN_SOURCE_DIR) / "bench" / "mutant_sources.rules";
  if (fs::exists(extra)) files.push_back(extra);
  return files;
}

void usage() {
  std::fprintf(stderr,
               "usage: mutants [--jobs N] [--item-seconds S] [--timeout-ms N] [--method auto|z3] [--skip N] [--limit N] [--verbose] [--list]\n"
               "               [FILES.rules...]\n"
               "       mutants --check [--jobs N] [--item-seconds S] [--timeout-ms N] [--method auto|z3] FILES.rules...\n");
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  bool check = false;
  bool list = false;  // print the mutants, verify nothing
  long skip = 0;      // drop the first N mutants (to bisect a slow one)
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { usage(); std::exit(2); }
      return argv[++i];
    };
    if (a == "--check") check = true;
    else if (a == "--list") list = true;
    else if (a == "--skip") skip = std::stol(next());
    else if (a == "--verbose" || a == "-v") options.verbose = true;
    else if (a == "--jobs" || a == "-j") options.jobs = std::stoi(next());
    else if (a == "--item-seconds") options.item_seconds = std::stod(next());
    else if (a == "--timeout-ms") options.timeout_ms = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--limit") options.limit = std::stol(next());
    else if (a == "--method") {
      std::string m = next();
      if (m == "z3") options.z3_only = true;
      else if (m != "auto") { usage(); return 2; }
    } else if (a == "--help" || a == "-h") { usage(); return 0; }
    else if (!a.empty() && a[0] == '-') { usage(); return 2; }
    else files.emplace_back(a);
  }
  if (files.empty()) files = default_files();
  if (files.empty()) {
    std::fprintf(stderr, "mutants: no rules files found\n");
    return 2;
  }
#ifndef TWIN_HAVE_RULE_VERIFIER
  options.z3_only = true;
#endif

  InterpreterOptions io;
  for (const auto& f : files) io.allowed_read_dirs.push_back(fs::absolute(f).parent_path());
  Interpreter interpreter(io);
  auto ops = std::make_shared<egraph::OpTable>();

  // The source rules, by file.
  struct Source {
    std::string file, name;
    std::shared_ptr<const compiler::RuleSource> rule;
  };
  std::vector<Source> sources;
  for (const auto& f : files) {
    std::size_t before = interpreter.declarations()->rulesets.size();
    try {
      interpreter.load_declarations(f);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mutants: %s\n", e.what());
      return 2;
    }
    const auto& rulesets = interpreter.declarations()->rulesets;
    for (std::size_t r = before; r < rulesets.size(); ++r)
      for (const auto& rule : rulesets[r]->rules)
        sources.push_back({f.filename().string(), rule->qualified_name(), rule});
  }
  compiler::RuleCompiler compiler(interpreter.declarations(), ops);
  auto meaning = [&](const std::shared_ptr<const compiler::RuleSource>& rule) { return compiler.compile(rule)->meaning.front(); };

  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&]() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };

  if (check) {
    // Verify the rules themselves: both directions of a `<=>` rule.
    std::vector<std::pair<std::size_t, egraph::Rewrite>> rewrites;
    for (std::size_t s = 0; s < sources.size(); ++s) {
      egraph::Rewrite forward = meaning(sources[s].rule);
      rewrites.emplace_back(s, forward);
      if (sources[s].rule->bidirectional)
        rewrites.emplace_back(s, egraph::Rewrite{forward.name, forward.rhs, forward.lhs, forward.guard, true});
    }
    int refuted = 0, proved = 0, other = 0;
    auto results = verify_all(
        rewrites.size(), [&](std::size_t i) { return run_verifier(rewrites[i].second, *ops, options); }, options,
        [&](std::size_t i, const Result& r) {
          const Source& s = sources[rewrites[i].first];
          std::printf("%-18s %-36s %-8s %-20s %6.2fs  %s\n", s.file.c_str(),
                      (s.name + (rewrites[i].second.reversed ? " (<=)" : "")).c_str(), "", r.verdict.c_str(), r.seconds,
                      r.outcome == Outcome::Equivalent ? "" : r.detail.c_str());
          std::fflush(stdout);
        });
    for (const auto& r : results) {
      if (r.outcome == Outcome::Killed) ++refuted;
      else if (r.outcome == Outcome::Equivalent) ++proved;
      else ++other;
    }
    std::printf("rules=%zu proved=%d refuted=%d other=%d seconds=%.1f\n", rewrites.size(), proved, refuted, other, elapsed());
    return refuted > 0 ? 1 : 0;
  }

  // Only sources that verify are mutated: a mutant is judged against its source, so a source
  // Twin cannot verify (unknown) or refutes says nothing about its mutants. (Not with --list,
  // which lists the mutants of every source.)
  std::vector<bool> verified(sources.size(), true);
  std::vector<std::string> unverified;
  if (!list) {
    std::vector<std::optional<egraph::Rewrite>> forward(sources.size());
    for (std::size_t i = 0; i < sources.size(); ++i) {
      try {
        forward[i] = meaning(sources[i].rule);
      } catch (const std::exception&) {
      }
    }
    auto checked = verify_all(
        sources.size(),
        [&](std::size_t i) {
          if (!forward[i]) return Result{Outcome::Error, "error", "lowering failed", 0};
          return run_verifier(*forward[i], *ops, options);
        },
        options, [](std::size_t, const Result&) {});
    for (std::size_t i = 0; i < sources.size(); ++i) {
      verified[i] = checked[i].outcome == Outcome::Equivalent || checked[i].verdict.rfind("tested", 0) == 0;
      if (!verified[i])
        unverified.push_back(sources[i].file + ": " + sources[i].name + ": " + checked[i].verdict + " (" + checked[i].detail + ")");
    }
    std::printf("bench/mutants: %zu of %zu source rules verify (%.1f s)\n", sources.size() - unverified.size(), sources.size(),
                elapsed());
    for (const auto& u : unverified) std::printf("  not a source (does not verify): %s\n", u.c_str());
  }

  // Derive the mutants.
  std::vector<Mutant> mutants;
  std::set<std::string> seen;
  for (std::size_t si = 0; si < sources.size(); ++si) {
    const Source& s = sources[si];
    const compiler::RuleSource& rule = *s.rule;
    std::string original = rule_text(*rule.lhs, *rule.rhs, rule);
    seen.insert(original);
    if (!verified[si]) continue;
    VarRoles roles;
    collect_roles(*rule.lhs, false, roles);
    // A variable used as both (rare) stays in both sets; drop such ambiguity from integers.
    mutate(*rule.rhs, roles, [&](TermPtr rhs, std::string what) {
      std::string text = rule_text(*rule.lhs, *rhs, rule);
      if (text == original || !seen.insert(text).second) return;
      auto value = std::make_shared<compiler::RuleSource>(rule);
      value->rhs = rhs;
      value->bidirectional = false;
      mutants.push_back({s.name, std::move(what), std::move(text), std::move(value)});
    });
  }
  std::printf("bench/mutants: derived %zu mutants\n", mutants.size());
  if (skip > 0) mutants.erase(mutants.begin(), mutants.begin() + std::min<std::size_t>(skip, mutants.size()));
  if (options.limit >= 0 && mutants.size() > static_cast<std::size_t>(options.limit)) mutants.resize(options.limit);
  if (list) {
    for (std::size_t i = 0; i < mutants.size(); ++i)
      std::printf("%zu\t%s\t%s\t%s\n", i, mutants[i].source.c_str(), mutants[i].what.c_str(), mutants[i].text.c_str());
    return 0;
  }

  std::printf("bench/mutants: %zu source rules from %zu files, %zu mutants, method %s, %d job(s)\n", sources.size(),
              files.size(), mutants.size(), options.z3_only ? "z3" : "auto (verify_rule)", options.jobs);
  std::fflush(stdout);

  // Lower every mutant before forking (the OpTable is then complete and shared).
  std::vector<std::optional<egraph::Rewrite>> rewrites(mutants.size());
  std::vector<std::string> lowering_errors(mutants.size());
  for (std::size_t i = 0; i < mutants.size(); ++i) {
    try {
      rewrites[i] = meaning(mutants[i].rule);
      rewrites[i]->name = mutants[i].source;
    } catch (const std::exception& e) {
      lowering_errors[i] = e.what();
    }
  }

  std::size_t finished = 0;
  auto results = verify_all(
      mutants.size(),
      [&](std::size_t i) {
        if (!rewrites[i]) return Result{Outcome::Error, "error", "lowering: " + lowering_errors[i], 0};
        return run_verifier(*rewrites[i], *ops, options);
      },
      options,
      [&](std::size_t i, const Result& r) {
        ++finished;
        if (options.verbose || r.outcome != Outcome::Killed) {
          std::printf("[%zu/%zu] %-10s %6.2fs %s: %s\n    %s\n", finished, mutants.size(), r.verdict.c_str(), r.seconds,
                      mutants[i].source.c_str(), mutants[i].what.c_str(), mutants[i].text.c_str());
          std::fflush(stdout);
        }
      });

  std::size_t killed = 0, equivalent = 0, survivors = 0;
  std::vector<std::size_t> equivalents, reviewed, reviewed_refuted, others;
  for (std::size_t i = 0; i < mutants.size(); ++i) {
    auto review = reviewed_equivalents().find(mutants[i].text);
    bool listed = review != reviewed_equivalents().end();
    switch (results[i].outcome) {
      case Outcome::Killed:
        ++killed;
        if (listed) reviewed_refuted.push_back(i);
        break;
      case Outcome::Equivalent: ++equivalent; equivalents.push_back(i); break;
      default:
        if (listed && results[i].verdict.rfind("tested", 0) == 0) {
          ++equivalent;
          reviewed.push_back(i);
        } else {
          ++survivors;
          others.push_back(i);
        }
        break;
    }
  }
  double seconds = elapsed();
  std::printf("\nEquivalent mutants (proved; genuinely equivalent to their source): %zu\n", equivalents.size());
  for (std::size_t i : equivalents)
    std::printf("  %s [%s]\n      %s\n", mutants[i].source.c_str(), mutants[i].what.c_str(), mutants[i].text.c_str());
  std::printf("\nEquivalent mutants (tested; reviewed by hand, no method here can prove them): %zu\n", reviewed.size());
  for (std::size_t i : reviewed)
    std::printf("  %s [%s]: %s\n      %s\n", mutants[i].source.c_str(), mutants[i].what.c_str(),
                reviewed_equivalents().at(mutants[i].text).c_str(), mutants[i].text.c_str());
  if (!reviewed_refuted.empty()) {
    std::printf("\nWARNING: refuted, yet listed as reviewed equivalents (check the review, or the verifier): %zu\n",
                reviewed_refuted.size());
    for (std::size_t i : reviewed_refuted)
      std::printf("  %s [%s] (%s)\n      %s\n", mutants[i].source.c_str(), mutants[i].what.c_str(), results[i].detail.c_str(),
                  mutants[i].text.c_str());
  }
  std::printf("\nSurvivors (not refuted and not equivalent: soundness gaps): %zu\n", survivors);
  for (std::size_t i : others)
    std::printf("  %s [%s] %s (%s)\n      %s\n", mutants[i].source.c_str(), mutants[i].what.c_str(),
                results[i].verdict.c_str(), results[i].detail.c_str(), mutants[i].text.c_str());
  std::size_t non_equivalent = mutants.size() - equivalent;
  double rate = non_equivalent == 0 ? 100.0 : 100.0 * static_cast<double>(killed) / static_cast<double>(non_equivalent);
  std::printf("\nmutants=%zu killed=%zu equivalent=%zu survivors=%zu kill_rate=%.1f%% seconds=%.1f\n", mutants.size(), killed,
              equivalent, survivors, rate, seconds);
  return 0;
}
