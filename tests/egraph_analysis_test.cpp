// E-class analyses: a second analysis plugs in next to constant folding without touching
// the core, and its data stays consistent across unions, rebuilds and snapshots.
#include "egraph/constant_folding.h"
#include "egraph/egraph.h"
#include "egraph/sexpr.h"

#include <doctest/doctest.h>

using namespace twin::egraph;

namespace {
// A toy stand-in for the later shape analysis: the smallest term depth known for a class.
class MinDepth final : public Analysis {
 public:
  static constexpr std::string_view kName = "min_depth";
  std::string_view name() const override { return kName; }
  std::unique_ptr<Analysis> clone() const override { return std::make_unique<MinDepth>(*this); }
  void grow(std::size_t n) override { depth_.resize(n, kUnknown); }
  bool join_node(const EGraph& g, EClassId cls, OpId, std::span<const EClassId> children) override {
    int d = 1;
    for (EClassId c : children) {
      int cd = depth_[g.find(c)];
      if (cd == kUnknown) return false;
      d = std::max(d, cd + 1);
    }
    if (d >= depth_[cls]) return false;
    depth_[cls] = d;
    return true;
  }
  MergeResult merge(EClassId into, EClassId from) override {
    int a = depth_[into], b = depth_[from];
    depth_[into] = std::min(a, b);
    return {depth_[into] != a, depth_[into] != b};
  }
  std::string describe(const EGraph&, EClassId cls) const override { return "depth " + std::to_string(depth_[cls]); }
  int depth(const EGraph& g, EClassId c) const { return depth_[g.find(c)]; }

 private:
  static constexpr int kUnknown = 1 << 30;
  std::vector<int> depth_;
};
}  // namespace

TEST_CASE("a second analysis runs alongside constant folding and propagates through parents") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  g.add_analysis(std::make_unique<MinDepth>());
  REQUIRE(g.analysis<MinDepth>() != nullptr);
  REQUIRE(g.analysis<ConstantFolding>() != nullptr);
  EClassId deep = g.add_expr(parse_term("(f (g (h x)))", *ops));
  EClassId hx = *g.lookup_expr(parse_term("(h x)", *ops));
  CHECK(g.analysis<MinDepth>()->depth(g, deep) == 4);
  // (h x) = y: the whole term gets shallower once the fact flows up through the parents.
  g.union_classes(hx, g.add_expr(parse_term("y", *ops)));
  g.rebuild();
  CHECK(g.analysis<MinDepth>()->depth(g, deep) == 3);
  CHECK(g.to_dot().find("depth 3") != std::string::npos);
}

TEST_CASE("analysis data is restored by pop") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  g.add_analysis(std::make_unique<MinDepth>());
  EClassId t = g.add_expr(parse_term("(f (f x))", *ops));
  EClassId sum = g.add_expr(parse_term("(add z 1)", *ops));
  g.rebuild();
  g.push();
  g.union_classes(*g.lookup_expr(parse_term("(f x)", *ops)), *g.lookup_expr(parse_term("x", *ops)));
  g.union_classes(*g.lookup_expr(parse_term("z", *ops)), g.add_expr(parse_term("1", *ops)));
  g.rebuild();
  CHECK(g.analysis<MinDepth>()->depth(g, t) == 1);
  CHECK(g.constant_of(sum) == 2);
  g.pop();
  CHECK(g.analysis<MinDepth>()->depth(g, t) == 3);
  CHECK_FALSE(g.constant_of(sum).has_value());
}

TEST_CASE("analyses can only be added to an empty e-graph") {
  auto ops = std::make_shared<OpTable>();
  EGraph g(ops);
  g.add_expr(parse_term("x", *ops));
  CHECK_THROWS_AS(g.add_analysis(std::make_unique<MinDepth>()), std::logic_error);
}
