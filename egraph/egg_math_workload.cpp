#include "egraph/egg_math_workload.h"

#include "egraph/sexpr.h"

#include <stdexcept>

namespace twin::egraph::egg_math {

const std::vector<RuleText>& rule_texts() {
  static const std::vector<RuleText> texts = {
      {"comm-add", "(add ?a ?b)", "(add ?b ?a)", ""},
      {"comm-mul", "(mul ?a ?b)", "(mul ?b ?a)", ""},
      {"assoc-add", "(add ?a (add ?b ?c))", "(add (add ?a ?b) ?c)", ""},
      {"assoc-mul", "(mul ?a (mul ?b ?c))", "(mul (mul ?a ?b) ?c)", ""},
      {"sub-canon", "(sub ?a ?b)", "(add ?a (mul -1 ?b))", ""},
      {"div-canon", "(div ?a ?b)", "(mul ?a (pow ?b -1))", "?b != 0"},
      {"zero-add", "(add ?a 0)", "?a", ""},
      {"zero-mul", "(mul ?a 0)", "0", ""},
      {"one-mul", "(mul ?a 1)", "?a", ""},
      {"add-zero", "?a", "(add ?a 0)", ""},
      {"mul-one", "?a", "(mul ?a 1)", ""},
      {"cancel-sub", "(sub ?a ?a)", "0", ""},
      {"cancel-div", "(div ?a ?a)", "1", "?a != 0"},
      {"distribute", "(mul ?a (add ?b ?c))", "(add (mul ?a ?b) (mul ?a ?c))", ""},
      {"factor", "(add (mul ?a ?b) (mul ?a ?c))", "(mul ?a (add ?b ?c))", ""},
      {"pow-mul", "(mul (pow ?a ?b) (pow ?a ?c))", "(pow ?a (add ?b ?c))", ""},
      {"pow0", "(pow ?x 0)", "1", "?x != 0"},
      {"pow1", "(pow ?x 1)", "?x", ""},
      {"pow2", "(pow ?x 2)", "(mul ?x ?x)", ""},
      {"pow-recip", "(pow ?x -1)", "(div 1 ?x)", "?x != 0"},
      {"recip-mul-div", "(mul ?x (div 1 ?x))", "1", "?x != 0"},
      {"d-variable", "(d ?x ?x)", "1", "is_sym(?x)"},
      {"d-constant", "(d ?x ?c)", "0", "is_sym(?x) and ?c != ?x and (is_const(?c) or is_sym(?c))"},
      {"d-add", "(d ?x (add ?a ?b))", "(add (d ?x ?a) (d ?x ?b))", ""},
      {"d-mul", "(d ?x (mul ?a ?b))", "(add (mul ?a (d ?x ?b)) (mul ?b (d ?x ?a)))", ""},
      {"d-sin", "(d ?x (sin ?x))", "(cos ?x)", ""},
      {"d-cos", "(d ?x (cos ?x))", "(mul -1 (sin ?x))", ""},
      {"d-ln", "(d ?x (ln ?x))", "(div 1 ?x)", "?x != 0"},
      {"d-power", "(d ?x (pow ?f ?g))",
       "(mul (pow ?f ?g) (add (mul (d ?x ?f) (div ?g ?f)) (mul (d ?x ?g) (ln ?f))))", "?f != 0 and ?g != 0"},
      {"i-one", "(i 1 ?x)", "?x", ""},
      {"i-power-const", "(i (pow ?x ?c) ?x)", "(div (pow ?x (add ?c 1)) (add ?c 1))", "is_const(?c)"},
      {"i-cos", "(i (cos ?x) ?x)", "(sin ?x)", ""},
      {"i-sin", "(i (sin ?x) ?x)", "(mul -1 (cos ?x))", ""},
      {"i-sum", "(i (add ?f ?g) ?x)", "(add (i ?f ?x) (i ?g ?x))", ""},
      {"i-dif", "(i (sub ?f ?g) ?x)", "(sub (i ?f ?x) (i ?g ?x))", ""},
      {"i-parts", "(i (mul ?a ?b) ?x)", "(sub (mul ?a (i ?b ?x)) (i (mul (d ?x ?a) (i ?b ?x)) ?x))", ""},
  };
  return texts;
}

namespace {
using S = ScalarExpr;
S var(const char* v) { return S::var(v); }
S not_zero(const char* v) { return S::compare_op(S::CompareOp::Ne, var(v), S::constant(0)); }
S query(const char* q, const char* v) { return S::query(q, {var(v)}); }

// The IR of each guard text above (the interpreter produces the same from the text).
std::optional<ScalarExpr> guard_of(const std::string& name) {
  if (name == "div-canon") return not_zero("b");
  if (name == "cancel-div") return not_zero("a");
  if (name == "pow0" || name == "pow-recip" || name == "recip-mul-div" || name == "d-ln") return not_zero("x");
  if (name == "d-variable") return query("is_sym", "x");
  if (name == "d-constant")
    return S::and_(query("is_sym", "x"),
                   S::and_(S::compare_op(S::CompareOp::Ne, var("c"), var("x")),
                           S::or_(query("is_const", "c"), query("is_sym", "c"))));
  if (name == "d-power") return S::and_(not_zero("f"), not_zero("g"));
  if (name == "i-power-const") return query("is_const", "c");
  return std::nullopt;
}
}  // namespace

std::vector<Rewrite> rules(OpTable& ops) {
  std::vector<Rewrite> out;
  for (const RuleText& t : rule_texts())
    out.push_back(Rewrite{t.name, parse_pattern(t.lhs, ops), parse_pattern(t.rhs, ops), guard_of(t.name), false});
  return out;
}

std::vector<Rewrite> rules(OpTable& ops, const std::vector<std::string>& names) {
  std::vector<Rewrite> all = rules(ops), out;
  for (const std::string& n : names) {
    bool found = false;
    for (const Rewrite& r : all)
      if (r.name == n) {
        out.push_back(r);
        found = true;
      }
    if (!found) throw std::invalid_argument("no egg math rule named " + n);
  }
  return out;
}

ConstantFolding::Options folding_options() {
  ConstantFolding::Options o;
  o.ops = {{"add", ConstantFolding::Fold::Add},
           {"sub", ConstantFolding::Fold::Sub},
           {"mul", ConstantFolding::Fold::Mul},
           {"div", ConstantFolding::Fold::Div}};
  o.prune = true;
  return o;
}

EGraph make_egraph(std::shared_ptr<OpTable> ops, bool explanations) {
  EGraph g(std::move(ops), false);
  g.add_analysis(std::make_unique<ConstantFolding>(folding_options()));
  if (explanations) g.enable_explanations();
  return g;
}

const std::vector<std::string>& bench_expressions() {
  static const std::vector<std::string> exprs = {
      "(i (ln x) x)",
      "(i (add x (cos x)) x)",
      "(i (mul (cos x) x) x)",
      "(d x (add 1 (mul 2 x)))",
      "(d x (sub (pow x 3) (mul 7 (pow x 2))))",
      "(add (mul y (add x y)) (sub (add x 2) (add x x)))",
      "(div 1 (sub (div (add 1 (sqrt five)) 2) (div (sub 1 (sqrt five)) 2)))",
  };
  return exprs;
}

const std::vector<std::string>& bench_extra_patterns() {
  static const std::vector<std::string> patterns = {
      "(add ?a (add ?b ?c))", "(add (add ?a ?b) ?c)", "(mul ?a (mul ?b ?c))", "(mul (mul ?a ?b) ?c)",
      "(add ?a (mul -1 ?b))", "(mul ?a (pow ?b -1))", "(mul ?a (add ?b ?c))", "(pow ?a (add ?b ?c))",
      "(add (mul ?a ?b) (mul ?a ?c))", "(mul (pow ?a ?b) (pow ?a ?c))", "(mul ?x (div 1 ?x))",
      "(d ?x (add ?a ?b))", "(add (d ?x ?a) (d ?x ?b))", "(d ?x (mul ?a ?b))",
      "(add (mul ?a (d ?x ?b)) (mul ?b (d ?x ?a)))", "(d ?x (sin ?x))", "(d ?x (cos ?x))", "(mul -1 (sin ?x))",
      "(mul -1 (cos ?x))", "(i (cos ?x) ?x)", "(i (sin ?x) ?x)", "(d ?x (ln ?x))", "(d ?x (pow ?f ?g))",
      "(mul (pow ?f ?g) (add (mul (d ?x ?f) (div ?g ?f)) (mul (d ?x ?g) (ln ?f))))", "(i (pow ?x ?c) ?x)",
      "(div (pow ?x (add ?c 1)) (add ?c 1))", "(i (add ?f ?g) ?x)", "(i (sub ?f ?g) ?x)",
      "(add (i ?f ?x) (i ?g ?x))", "(sub (i ?f ?x) (i ?g ?x))", "(i (mul ?a ?b) ?x)",
      "(sub (mul ?a (i ?b ?x)) (i (mul (d ?x ?a) (i ?b ?x)) ?x))",
  };
  return patterns;
}

const std::vector<Goal>& goals() {
  static const std::vector<Goal> all = [] {
    std::vector<Goal> g = {
        {"math_simplify_add", "(add x (add x (add x x)))", "(mul 4 x)", 10'000, 30, 5.0, {}},
        {"math_powers", "(mul (pow 2 x) (pow 2 y))", "(pow 2 (add x y))", 10'000, 30, 5.0, {}},
        {"math_simplify_const", "(add 1 (sub a (mul (sub 2 1) a)))", "1", 10'000, 30, 5.0, {}},
        {"math_simplify_root", "(div 1 (sub (div (add 1 (sqrt five)) 2) (div (sub 1 (sqrt five)) 2)))",
         "(div 1 (sqrt five))", 75'000, 30, 5.0, {}},
        {"math_simplify_factor", "(mul (add x 3) (add x 1))", "(add (add (mul x x) (mul 4 x)) 3)", 10'000, 30, 5.0, {}},
        {"math_diff_same", "(d x x)", "1", 10'000, 30, 5.0, {}},
        {"math_diff_different", "(d x y)", "0", 10'000, 30, 5.0, {}},
        {"math_diff_simple1", "(d x (add 1 (mul 2 x)))", "2", 10'000, 30, 5.0, {}},
        {"math_diff_simple2", "(d x (add 1 (mul y x)))", "y", 10'000, 30, 5.0, {}},
        {"math_diff_ln", "(d x (ln x))", "(div 1 x)", 10'000, 30, 5.0, {}},
        {"diff_power_simple", "(d x (pow x 3))", "(mul 3 (pow x 2))", 10'000, 30, 5.0, {}},
        {"integ_one", "(i 1 x)", "x", 10'000, 30, 5.0, {}},
        {"integ_sin", "(i (cos x) x)", "(sin x)", 10'000, 30, 5.0, {}},
        {"integ_x", "(i (pow x 1) x)", "(div (pow x 2) 2)", 10'000, 30, 5.0, {}},
        {"integ_part1", "(i (mul x (cos x)) x)", "(add (mul x (sin x)) (cos x))", 10'000, 30, 5.0, {}},
        {"integ_part2", "(i (mul (cos x) x) x)", "(add (mul x (sin x)) (cos x))", 10'000, 30, 5.0, {}},
        {"integ_part3", "(i (ln x) x)", "(sub (mul x (ln x)) x)", 10'000, 30, 5.0, {}},
    };
    Goal harder{"diff_power_harder", "(d x (sub (pow x 3) (mul 7 (pow x 2))))", "(mul x (sub (mul 3 x) 14))",
                100'000, 60, 10.0, {"(mul x (sub (mul 3 x) 14))"}};
    g.push_back(harder);
    return g;
  }();
  return all;
}

}  // namespace twin::egraph::egg_math
