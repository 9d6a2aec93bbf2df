// The e-matching VM: compiled patterns find exactly the matches a naive matcher finds.
#include "egraph/machine.h"
#include "egraph/pattern_compiler.h"
#include "egraph/egg_math_workload.h"
#include "egraph/runner.h"
#include "egraph/sexpr.h"

#include "egraph_support.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>

using namespace twin::egraph;

namespace {
using Binding = std::map<std::string, EClassId>;

// The oracle: a tree-walking matcher that tries every node of every class.
std::vector<Binding> naive_match(EGraph& g, const Pattern& p, EClassId cls, Binding b) {
  cls = g.find(cls);
  if (p.is_var()) {
    auto it = b.find(p.var);
    if (it != b.end()) return g.find(it->second) == cls ? std::vector<Binding>{b} : std::vector<Binding>{};
    b[p.var] = cls;
    return {b};
  }
  std::vector<Binding> out;
  for (const ENode& n : g.class_nodes(cls)) {
    if (n.op != p.op || n.children.size() != p.children.size()) continue;
    std::vector<Binding> partial{b};
    for (std::size_t k = 0; k < n.children.size(); ++k) {
      std::vector<Binding> next;
      for (const Binding& pb : partial)
        for (Binding& r : naive_match(g, p.children[k], n.children[k], pb)) next.push_back(std::move(r));
      partial = std::move(next);
    }
    for (Binding& r : partial) out.push_back(std::move(r));
  }
  return out;
}

std::set<std::pair<EClassId, Binding>> vm_matches(EGraph& g, const Pattern& p, const OpTable& ops) {
  MatchProgram program = compile(p, ops);
  MatchSet m = search(program, g);
  std::set<std::pair<EClassId, Binding>> out;
  for (std::size_t k = 0; k < m.size(); ++k) {
    Binding b;
    for (std::size_t v = 0; v < program.variables.size(); ++v) b[program.variables[v]] = m.subst(k)[v];
    out.emplace(m.roots[k], b);
  }
  return out;
}

std::set<std::pair<EClassId, Binding>> oracle_matches(EGraph& g, const Pattern& p) {
  std::set<std::pair<EClassId, Binding>> out;
  for (EClassId c : g.class_ids())
    for (Binding& b : naive_match(g, p, c, {})) out.emplace(c, b);
  return out;
}
}  // namespace

TEST_CASE("the VM finds the same substitutions as a naive matcher on random e-graphs") {
  const char* patterns[] = {
      "?a",
      "(f ?a)",
      "(h ?a ?b)",
      "(h ?a ?a)",
      "(h (f ?a) ?b)",
      "(h ?a (f ?a))",
      "(f (f ?x))",
      "(h (h ?a ?b) (h ?b ?a))",
      "(h a ?x)",
      "(h ?x (f a))",
      "(f (h ?x ?x))",
      "(h (f ?a) (f (f ?a)))",
  };
  for (unsigned seed = 1; seed <= 25; ++seed) {
    std::mt19937 rng(seed);
    auto ops = std::make_shared<OpTable>();
    OpId leaves[2] = {ops->intern_symbol("a"), ops->intern_symbol("b")};
    OpId f = ops->intern_apply("f", 1), h = ops->intern_apply("h", 2);
    EGraph g(ops, false);
    std::vector<EClassId> ids = testing::add_random_terms(g, rng, {leaves[0], leaves[1]}, f, h, 30);
    for (int u = 0; u < 5; ++u) g.union_classes(ids[rng() % ids.size()], ids[rng() % ids.size()]);
    g.rebuild();
    for (const char* text : patterns) {
      Pattern p = parse_pattern(text, *ops);
      REQUIRE_MESSAGE(vm_matches(g, p, *ops) == oracle_matches(g, p), "seed " << seed << " pattern " << text);
    }
  }
}

TEST_CASE("a bare variable pattern matches every class") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  g.add_expr(parse_term("(add x (mul y 2))", *ops));
  g.rebuild();
  MatchSet m = search(compile(parse_pattern("?a", *ops), *ops), g);
  CHECK(m.size() == g.num_classes());
}

TEST_CASE("the compiler emits scan, bind, compare and lookup") {
  auto ops = std::make_shared<OpTable>();
  MatchProgram p = compile(parse_pattern("(add ?a (mul ?b ?a))", *ops), *ops);
  std::string text = disassemble(p);
  CHECK(text.find("scan") != std::string::npos);
  CHECK(text.find("bind     r0 add/2 -> r1 r2") != std::string::npos);
  CHECK(text.find("compare  r4 == r1") != std::string::npos);  // ?a seen twice
  // (neg ?a) is ground once ?a is bound: a lookup, not a search.
  std::string ground = disassemble(compile(parse_pattern("(add ?a (neg ?a))", *ops), *ops));
  CHECK(ground.find("lookup   r2 == (neg r1)") != std::string::npos);
  CHECK(p.instructions.front().kind == Instruction::Kind::Scan);
  // One instruction per line plus a header and the yield line.
  CHECK(std::count(text.begin(), text.end(), '\n') == static_cast<long>(p.instructions.size()) + 2);
}

TEST_CASE("a ground subterm is answered by a hash-cons lookup") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  g.add_expr(parse_term("(mul x (div 1 x))", *ops));
  g.add_expr(parse_term("(mul y (div 1 x))", *ops));
  g.rebuild();
  MatchProgram p = compile(parse_pattern("(mul ?x (div 1 ?x))", *ops), *ops);
  MatchSet m = search(p, g);
  CHECK(m.size() == 1);
}

TEST_CASE("search stops at the match limit and the filter drops matches") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  for (const char* t : {"(f a)", "(f b)", "(f c)"}) g.add_expr(parse_term(t, *ops));
  g.rebuild();
  MatchProgram p = compile(parse_pattern("(f ?x)", *ops), *ops);
  CHECK(search(p, g, 2).size() == 2);
  EClassId a = *g.lookup_expr(parse_term("a", *ops));
  MatchSet m = search(p, g, SIZE_MAX, [&](EClassId, std::span<const EClassId> s) { return s[0] != g.find(a); });
  CHECK(m.size() == 2);
}

TEST_CASE("searching a ruleset's programs together finds what each finds alone") {
  auto ops = std::make_shared<OpTable>();
  EGraph g = egg_math::make_egraph(ops);
  for (const std::string& e : egg_math::bench_expressions()) g.add_expr(parse_term(e, *ops));
  run(g, egg_math::rules(*ops), RunLimits{4, 1'000'000, 60.0}, SchedulerKind::Simple);
  std::vector<MatchProgram> programs;
  for (const Rewrite& r : egg_math::rules(*ops)) programs.push_back(compile(r.lhs, *ops));
  for (const std::string& p : egg_math::bench_extra_patterns()) programs.push_back(compile(parse_pattern(p, *ops), *ops));
  std::vector<const MatchProgram*> pointers;
  for (const MatchProgram& p : programs) pointers.push_back(&p);
  ProgramSet set(pointers);
  CHECK(set.trie_instructions() < set.total_instructions());  // prefixes are shared
  for (std::size_t cap : {std::size_t(SIZE_MAX), std::size_t(7)}) {
    std::vector<std::size_t> limits(programs.size(), cap);
    limits[3] = 0;  // a skipped program
    std::vector<MatchSet> together = search_all(set, g, limits);
    for (std::size_t k = 0; k < programs.size(); ++k) {
      MatchSet alone = search(programs[k], g, limits[k]);
      CHECK_MESSAGE(together[k].roots == alone.roots, programs[k].source);
      CHECK_MESSAGE(together[k].bindings == alone.bindings, programs[k].source);
    }
  }
}
