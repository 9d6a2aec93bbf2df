// check_rule_z3: the rules of ../shared/checks/data/verify/{good,bad,lossy}.rules, written as
// the engine receives them (Patterns over an OpTable, attributes as named trailing children),
// proved or refuted by Z3, with counterexamples checked by exact evaluation.
#include "verify/z3_checker.h"

#include "verify/isolated_call.h"

#include "egraph/sexpr.h"
#include "verify_support.h"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

namespace {

using namespace twin;
using namespace twin::verify;
namespace eg = twin::egraph;

using namespace twin::testing::verify;


Z3Verdict check(const eg::Rewrite& r, const eg::OpTable& ops) {
  Z3Verdict v = check_rule_z3(r, ops);
  std::string shapes;
  for (const auto& i : v.instances) shapes += "\n    " + i.instance.to_string() + " -> " + i.result;
  std::printf("  %-26s %-8s %6.2fs  %s%s\n", r.name.c_str(), z3_status_name(v.status), v.seconds, v.reason.c_str(),
              shapes.c_str());
  if (v.counterexample) std::printf("%s", v.counterexample->to_string().c_str());
  return v;
}

// Exact matmul of two rank-2 or rank-3 tensors given as rationals (row-major).
std::vector<Rational> exact_matmul(const std::vector<Rational>& a, const std::vector<std::int64_t>& as,
                                   const std::vector<Rational>& b, const std::vector<std::int64_t>& bs) {
  std::int64_t batch = as.size() == 3 ? as[0] : 1;
  std::int64_t m = as[as.size() - 2], n = as.back(), p = bs.back();
  std::vector<Rational> out;
  for (std::int64_t z = 0; z < batch; ++z)
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < p; ++j) {
        Rational s = 0;
        for (std::int64_t k = 0; k < n; ++k) s += a[z * m * n + i * n + k] * b[z * n * p + k * p + j];
        out.push_back(s);
      }
  return out;
}

std::vector<Rational> exact(const ConcreteTensor& t) {
  std::vector<Rational> v;
  for (const auto& e : t.exact) {
    REQUIRE(e.has_value());
    v.push_back(*e);
  }
  return v;
}

}  // namespace

TEST_SUITE("verify_z3_checker") {
  TEST_CASE("good.rules: the four linear-algebra rules are proved on several shapes") {
    Rules R;
    auto matmul_transpose = R.rule("matmul_transpose", "(transpose (matmul ?a ?b) -2 -1)",
                                   "(matmul (transpose ?b -2 -1) (transpose ?a -2 -1))");
    auto linear_is_matmul = R.rule("linear_is_matmul", "(linear ?x ?w)", "(matmul ?x (transpose ?w 0 1))",
                                   eq(query("rank", {var("w")}), num(2)));
    auto column_parallel = R.rule("column_parallel", "(cat (list (linear ?x ?w1) (linear ?x ?w2)) -1)",
                                  "(linear ?x (cat (list ?w1 ?w2) 0))");
    auto row_parallel = R.rule(
        "row_parallel",
        "(add (linear (slice ?x -1 0 ?k) (slice ?w 1 0 ?k)) (linear (slice ?x -1 ?k ?n) (slice ?w 1 ?k ?n)))",
        "(linear ?x ?w)",
        all({eq(query("dim", {var("x"), num(-1)}), var("n")), eq(query("dim", {var("w"), num(1)}), var("n")),
             lt(num(0), var("k")), lt(var("k"), var("n"))}));
    for (const auto* r : {&matmul_transpose, &linear_is_matmul, &column_parallel, &row_parallel}) {
      Z3Verdict v = check(*r, R.ops);
      CHECK_MESSAGE(v.status == Z3Status::Proved, r->name << ": " << v.reason);
      CHECK(v.instances.size() >= 2);
      CHECK(v.uninterpreted.empty());
      // Several instances, at least one with a batch dim (rank >= 3) or non-square operands.
      bool non_square = false;
      for (const auto& i : v.instances)
        for (const auto& [name, t] : i.instance.tensors)
          if (t.rank() >= 2 && t.shape[t.rank() - 1] != t.shape[t.rank() - 2]) non_square = true;
      CHECK(non_square);
    }
  }

  TEST_CASE("good.rules: softmax_shift, rsqrt_square, silu_def, cast_roundtrip are proved") {
    Rules R;
    auto softmax_shift = R.rule("softmax_shift", "(softmax (add ?x ?c) -1)", "(softmax ?x -1)",
                                eq(query("rank", {var("c")}), num(0)));
    auto rsqrt_square = R.rule("rsqrt_square", "(mul (rsqrt ?x) (rsqrt ?x))", "(div 1 ?x)", gt(var("x"), num(0)));
    auto silu_def = R.rule("silu_def", "(silu ?x)", "(mul ?x (sigmoid ?x))");
    auto cast_roundtrip = R.rule("cast_roundtrip", "(cast (cast ?x f32) bf16)", "?x",
                                 eq(query("dtype", {var("x")}), S::string("bf16")));
    for (const auto* r : {&softmax_shift, &rsqrt_square, &silu_def, &cast_roundtrip}) {
      Z3Verdict v = check(*r, R.ops);
      CHECK_MESSAGE(v.status == Z3Status::Proved, r->name << ": " << v.reason);
    }
  }

  TEST_CASE("lossy.rules: narrow_widen holds in real arithmetic (precision is judged elsewhere)") {
    Rules R;
    auto narrow_widen = R.rule("narrow_widen", "(cast (cast ?x bf16) f32)", "?x",
                               eq(query("dtype", {var("x")}), S::string("f32")));
    Z3Verdict v = check(narrow_widen, R.ops);
    CHECK(v.status == Z3Status::Proved);
    REQUIRE(!v.instances.empty());
    CHECK(v.instances[0].instance.tensors.at("x").dtype == ops::DType::F32);
  }

  TEST_CASE("bad.rules: matmul_comm is refuted; the counterexample distinguishes the sides exactly") {
    Rules R;
    auto r = R.rule("matmul_comm", "(matmul ?a ?b)", "(matmul ?b ?a)",
                    S::and_(eq(query("shape", {var("a")}), query("shape", {var("b")})),
                            eq(query("dim", {var("a"), num(-1)}), query("dim", {var("a"), num(-2)}))));
    Z3Verdict v = check(r, R.ops);
    REQUIRE(v.status == Z3Status::Refuted);
    REQUIRE(v.counterexample);
    CHECK_FALSE(v.numeric_confirmation);
    const auto& c = *v.counterexample;
    auto a = exact(c.inputs.at("a")), b = exact(c.inputs.at("b"));
    auto shape = c.inputs.at("a").shape;
    CHECK(shape == c.inputs.at("b").shape);
    auto ab = exact_matmul(a, shape, b, shape), ba = exact_matmul(b, shape, a, shape);
    CHECK(ab != ba);
    CHECK(exact(c.lhs) == ab);
    CHECK(exact(c.rhs) == ba);
    CHECK(c.to_string().find("?a = [[") != std::string::npos);
  }

  TEST_CASE("mutant matmul(?a, ?b) => matmul(?b, ?a) without a guard is refuted") {
    Rules R;
    Z3Verdict v = check(R.rule("matmul_swap_mutant", "(matmul ?a ?b)", "(matmul ?b ?a)"), R.ops);
    REQUIRE(v.status == Z3Status::Refuted);
    REQUIRE(v.counterexample);
    const auto& c = *v.counterexample;
    if (c.lhs.shape == c.rhs.shape && c.lhs.shape.size() == 2) {
      // Same shapes: the values must differ, checked exactly.
      auto a = exact(c.inputs.at("a")), b = exact(c.inputs.at("b"));
      CHECK(exact_matmul(a, c.inputs.at("a").shape, b, c.inputs.at("b").shape) !=
            exact_matmul(b, c.inputs.at("b").shape, a, c.inputs.at("a").shape));
    } else {
      // Non-square operands: the swapped product has another shape, or does not type at all.
      CHECK((c.note.find("shapes differ") != std::string::npos ||
             c.note.find("does not type") != std::string::npos));
    }
  }

  TEST_CASE("bad.rules: cat_swap and row_parallel_wrong_split are refuted exactly") {
    Rules R;
    auto cat_swap = R.rule("cat_swap", "(cat (list ?a ?b) -1)", "(cat (list ?b ?a) -1)");
    auto wrong = R.rule(
        "row_parallel_wrong_split",
        "(add (linear (slice ?x -1 0 ?k) (slice ?w 1 0 ?k)) (linear (slice ?x -1 ?k ?n) (slice ?w 1 0 ?k)))",
        "(linear ?x ?w)",
        all({eq(query("dim", {var("x"), num(-1)}), var("n")), eq(query("dim", {var("w"), num(1)}), var("n")),
             eq(var("n"), S::arith_op(S::ArithOp::Mul, num(2), var("k")))}));
    for (const auto* r : {&cat_swap, &wrong}) {
      Z3Verdict v = check(*r, R.ops);
      CHECK_MESSAGE(v.status == Z3Status::Refuted, r->name << ": " << v.reason);
      REQUIRE(v.counterexample);
      CHECK_FALSE(v.numeric_confirmation);
      // Exact values on both sides, and they differ somewhere.
      CHECK(exact(v.counterexample->lhs) != exact(v.counterexample->rhs));
    }
  }

  TEST_CASE("bad.rules: softmax_scale and gelu_tanh_is_erf: Z3 models confirmed by evaluation, or unknown") {
    // Both rules use uninterpreted functions (exp; tanh and erf), so a model of the
    // abstraction can be spurious. check_rule_z3 only reports Refuted when evaluating both
    // sides with the real functions on the model's inputs shows a clear difference.
    Rules R;
    auto softmax_scale = R.rule("softmax_scale", "(softmax (mul ?x 2) -1)", "(softmax ?x -1)");
    auto gelu = R.rule("gelu_tanh_is_erf", "(gelu ?x \"tanh\")", "(gelu ?x \"none\")");
    Z3Verdict v1 = check(softmax_scale, R.ops);
    CHECK(v1.status == Z3Status::Refuted);
    CHECK(v1.numeric_confirmation);
    CHECK(v1.uninterpreted == std::vector<std::string>{"exp"});
    Z3Verdict v2 = check(gelu, R.ops);
    // Unknown would be acceptable for gelu_tanh_is_erf (the random tester refutes it); the
    // confirmation by evaluation finds it in practice.
    CHECK((v2.status == Z3Status::Refuted || v2.status == Z3Status::Unknown));
    CHECK(v2.status != Z3Status::Proved);
    if (v2.status == Z3Status::Refuted) {
      CHECK(v2.numeric_confirmation);
      REQUIRE(v2.counterexample);
      const auto& c = *v2.counterexample;
      bool differs = false;
      for (std::size_t i = 0; i < c.lhs.approx.size(); ++i)
        differs = differs || std::fabs(static_cast<double>(c.lhs.approx[i] - c.rhs.approx[i])) > 1e-9;
      CHECK(differs);
    }
  }

  TEST_CASE("ops without an encoding are reported, not guessed") {
    Rules R;
    Z3Verdict v = check(R.rule("embedding_id", "(embedding ?w ?i)", "(embedding ?w ?i)"), R.ops);
    CHECK(v.status == Z3Status::NotEncodable);
    CHECK(v.not_encodable == std::vector<std::string>{"embedding"});
    Z3Verdict u = check(R.rule("mystery", "(frobnicate ?x)", "?x"), R.ops);
    CHECK(u.status == Z3Status::NotEncodable);
  }

  TEST_CASE("guards, domains and shape changes") {
    Rules R;
    // Division needs its divisor non-zero: with the guard it holds, without it the rhs may be
    // undefined where the lhs is not.
    // (A scalar right side needs a scalar left side: see the shape changes below.)
    Z3Verdict div_self = check(R.rule("div_self", "(div ?a ?a)", "1",
                                      S::and_(S::compare_op(S::CompareOp::Ne, var("a"), num(0)),
                                              eq(query("rank", {var("a")}), num(0)))),
                               R.ops);
    CHECK(div_self.status == Z3Status::Proved);
    Z3Verdict undefined = check(R.rule("mul_div", "?a", "(div (mul ?a ?b) ?b)",
                                       eq(query("shape", {var("a")}), query("shape", {var("b")}))),
                                R.ops);
    CHECK(undefined.status == Z3Status::Refuted);
    // A rewrite never changes a term's shape, even where the values would broadcast: a
    // scalar right side is wrong for a tensor left side, right only for a scalar one.
    CHECK(check(R.rule("mul_zero", "(mul ?a 0)", "0"), R.ops).status == Z3Status::Refuted);
    CHECK(check(R.rule("sub_self", "(sub ?a ?a)", "0"), R.ops).status == Z3Status::Refuted);
    CHECK(check(R.rule("sub_self_scalar", "(sub ?a ?a)", "0", eq(query("rank", {var("a")}), num(0))), R.ops).status ==
          Z3Status::Proved);
    // Layout: split + getitem and cat are inverse.
    CHECK(check(R.rule("split_cat", "(cat (list (getitem (split ?x 2 -1) 0) (getitem (split ?x 2 -1) 1)) -1)", "?x",
                       eq(query("dim", {var("x"), num(-1)}), num(4))),
                R.ops)
              .status == Z3Status::Proved);
    // where with a symbolic boolean mask.
    CHECK(check(R.rule("where_same", "(where ?c ?a ?a)", "?a",
                       eq(query("shape", {var("c")}), query("shape", {var("a")}))),
                R.ops)
              .status == Z3Status::Proved);
    Z3Verdict where_swap = check(R.rule("where_swap", "(where ?c ?a ?b)", "(where ?c ?b ?a)"), R.ops);
    CHECK(where_swap.status == Z3Status::Refuted);
    // sum over the last dim of a cat is the sum of the sums... as a mutant with the wrong dim.
    CHECK(check(R.rule("exp_add", "(exp (add ?a ?b))", "(mul (exp ?a) (exp ?b))"), R.ops).status ==
          Z3Status::Proved);
  }

  TEST_CASE("a verdict computed in the child process is the verdict computed here") {
    // check_rule_z3 runs in a child process (Z3Options::wall_seconds > 0, the default); the
    // verdict crosses the boundary as text, exact rationals and long doubles included.
    Rules R;
    auto comm = R.rule("matmul_comm", "(matmul ?a ?b)", "(matmul ?b ?a)",
                       S::and_(eq(query("shape", {var("a")}), query("shape", {var("b")})),
                               eq(query("dim", {var("a"), num(-1)}), query("dim", {var("a"), num(-2)}))));
    auto scale = R.rule("softmax_scale", "(softmax (mul ?x 2) -1)", "(softmax ?x -1)");
    auto proved = R.rule("matmul_transpose", "(transpose (matmul ?a ?b) -2 -1)",
                         "(matmul (transpose ?b -2 -1) (transpose ?a -2 -1))");
    Z3Options here;
    here.wall_seconds = 0;
    for (const auto* r : {&comm, &scale, &proved}) {
      Z3Verdict a = check_rule_z3(*r, R.ops, here), b = check_rule_z3(*r, R.ops);
      CHECK(a.status == b.status);
      CHECK(a.reason == b.reason);
      CHECK(a.uninterpreted == b.uninterpreted);
      CHECK(a.numeric_confirmation == b.numeric_confirmation);
      REQUIRE(a.instances.size() == b.instances.size());
      for (std::size_t i = 0; i < a.instances.size(); ++i) {
        CHECK(a.instances[i].instance.to_string() == b.instances[i].instance.to_string());
        CHECK(a.instances[i].result == b.instances[i].result);
      }
      REQUIRE(a.counterexample.has_value() == b.counterexample.has_value());
      if (!a.counterexample) continue;
      CHECK(a.counterexample->to_string() == b.counterexample->to_string());
      for (const auto& [name, t] : a.counterexample->inputs) {
        const auto& u = b.counterexample->inputs.at(name);
        CHECK(t.shape == u.shape);
        CHECK(t.exact == u.exact);
        CHECK(t.approx == u.approx);  // bit for bit
      }
      CHECK(a.counterexample->lhs.approx == b.counterexample->lhs.approx);
      CHECK(a.counterexample->rhs.approx == b.counterexample->rhs.approx);
    }
  }

  TEST_CASE("a check over its wall-clock limit is stopped and unknown, never proved") {
    Rules R;
    auto proved = R.rule("matmul_transpose", "(transpose (matmul ?a ?b) -2 -1)",
                         "(matmul (transpose ?b -2 -1) (transpose ?a -2 -1))");
    Z3Options tight;
    tight.wall_seconds = 0.02;  // far less than the search and the checks take
    auto start = std::chrono::steady_clock::now();
    Z3Verdict v = check_rule_z3(proved, R.ops, tight);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(v.status == Z3Status::Unknown);
    CHECK(v.reason.find("no answer within") != std::string::npos);
    CHECK(seconds < 2);
    CHECK(check_rule_z3(proved, R.ops).status == Z3Status::Proved);
  }

  TEST_CASE("run_isolated: an answer, a computation that never ends, one that throws, one that dies") {
    IsolatedResult done = run_isolated([] { return std::string("forty-two"); }, 10);
    CHECK(done.status == IsolatedResult::Status::Done);
    CHECK(done.output == "forty-two");
    auto start = std::chrono::steady_clock::now();
    IsolatedResult spin = run_isolated(
        [] {
          volatile unsigned long n = 0;
          for (;;) n = n + 1;  // ignores everything, like Z3 in its nonlinear arithmetic
          return std::string();
        },
        0.3);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(spin.status == IsolatedResult::Status::TimedOut);
    CHECK(seconds < 2);
    IsolatedResult thrown = run_isolated([]() -> std::string { throw std::runtime_error("no model"); }, 10);
    CHECK(thrown.status == IsolatedResult::Status::Failed);
    CHECK(thrown.why == "no model");
    IsolatedResult died = run_isolated([]() -> std::string {
      std::raise(SIGKILL);  // as the kernel's OOM killer would (no core file)
      return std::string();
    }, 10);
    CHECK(died.status == IsolatedResult::Status::Failed);
    CHECK(died.why.find("signal") != std::string::npos);
  }

  TEST_CASE("ranks the guard fixes are searched first: four rank-4 tensors get instances") {
    // Without reading `rank(?a) == 4` the search would try every smaller rank tuple of four
    // tensors first and stop at its bound before reaching this one.
    Rules R;
    auto r = R.rule("sum_regrouped", "(add (add ?a ?b) (add ?c ?e))", "(add (add ?a ?c) (add ?b ?e))",
                    all({eq(query("rank", {var("a")}), num(4)), eq(query("shape", {var("a")}), query("shape", {var("b")})),
                         eq(query("shape", {var("b")}), query("shape", {var("c")})),
                         eq(query("shape", {var("c")}), query("shape", {var("e")}))}));
    auto found = find_instances(r, R.ops);
    REQUIRE_FALSE(found.empty());
    for (const auto& instance : found)
      for (const auto& [name, type] : instance.tensors) CHECK(type.shape.size() == 4);
    CHECK(check(r, R.ops).status == Z3Status::Proved);
  }

  TEST_CASE("instances are deterministic") {
    Rules R;
    auto r = R.rule("matmul_transpose", "(transpose (matmul ?a ?b) -2 -1)",
                    "(matmul (transpose ?b -2 -1) (transpose ?a -2 -1))");
    auto a = find_instances(r, R.ops), b = find_instances(r, R.ops);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i].to_string() == b[i].to_string());
  }
}

TEST_CASE("a large counterexample tensor prints its first 64 elements, then ...") {
  ConcreteTensor small{{2, 2}, {}, {}, {"1", "0", "2", "1"}};
  CHECK(small.to_string() == "[[1, 0], [2, 1]]");
  ConcreteTensor large;
  large.shape = {10, 10};
  for (int i = 0; i < 100; ++i) large.text.push_back(std::to_string(i));
  const std::string text = large.to_string();
  CHECK(text.find("63") != std::string::npos);
  CHECK(text.find("64") == std::string::npos);
  CHECK(text.find("...") != std::string::npos);
  CHECK(text.size() < 400);
}
