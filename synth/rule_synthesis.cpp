#include "synth/rule_synthesis.h"

#include "ops/shape_analysis.h"
#include "synth/bounded_terms.h"
#include "util/error.h"
#include "compiler/term_printer.h"

#include <cstdio>
#include <cstdlib>

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace twin::synth {

namespace eg = twin::egraph;
using SE = egraph::ScalarExpr;

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::Validated: return "validated";
    case Outcome::Refuted: return "refuted";
    case Outcome::Unknown: return "unknown";
    case Outcome::NoRule: return "no rule";
  }
  return "no rule";
}

Synthesizer::Synthesizer(eg::EGraph& graph, compiler::RuleCompiler& compiler, verify::CachedVerifier& verifier,
                         SynthesisLimits limits)
    : graph_(graph), compiler_(compiler), verifier_(verifier), limits_(limits) {}

namespace {

// Replaces EClass leaves by the pattern variables `names` gives them.
TermPtr with_variables(const TermPtr& t, const std::map<eg::EClassId, std::string>& names) {
  if (t->kind == TermKind::EClass) {
    auto v = std::make_shared<Term>();
    v->kind = TermKind::Var;
    v->name = names.at(t->eclass);
    return v;
  }
  if (t->operands.empty() && t->attributes.empty()) return t;
  auto c = std::make_shared<Term>(*t);
  for (auto& o : c->operands) o = with_variables(o, names);
  for (auto& [n, a] : c->attributes) a = with_variables(a, names);
  return c;
}

std::string root_name(const Term& t) {
  if (t.kind == TermKind::Apply) return t.name;
  if (t.kind == TermKind::List) return "list";
  return "value";
}

}  // namespace

SynthesisResult Synthesizer::synthesize(const Candidate& candidate, const std::function<bool(eg::EClassId)>& frontier,
                                        std::size_t number, const std::function<bool(eg::EClassId)>& constant) {
  // Attempts, in order, until one validates (the first attempt's result is reported if none):
  //   1. the smallest terms over every class both sides reach;
  //   2. a rule over a constant's class as one variable holds only if the constant's values
  //      make it hold (a RoPE table whose two halves are equal), so it is refuted: constants
  //      as large as the refuted rule's may no longer be leaves, and are spelled through
  //      smaller ones (`cat([?h, ?h])`) where the e-graph knows how;
  //   3. the leaves are only the shared classes no other shared class spells (`x`, not
  //      `x[..., :8]` and `x[..., 8:]`): the two sides then meet at their common sources.
  const auto* shapes = graph_.analysis<ops::ShapeAnalysis>();
  auto elements = [&](eg::EClassId c) -> std::int64_t {
    auto type = shapes ? shapes->type_of(graph_, c) : std::nullopt;
    return type ? type->numel() : 0;
  };
  std::int64_t limit = std::numeric_limits<std::int64_t>::max();
  SynthesisResult first_try;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto allowed = [&](eg::EClassId c) { return frontier(c) && !(constant && constant(c) && elements(c) >= limit); };
    SynthesisResult r = attempt_rule(candidate, allowed, attempt == 2 ? constant : nullptr, attempt == 2, number);
    if (std::getenv("TWIN_SYNTH_DEBUG"))
      std::fprintf(stderr, "  attempt %d: %s %s => %s %s\n", attempt, outcome_name(r.outcome),
                   r.source ? print_term(*r.source->lhs).c_str() : "", r.source ? print_term(*r.source->rhs).c_str() : "",
                   r.why.c_str());
    if (attempt == 0) first_try = r;
    if (r.outcome == Outcome::Validated) return r;
    if (attempt == 0 && constant)
      for (eg::EClassId v : r.variables)
        if (constant(v) && elements(v) > 1) limit = std::min(limit, elements(v));
    if (attempt == 0 && limit == std::numeric_limits<std::int64_t>::max()) ++attempt;  // nothing new to try in 2
  }
  return first_try;
}

SynthesisResult Synthesizer::attempt_rule(const Candidate& candidate, const std::function<bool(eg::EClassId)>& frontier,
                                          const std::function<bool(eg::EClassId)>& constant, bool atomic_leaves,
                                          std::size_t number) {
  SynthesisResult result;
  eg::EClassId port = graph_.find(candidate.port), reference = graph_.find(candidate.reference);
  // 1-2. The two sides over a common frontier: the classes both computations reach (where
  // they meet) that the caller shares with the reference.
  // A leaf becomes a variable pinned to a tensor type: a list is spelled out, never a leaf.
  const auto* shape_analysis = graph_.analysis<ops::ShapeAnalysis>();
  auto tensor_class = [&](eg::EClassId c) { return shape_analysis && shape_analysis->type_of(graph_, c).has_value(); };
  std::set<eg::EClassId> common;
  // Frontier classes either side reaches: a side may also stop at a value the other never
  // reads, when the other is spelled over a subset of its leaves (a slice of a concatenation
  // is its one part; the other parts are variables of the left side only).
  std::set<eg::EClassId> reached;
  {
    auto below_port = classes_below(graph_, port, limits_.max_depth);
    auto below_reference = classes_below(graph_, reference, limits_.max_depth);
    std::set<eg::EClassId> port_reach(below_port.begin(), below_port.end());
    port_reach.insert(port);
    below_reference.push_back(reference);
    // A side may also read the other's value itself (the port's term holds the reference's).
    // A leaf must be a tensor the caller shares (or one of the two sides' own classes).
    auto leaf_class = [&](eg::EClassId c) {
      return (frontier(c) || c == port || c == reference) && !literal_class(graph_, c) && tensor_class(c);
    };
    for (eg::EClassId c : below_reference)
      if (port_reach.count(c) && leaf_class(c)) common.insert(c);
    for (const auto* side : {&below_port, &below_reference})
      for (eg::EClassId c : *side)
        if (leaf_class(c)) reached.insert(c);
  }
  if (atomic_leaves) {
    // Larger (then later) classes first: a table and its halves spell each other, and the
    // one kept is the smaller.
    std::vector<eg::EClassId> order(common.begin(), common.end());
    auto numel = [&](eg::EClassId c) { return shape_analysis->type_of(graph_, c)->numel(); };
    std::sort(order.begin(), order.end(), [&](eg::EClassId x, eg::EClassId y) {
      return numel(x) != numel(y) ? numel(x) > numel(y) : x > y;
    });
    for (eg::EClassId c : order) {
      // Constants stay: their sharing is by value, and `limit` above already sizes them.
      if (c == port || c == reference || (constant && constant(c))) continue;
      common.erase(c);
      auto others = [&](eg::EClassId d) { return common.count(graph_.find(d)) > 0; };
      if (!smallest_term(graph_, c, others, 4, 16)) common.insert(c);
    }
  }
  auto on_common = [&](eg::EClassId c) { return common.count(graph_.find(c)) > 0; };
  auto over = [&](const BoundedTerm& t) {
    auto leaves = std::make_shared<std::set<eg::EClassId>>(t.leaves.begin(), t.leaves.end());
    return [this, leaves](eg::EClassId c) { return leaves->count(graph_.find(c)) > 0; };
  };
  auto subset = [](const BoundedTerm& a, const BoundedTerm& b) {  // leaves(a) within leaves(b)
    std::set<eg::EClassId> bs(b.leaves.begin(), b.leaves.end());
    for (eg::EClassId c : a.leaves)
      if (!bs.count(c)) return false;
    return true;
  };
  auto leaf_term = [](eg::EClassId c) {
    auto t = std::make_shared<Term>();
    t->kind = TermKind::EClass;
    t->eclass = c;
    return BoundedTerm{t, {c}, 1};
  };
  std::optional<BoundedTerm> left, right;
  // Each side is spelled over the leaves the other uses where it can be, so that a variable
  // stands for the same class on both sides; the side with every variable is the left.
  auto on_reached = [&](eg::EClassId c) { return reached.count(graph_.find(c)) > 0; };
  auto pair_up = [&](eg::EClassId first, eg::EClassId second) {
    auto a = smallest_term(graph_, first, on_common, limits_.max_depth, limits_.max_rule_size);
    if (!a) a = smallest_term(graph_, first, on_reached, limits_.max_depth, limits_.max_rule_size);
    if (!a) return false;
    std::optional<BoundedTerm> b;
    if (std::find(a->leaves.begin(), a->leaves.end(), second) != a->leaves.end()) b = leaf_term(second);
    if (!b) b = smallest_term(graph_, second, over(*a), limits_.max_depth, limits_.max_rule_size);
    if (!b) b = smallest_term(graph_, second, on_common, limits_.max_depth, limits_.max_rule_size);
    if (!b) return false;
    // A variable on one side only is a class the other side spells through other leaves (the
    // reference's `x[..., :8]` against the port's `chunk(x)[0]`): respell that side over the
    // other's leaves, so the rule says the two are the same.
    for (int round = 0; round < 2 && !(subset(*a, *b) && subset(*b, *a)); ++round) {
      if (!subset(*a, *b))
        if (auto a2 = smallest_term(graph_, first, over(*b), limits_.max_depth, limits_.max_rule_size)) a = a2;
      if (!subset(*b, *a))
        if (auto b2 = smallest_term(graph_, second, over(*a), limits_.max_depth, limits_.max_rule_size)) b = b2;
    }
    if (subset(*b, *a)) {
      left = a;
      right = b;
      return true;
    }
    if (subset(*a, *b)) {
      left = b;
      right = a;
      return true;
    }
    // The other side spelled first, then this one over its leaves and the reached classes
    // outside what those leaves compute (so that this side cannot take a shorter way round
    // them): a slice of a concatenation whose other parts only this side reads.
    if (auto b2 = smallest_term(graph_, second, on_common, limits_.max_depth, limits_.max_rule_size)) {
      std::set<eg::EClassId> wanted(b2->leaves.begin(), b2->leaves.end()), inside;
      for (eg::EClassId leaf : b2->leaves)
        for (eg::EClassId c : classes_below(graph_, leaf, limits_.max_depth)) inside.insert(graph_.find(c));
      auto around = [&](eg::EClassId c) {
        c = graph_.find(c);
        return wanted.count(c) > 0 ||
               (reached.count(c) > 0 && !inside.count(c) && c != graph_.find(second));
      };
      if (auto a2 = smallest_term(graph_, first, around, limits_.max_depth, limits_.max_rule_size); a2 && subset(*b2, *a2)) {
        left = a2;
        right = b2;
        return true;
      }
    }
    return false;
  };
  if (!pair_up(port, reference) && !pair_up(reference, port)) {
    if (std::getenv("TWIN_SYNTH_DEBUG")) {
      auto a = smallest_term(graph_, port, on_reached, limits_.max_depth, limits_.max_rule_size);
      auto b = smallest_term(graph_, reference, on_reached, limits_.max_depth, limits_.max_rule_size);
      std::fprintf(stderr, "  port: %s\n  reference: %s\n", a ? print_term(*a->term).c_str() : "-",
                   b ? print_term(*b->term).c_str() : "-");
    }
    result.why = common.empty() ? "the two values share nothing within reach"
                                : "no small pair of terms over the values both reach";
    return result;
  }

  // 3. Variables, pinned to their types here.
  const auto* shapes = graph_.analysis<ops::ShapeAnalysis>();
  std::map<eg::EClassId, std::string> names;
  SE guard = SE::boolean_value(true);
  bool first = true;
  std::string guard_text;
  for (eg::EClassId leaf : left->leaves) {
    std::string name = "x" + std::to_string(names.size() + 1);
    names[leaf] = name;
    auto type = shapes ? shapes->type_of(graph_, leaf) : std::nullopt;
    if (!type) {
      result.why = "a shared value has no single tensor type";
      return result;
    }
    std::string shape = type->to_string().substr(type->to_string().find('['));
    std::string dtype(ops::dtype_name(type->dtype));
    SE pins = SE::and_(SE::compare_op(SE::CompareOp::Eq, SE::query("shape", {SE::var(name)}), SE::string(shape)),
                       SE::compare_op(SE::CompareOp::Eq, SE::query("dtype", {SE::var(name)}), SE::string(dtype)));
    guard = first ? pins : SE::and_(std::move(guard), std::move(pins));
    first = false;
    guard_text += std::string(guard_text.empty() ? "" : " and ") + "shape(?" + name + ") == \"" + shape + "\" and dtype(?" +
                  name + ") == " + dtype;
  }
  auto source = std::make_shared<compiler::RuleSource>();
  source->ruleset = "synthesized";
  const compiler::CanonicalForm& form = compiler_.form();
  source->lhs = form.readable(with_variables(left->term, names));
  source->rhs = form.readable(with_variables(right->term, names));
  source->name = "s" + std::to_string(number) + "_" + root_name(*source->lhs) + "_as_" + root_name(*source->rhs);
  if (!first) {
    source->guard = std::move(guard);
    source->guard_text = guard_text;
  }
  result.source = source;
  result.variables = left->leaves;

  // 4. Compiled and validated.
  try {
    result.compiled = compiler_.compile(source);
  } catch (const Error& e) {
    result.why = "the rule does not compile: " + e.message();
    return result;
  }
  verify::VerifiedRule verified = verifier_.verify(*result.compiled, graph_.ops());
  result.report = verified.report;
  result.cached = verified.cached;
  switch (verified.report.verdict) {
    case verify::Verdict::Proved:
    case verify::Verdict::Tested: result.outcome = Outcome::Validated; break;
    case verify::Verdict::Refuted: result.outcome = Outcome::Refuted; break;
    case verify::Verdict::Unknown: result.outcome = Outcome::Unknown; break;
  }
  return result;
}

}  // namespace twin::synth
