// libFuzzer target for rule validation (verify/z3_checker.h, verify/random_tester.h): the two
// methods `twin verify` uses must never contradict each other.
//
// The fuzz bytes are choices (fuzz/fuzz_support.h's ChoiceReader) that generate one small
// rule over ?x, ?y, ?z: a left side of elementwise ops, reductions and layout ops, and a right
// side that is either another generated term (usually a false rule) or the left side with
// one sound rewrite applied somewhere (commuting, reassociating, distributing, adding 0,
// multiplying by 1, a double negation or transpose: a true rule by construction). The rule
// goes the way `twin verify` takes it: rule text, parse, declare, compile; each direction of
// its meaning is then checked by Z3 and by constraint-aware random testing, on their own.
//
// Invariants, each direction:
//   1. a rule that Z3 proves is never refuted by random testing, and a rule that random
//      testing refutes is never proved by Z3;
//   2. a rule true by construction is refuted by neither method;
//   3. compiling a generated rule succeeds or throws twin::Error; checking never throws.
// A crash, a sanitizer report, a hang or another exception is a bug.
//
// Each input's time is bounded: Z3 checks 2 shape instances with 1 s per solver call, in this
// process (so the sanitizers see Z3's callers); random testing draws 24 inputs within 5 s.
//
// TWIN_FUZZ_PRINT=1 in the environment prints each generated rule and both verdicts to stderr.
// Build and run: fuzz/run.sh verify_roundtrip [SECONDS]   (see docs/building.md, "Fuzzing")
#include "compiler/rule_compiler.h"
#include "egraph/op_table.h"
#include "fuzz/fuzz_support.h"
#include "interp/evaluator.h"
#include "interp/interpreter.h"
#include "interp/parser.h"
#include "util/error.h"
#include "verify/random_tester.h"
#include "verify/z3_checker.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr const char* kTarget = "verify_roundtrip_fuzzer";

// A generated term: an op over operands, or a leaf (a variable or a number) when `operands`
// is empty; print() writes it in the rule language.
struct Term {
  std::string op;  // "?x", "2", "add", "neg", "sum", "transpose", ...
  std::vector<Term> operands;
};

const char* const kLeaves[] = {"?x", "?y", "?z", "?x", "?y", "0", "1", "2", "0.5"};
const char* const kUnary[] = {"neg", "exp", "relu", "sqrt", "sigmoid", "tanh", "silu", "sum", "mean", "amax",
                              "softmax", "transpose"};
const char* const kBinary[] = {"add", "sub", "mul", "div", "matmul"};

Term leaf(const std::string& name) { return Term{name, {}}; }
Term apply(const std::string& op, std::vector<Term> operands) { return Term{op, std::move(operands)}; }
bool is_leaf(const Term& t) { return t.operands.empty(); }

Term generate(twin::fuzz::ChoiceReader& in, int depth) {
  if (depth >= 3 || in.pick(4) == 0) return leaf(kLeaves[in.pick(std::size(kLeaves))]);
  if (in.flip()) return apply(kUnary[in.pick(std::size(kUnary))], {generate(in, depth + 1)});
  return apply(kBinary[in.pick(std::size(kBinary))], {generate(in, depth + 1), generate(in, depth + 1)});
}

std::string print(const Term& t) {
  if (is_leaf(t)) return t.op;
  const std::string a = print(t.operands[0]);
  if (t.op == "add") return "(" + a + " + " + print(t.operands[1]) + ")";
  if (t.op == "sub") return "(" + a + " - " + print(t.operands[1]) + ")";
  if (t.op == "mul") return "(" + a + " * " + print(t.operands[1]) + ")";
  if (t.op == "div") return "(" + a + " / " + print(t.operands[1]) + ")";
  if (t.op == "matmul") return "matmul(" + a + ", " + print(t.operands[1]) + ")";
  if (t.op == "neg") return "(-" + a + ")";
  if (t.op == "sum" || t.op == "mean" || t.op == "amax" || t.op == "softmax") return t.op + "(" + a + ", dim=-1)";
  if (t.op == "transpose") return "transpose(" + a + ", dim0=-2, dim1=-1)";
  return t.op + "(" + a + ")";
}

// One sound rewrite of `t` at its root, chosen by `in` among those that apply there.
Term rewrite_root(const Term& t, twin::fuzz::ChoiceReader& in) {
  std::vector<Term> options;
  const auto& o = t.operands;
  if (t.op == "add" || t.op == "mul") options.push_back(apply(t.op, {o[1], o[0]}));
  if ((t.op == "add" || t.op == "mul") && o[0].op == t.op)  // (a . b) . c -> a . (b . c)
    options.push_back(apply(t.op, {o[0].operands[0], apply(t.op, {o[0].operands[1], o[1]})}));
  if (t.op == "mul" && o[1].op == "add")  // a * (b + c) -> a * b + a * c
    options.push_back(apply("add", {apply("mul", {o[0], o[1].operands[0]}), apply("mul", {o[0], o[1].operands[1]})}));
  if (t.op == "sub") options.push_back(apply("add", {o[0], apply("neg", {o[1]})}));
  if (t.op == "transpose" && o[0].op == "transpose") options.push_back(o[0].operands[0]);
  // Sound everywhere: x + 0, x * 1, -(-x). (A double transpose is only undone above, never
  // introduced: it would not type on a tensor of rank below 2.)
  options.push_back(apply("add", {t, leaf("0")}));
  options.push_back(apply("mul", {t, leaf("1")}));
  options.push_back(apply("neg", {apply("neg", {t})}));
  return options[in.pick(options.size())];
}

// `t` with one sound rewrite applied at a position chosen by `in`.
Term rewrite_somewhere(const Term& t, twin::fuzz::ChoiceReader& in) {
  if (is_leaf(t) || in.pick(3) == 0) return rewrite_root(t, in);
  Term out = t;
  std::size_t i = in.pick(out.operands.size());
  out.operands[i] = rewrite_somewhere(out.operands[i], in);
  return out;
}

// Compiled rules and the op table their patterns' op ids belong to.
struct Compiled {
  std::shared_ptr<twin::egraph::OpTable> ops = std::make_shared<twin::egraph::OpTable>();
  std::vector<std::shared_ptr<const twin::compiler::CompiledRule>> rules;
};

Compiled compile(const std::string& text) {
  twin::InterpreterOptions options;
  options.library_path = {"/nonexistent/twin-fuzz-library"};
  options.output = [](std::string_view) {};
  twin::Interpreter interpreter(std::move(options));
  twin::Program program = twin::parse_program(std::make_shared<twin::SourceFile>("fuzz.rules", text));
  interpreter.evaluator().run(program, true);
  Compiled out;
  twin::compiler::RuleCompiler compiler(interpreter.declarations(), out.ops);
  out.rules = compiler.compile_all();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  twin::fuzz::ChoiceReader in(data, size);
  const Term lhs = generate(in, 0);
  const bool true_by_construction = in.flip();
  const Term rhs = true_by_construction ? rewrite_somewhere(lhs, in) : generate(in, 0);
  if (is_leaf(lhs) && lhs.op[0] != '?') return 0;  // a number is no pattern
  const std::string text = "version 1\n\nruleset fuzz {\n  rule generated: " + print(lhs) + " => " + print(rhs) + "\n}\n";

  static const bool verbose = std::getenv("TWIN_FUZZ_PRINT") != nullptr;
  Compiled compiled;
  try {
    compiled = compile(text);
  } catch (const twin::Error& e) {
    if (verbose) std::fprintf(stderr, "%snot compiled: %s\n", text.c_str(), e.message().c_str());
    return 0;  // a right side with a variable the left does not bind, a call that does not fit
  } catch (const std::exception& e) {
    twin::fuzz::broken(kTarget, "compiling threw something other than twin::Error", text, e.what());
  }

  twin::verify::Z3Options z3;
  z3.timeout_ms = 1000;
  z3.instances = 2;
  z3.wall_seconds = 0;
  twin::verify::RandomOptions random;
  random.trials = 24;
  random.instances = 2;
  random.seconds = 5;
  for (const auto& rule : compiled.rules) {
    for (const auto& rewrite : rule->meaning) {
      twin::verify::Z3Verdict proof;
      twin::verify::RandomVerdict test;
      try {
        proof = twin::verify::check_rule_z3(rewrite, *compiled.ops, z3);
        test = twin::verify::test_rule_random(rewrite, *compiled.ops, random);
      } catch (const std::exception& e) {
        twin::fuzz::broken(kTarget, "checking threw", text, e.what());
      }
      const bool proved = proof.status == twin::verify::Z3Status::Proved;
      const bool z3_refuted = proof.status == twin::verify::Z3Status::Refuted;
      const bool random_refuted = test.status == twin::verify::RandomStatus::Refuted;
      const std::string detail = "z3: " + std::string(twin::verify::z3_status_name(proof.status)) + " (" + proof.reason +
                                 ")\nrandom: " + twin::verify::random_status_name(test.status) + " (" + test.reason + ")\n" +
                                 test.counterexample + (proof.counterexample ? "\n" + proof.counterexample->to_string() : "");
      if (verbose) std::fprintf(stderr, "%s%s\n", text.c_str(), detail.c_str());
      if (proved && random_refuted) twin::fuzz::broken(kTarget, "Z3 proves what random testing refutes", text, detail);
      if (true_by_construction && (z3_refuted || random_refuted))
        twin::fuzz::broken(kTarget, "a rule true by construction is refuted", text, detail);
    }
  }
  return 0;
}
