#include "egraph/pattern_compiler.h"

#include <algorithm>
#include <map>
#include <set>

namespace twin::egraph {

namespace {

// The pattern flattened in post-order: children precede parents; the root is last.
struct FlatNode {
  const Pattern* pattern;
  std::vector<std::uint32_t> children;
  std::set<std::uint32_t> free_vars;  // variable indices below (and at) this node
  std::size_t size = 0;               // Node entries below (and at) this node
};

class Compiler {
 public:
  Compiler(const Pattern& pattern, const OpTable& ops) : ops_(ops) {
    variables_ = pattern.variables();
    flatten(pattern);
  }

  MatchProgram compile() {
    MatchProgram program;
    program.variables = variables_;
    program.variable_regs.assign(variables_.size(), 0);
    var_reg_.assign(variables_.size(), kUnbound);
    const FlatNode& root = flat_.back();
    Instruction scan;
    scan.kind = Instruction::Kind::Scan;
    scan.out = 0;
    if (root.pattern->is_var()) {
      scan.has_op = false;
    } else {
      scan.op = root.pattern->op;
      scan.arity = static_cast<std::uint32_t>(root.children.size());
    }
    program.instructions.push_back(scan);
    next_reg_ = 1;
    add_todo(static_cast<std::uint32_t>(flat_.size() - 1), 0, program);

    while (!todo_.empty()) {
      auto best = todo_.begin();
      for (auto it = todo_.begin(); it != todo_.end(); ++it)
        if (key(*it) > key(*best)) best = it;
      auto [node_index, reg] = *best;
      todo_.erase(best);
      const FlatNode& node = flat_[node_index];
      if (ground_now(node_index) && !node.children.empty()) {
        Instruction lookup;
        lookup.kind = Instruction::Kind::Lookup;
        lookup.i = reg;
        lookup.lookup = static_cast<std::uint32_t>(program.lookups.size());
        LookupTerm term;
        append_lookup(node_index, term);
        program.lookups.push_back(std::move(term));
        program.instructions.push_back(lookup);
        continue;
      }
      Instruction bind;
      bind.kind = Instruction::Kind::Bind;
      bind.i = reg;
      bind.op = node.pattern->op;
      bind.arity = static_cast<std::uint32_t>(node.children.size());
      bind.out = next_reg_;
      next_reg_ += bind.arity;
      program.instructions.push_back(bind);
      for (std::uint32_t k = 0; k < node.children.size(); ++k) add_todo(node.children[k], bind.out + k, program);
    }
    for (std::size_t v = 0; v < variables_.size(); ++v) program.variable_regs[v] = var_reg_[v];
    program.num_regs = next_reg_;
    program.source = flat_.back().pattern->to_string(ops_);
    for (const FlatNode& n : flat_)
      if (!n.pattern->is_var()) program.op_names.emplace(n.pattern->op, ops_.display(n.pattern->op));
    return program;
  }

 private:
  static constexpr Reg kUnbound = 0xffffffffu;

  std::uint32_t flatten(const Pattern& p) {
    FlatNode node;
    node.pattern = &p;
    if (p.is_var()) {
      auto it = std::find(variables_.begin(), variables_.end(), p.var);
      node.free_vars.insert(static_cast<std::uint32_t>(it - variables_.begin()));
    } else {
      node.size = 1;
      for (const Pattern& c : p.children) {
        std::uint32_t ci = flatten(c);
        node.children.push_back(ci);
        node.free_vars.insert(flat_[ci].free_vars.begin(), flat_[ci].free_vars.end());
        node.size += flat_[ci].size;
      }
    }
    flat_.push_back(std::move(node));
    return static_cast<std::uint32_t>(flat_.size() - 1);
  }

  bool ground_now(std::uint32_t index) const {
    for (std::uint32_t v : flat_[index].free_vars)
      if (var_reg_[v] == kUnbound) return false;
    return true;
  }

  // Larger is picked first: fully bound, then fewer unbound variables, then bigger; ties go
  // to the earlier (smaller) todo entry because only a strictly larger key replaces it.
  std::tuple<bool, long, long> key(const std::pair<std::uint32_t, Reg>& todo) const {
    const FlatNode& n = flat_[todo.first];
    long unbound = 0;
    for (std::uint32_t v : n.free_vars) unbound += var_reg_[v] == kUnbound;
    return {unbound == 0, -unbound, static_cast<long>(n.size)};
  }

  void add_todo(std::uint32_t index, Reg reg, MatchProgram& program) {
    const FlatNode& n = flat_[index];
    if (n.pattern->is_var()) {
      std::uint32_t v = *n.free_vars.begin();
      if (var_reg_[v] == kUnbound) {
        var_reg_[v] = reg;
      } else {
        Instruction cmp;
        cmp.kind = Instruction::Kind::Compare;
        cmp.i = reg;
        cmp.out = var_reg_[v];
        program.instructions.push_back(cmp);
      }
      return;
    }
    todo_.emplace(index, reg);
  }

  std::uint32_t append_lookup(std::uint32_t index, LookupTerm& term) {
    const FlatNode& n = flat_[index];
    LookupTerm::Entry e;
    if (n.pattern->is_var()) {
      e.is_reg = true;
      e.reg = var_reg_[*n.free_vars.begin()];
    } else {
      e.op = n.pattern->op;
      for (std::uint32_t c : n.children) e.children.push_back(append_lookup(c, term));
    }
    term.entries.push_back(std::move(e));
    return static_cast<std::uint32_t>(term.entries.size() - 1);
  }

  const OpTable& ops_;
  std::vector<std::string> variables_;
  std::vector<FlatNode> flat_;
  std::vector<Reg> var_reg_;
  std::set<std::pair<std::uint32_t, Reg>> todo_;
  Reg next_reg_ = 1;
};

}  // namespace

MatchProgram compile(const Pattern& pattern, const OpTable& ops) { return Compiler(pattern, ops).compile(); }

}  // namespace twin::egraph
