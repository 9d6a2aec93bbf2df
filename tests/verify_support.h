// Shared by the verifier tests: Rewrites built the way the language lowers rules, and guard
// builders. Attributes are named trailing children (`transpose(?x, dim0=-2, dim1=-1)` is the
// operator transpose/3 with attribute names [dim0, dim1]). Patterns are read as
// s-expressions, then the ops listed here get their attribute names; `cast(?x, f32)` stays
// positional, as written in the rules files.
#pragma once

#include "egraph/op_table.h"
#include "egraph/pattern.h"
#include "egraph/rewrite.h"
#include "egraph/scalar_expr.h"
#include "egraph/sexpr.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace twin::testing::verify {

namespace eg = twin::egraph;
using S = eg::ScalarExpr;

struct Rules {
  eg::OpTable ops;
  std::map<std::pair<std::string, std::uint32_t>, std::vector<std::string>> named = {
      {{"transpose", 3}, {"dim0", "dim1"}}, {{"cat", 2}, {"dim"}},          {{"slice", 4}, {"dim", "start", "end"}},
      {{"softmax", 2}, {"dim"}},            {{"gelu", 2}, {"approximate"}}, {{"index_select", 3}, {"dim"}},
      {{"split", 3}, {"split_size", "dim"}}, {{"getitem", 2}, {"index"}},
  };
  eg::Pattern name_attributes(const eg::Pattern& p) {
    if (p.is_var()) return p;
    std::vector<eg::Pattern> children;
    for (const auto& c : p.children) children.push_back(name_attributes(c));
    const eg::OpInfo& info = ops.info(p.op);
    eg::OpId op = p.op;
    if (!info.is_leaf())
      if (auto it = named.find({info.name, info.arity}); it != named.end())
        op = ops.intern_apply(info.name, info.arity, it->second);
    return eg::Pattern::Node(op, std::move(children));
  }
  eg::Rewrite rule(const std::string& name, const std::string& lhs, const std::string& rhs,
                   std::optional<S> guard = std::nullopt) {
    eg::Rewrite r;
    r.name = name;
    r.lhs = name_attributes(eg::parse_pattern(lhs, ops));
    r.rhs = name_attributes(eg::parse_pattern(rhs, ops));
    r.guard = std::move(guard);
    return r;
  }
};

inline S var(const char* v) { return S::var(v); }
inline S num(long v) { return S::constant(Rational(v)); }
inline S query(const char* q, std::vector<S> args) { return S::query(q, std::move(args)); }
inline S eq(S a, S b) { return S::compare_op(S::CompareOp::Eq, std::move(a), std::move(b)); }
inline S lt(S a, S b) { return S::compare_op(S::CompareOp::Lt, std::move(a), std::move(b)); }
inline S gt(S a, S b) { return S::compare_op(S::CompareOp::Gt, std::move(a), std::move(b)); }
inline S all(std::vector<S> v) {
  S acc = v[0];
  for (std::size_t i = 1; i < v.size(); ++i) acc = S::and_(acc, v[i]);
  return acc;
}

}  // namespace twin::testing::verify
