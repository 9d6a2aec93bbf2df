#include "egraph/extract.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>

namespace twin::egraph {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Prices single nodes with the first matching arm of a CostFunction.
class Pricer {
 public:
  Pricer(const EGraph& graph, const CostFunction& cost, const QueryRegistry& queries)
      : g_(graph), queries_(queries) {
    for (const CostArm& arm : cost.arms) {
      Arm a;
      a.arm = &arm;
      a.vars = arm.pattern.variables();
      if (arm.guard) a.guard = resolve(*arm.guard, a.vars, queries);
      a.cost = resolve(arm.cost, a.vars, queries);
      if (!arm.guard && arm.cost.kind == ScalarExpr::Kind::Constant) a.constant_cost = to_double(arm.cost.number);
      arms_.push_back(std::move(a));
    }
  }

  double own_cost(EClassId cls, NodeId node) {
    for (const Arm& arm : arms_) {
      const Pattern& p = arm.arm->pattern;
      if (arm.constant_cost && p.is_var()) return *arm.constant_cost;  // e.g. ast_size
      std::vector<EClassId> binding(arm.vars.size(), kNoClass);
      double result = kInf;
      auto accept = [&]() {
        if (arm.guard && !guard_holds(*arm.guard, g_, binding, queries_)) return false;
        ScalarValue v = evaluate(arm.cost, g_, binding, queries_);
        if (v.kind != ScalarValue::Kind::Number) return false;
        result = to_double(v.number);
        return true;
      };
      if (p.is_var()) {
        binding[0] = cls;
        if (accept()) return result;
        continue;
      }
      if (p.op != g_.node_op(node) || p.children.size() != g_.node_children(node).size()) continue;
      if (match_children(arm, p, g_.node_children(node), 0, binding, accept)) return result;
    }
    return kInf;
  }

 private:
  struct Arm {
    const CostArm* arm;
    std::vector<std::string> vars;
    std::optional<ScalarExpr> guard;
    ScalarExpr cost;
    std::optional<double> constant_cost;  // no guard and a constant cost
  };
  std::size_t slot(const Arm& arm, const std::string& var) const {
    for (std::size_t i = 0; i < arm.vars.size(); ++i)
      if (arm.vars[i] == var) return i;
    return 0;
  }
  // Matches p's children against `children` from index k on, then calls done(); true
  // once done() accepted a binding (the search stops there).
  bool match_children(const Arm& arm, const Pattern& p, std::span<const EClassId> children, std::size_t k,
                      std::vector<EClassId>& binding, const std::function<bool()>& done) {
    if (k == children.size()) return done();
    const Pattern& child = p.children[k];
    EClassId cls = g_.find(children[k]);
    if (child.is_var()) {
      std::size_t s = slot(arm, child.var);
      if (binding[s] != kNoClass) {
        if (g_.find(binding[s]) != cls) return false;
        return match_children(arm, p, children, k + 1, binding, done);
      }
      binding[s] = cls;
      bool found = match_children(arm, p, children, k + 1, binding, done);
      binding[s] = kNoClass;
      return found;
    }
    for (NodeId n : g_.nodes_of(cls)) {
      if (g_.node_op(n) != child.op || g_.node_children(n).size() != child.children.size()) continue;
      std::vector<EClassId> saved = binding;
      auto rest = [&]() { return match_children(arm, p, children, k + 1, binding, done); };
      if (match_children(arm, child, g_.node_children(n), 0, binding, rest)) return true;
      binding = saved;
    }
    return false;
  }

  const EGraph& g_;
  const QueryRegistry& queries_;
  std::vector<Arm> arms_;
};

struct Choice {
  std::vector<double> own;  // per node index in the class
};

class Extractor {
 public:
  Extractor(EGraph& graph, const CostFunction& cost, const QueryRegistry& queries)
      : g_(graph), pricer_(graph, cost, queries), own_(graph.node_id_count(), std::nan("")) {}

  double own(EClassId cls, std::size_t k) {
    NodeId n = g_.nodes_of(cls)[k];
    if (std::isnan(own_[n])) own_[n] = pricer_.own_cost(cls, n);
    return own_[n];
  }

  // Tree costs of every class, to a fixpoint; choice = index of the best node.
  void tree_costs() {
    std::vector<EClassId> ids;
    for (EClassId c = 0; c < g_.id_count(); ++c)
      if (g_.find(c) == c) ids.push_back(c);
    cost_.assign(g_.id_count(), kInf);
    choice_.assign(g_.id_count(), -1);
    for (bool changed = true; changed;) {
      changed = false;
      for (EClassId c : ids) {
        auto [best, k] = best_node(c);
        if (best < cost_[c]) {
          cost_[c] = best;
          choice_[c] = k;
          changed = true;
        }
      }
    }
    for (EClassId c : ids) choice_[c] = best_node(c).second;
  }

  std::pair<double, int> best_node(EClassId c) {
    auto nodes = g_.nodes_of(c);
    double best = kInf;
    int best_k = -1;
    for (std::size_t k = 0; k < nodes.size(); ++k) {
      double total = own(c, k);
      for (EClassId ch : g_.node_children(nodes[k])) total += cost_[g_.find(ch)];
      if (total < best) {
        best = total;
        best_k = static_cast<int>(k);
      }
    }
    return {best, best_k};
  }

  std::vector<EClassId> reachable(EClassId root) {
    std::vector<EClassId> out{root};
    std::vector<bool> seen(g_.id_count(), false);
    seen[root] = true;
    for (std::size_t i = 0; i < out.size(); ++i)
      for (NodeId n : g_.nodes_of(out[i]))
        for (EClassId ch : g_.node_children(n)) {
          EClassId c = g_.find(ch);
          if (!seen[c]) {
            seen[c] = true;
            out.push_back(c);
          }
        }
    return out;
  }

  // DAG cost of the current choices from root, or inf when they contain a cycle.
  double dag_cost(EClassId root, const std::vector<int>& choice) {
    std::vector<std::uint8_t> state(g_.id_count(), 0);  // 0 new, 1 on stack, 2 done
    double total = 0;
    bool cycle = false;
    std::function<void(EClassId)> visit = [&](EClassId c) {
      if (state[c] == 2 || cycle) return;
      if (state[c] == 1) {
        cycle = true;
        return;
      }
      state[c] = 1;
      int k = choice[c];
      if (k < 0) {
        cycle = true;  // unpriceable
        return;
      }
      total += own(c, static_cast<std::size_t>(k));
      for (EClassId ch : g_.node_children(g_.nodes_of(c)[k])) visit(g_.find(ch));
      state[c] = 2;
    };
    visit(root);
    return cycle ? kInf : total;
  }

  void exact_dag(EClassId root, const std::vector<EClassId>& classes) {
    bool negative = false;
    for (EClassId c : classes)
      for (std::size_t k = 0; k < g_.nodes_of(c).size(); ++k) negative |= own(c, k) < 0;
    std::vector<int> choice(g_.id_count(), -1);
    best_dag_ = kInf;
    best_choice_ = choice;
    std::size_t steps = 0;
    exact_ = true;
    std::function<void(double)> solve = [&](double so_far) {
      if (++steps > kExactDagSteps) {
        exact_ = false;
        return;
      }
      // The first reachable class without a choice, in depth-first order.
      EClassId open = kNoClass;
      std::vector<bool> seen(g_.id_count(), false);
      std::function<void(EClassId)> find_open = [&](EClassId c) {
        if (open != kNoClass || seen[c]) return;
        seen[c] = true;
        if (choice[c] < 0) {
          open = c;
          return;
        }
        for (EClassId ch : g_.node_children(g_.nodes_of(c)[choice[c]])) find_open(g_.find(ch));
      };
      find_open(root);
      if (open == kNoClass) {
        double cost = dag_cost(root, choice);
        if (cost < best_dag_) {
          best_dag_ = cost;
          best_choice_ = choice;
        }
        return;
      }
      auto nodes = g_.nodes_of(open);
      for (std::size_t k = 0; k < nodes.size(); ++k) {
        double o = own(open, k);
        if (o == kInf) continue;
        if (!negative && so_far + o >= best_dag_) continue;
        choice[open] = static_cast<int>(k);
        solve(so_far + o);
        choice[open] = -1;
      }
    };
    solve(0);
  }

  Extraction extract(EClassId root, ExtractMode mode) {
    g_.rebuild();
    root = g_.find(root);
    tree_costs();
    std::vector<int> choice = choice_;
    double cost = cost_[root];
    bool exact = true;
    if (mode == ExtractMode::Dag) {
      std::vector<EClassId> classes = reachable(root);
      double heuristic = dag_cost(root, choice);
      if (classes.size() <= kExactDagClasses) exact_dag(root, classes);
      if (classes.size() <= kExactDagClasses && exact_) {
        choice = best_choice_;
        cost = best_dag_;
      } else if (best_dag_ < heuristic) {  // an interrupted search may still have improved
        choice = best_choice_;
        cost = best_dag_;
      } else {
        cost = heuristic;
      }
      exact = classes.size() <= kExactDagClasses && exact_;
    }
    if (cost == kInf) throw std::invalid_argument("extract: no term of the class can be priced");
    Extraction out;
    out.cost = cost;
    out.exact = exact;
    std::map<EClassId, EClassId> index;
    std::vector<bool> on_path(g_.id_count(), false);
    std::function<EClassId(EClassId)> build = [&](EClassId c) -> EClassId {
      if (auto it = index.find(c); it != index.end()) return it->second;
      if (on_path[c] || choice[c] < 0) throw std::invalid_argument("extract: cyclic choice");
      on_path[c] = true;
      NodeId n = g_.nodes_of(c)[choice[c]];
      std::vector<EClassId> children;
      for (EClassId ch : g_.node_children(n)) children.push_back(build(g_.find(ch)));
      on_path[c] = false;
      EClassId i = out.term.add(g_.node_op(n), std::move(children));
      index.emplace(c, i);
      return i;
    };
    build(root);
    return out;
  }

 private:
  EGraph& g_;
  Pricer pricer_;
  std::vector<double> own_;  // per NodeId; NaN until priced
  std::vector<double> cost_;
  std::vector<int> choice_;
  double best_dag_ = kInf;
  bool exact_ = true;
  std::vector<int> best_choice_;
};

}  // namespace

Extraction extract_best(EGraph& graph, EClassId root, const CostFunction& cost, ExtractMode mode,
                        const QueryRegistry& queries) {
  graph.rebuild();
  Extractor extractor(graph, cost, queries);
  return extractor.extract(root, mode);
}

RecExpr extract(EGraph& graph, EClassId root, const CostFunction& cost, ExtractMode mode,
                const QueryRegistry& queries) {
  return extract_best(graph, root, cost, mode, queries).term;
}

double best_cost(EGraph& graph, EClassId root, const CostFunction& cost, ExtractMode mode,
                 const QueryRegistry& queries) {
  return extract_best(graph, root, cost, mode, queries).cost;
}

}  // namespace twin::egraph
