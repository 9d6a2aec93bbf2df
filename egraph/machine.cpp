#include "egraph/machine.h"

#include <algorithm>

namespace twin::egraph {

namespace {

class Machine {
 public:
  Machine(const MatchProgram& program, const EGraph& graph, std::size_t limit, const MatchFilter& filter,
          MatchSet& out)
      : p_(program), g_(graph), limit_(limit), filter_(filter), out_(out), regs_(program.num_regs, 0),
        subst_(program.variables.size(), 0) {}

  void run_from_root(EClassId root, std::size_t first_instruction) {
    regs_[0] = root;
    run(first_instruction);
  }
  void run(std::size_t pc) {
    const auto& code = p_.instructions;
    for (; pc < code.size(); ++pc) {
      const Instruction& ins = code[pc];
      switch (ins.kind) {
        case Instruction::Kind::Scan: {
          if (ins.has_op) {
            for (EClassId c : g_.classes_with_op(ins.op)) {
              regs_[ins.out] = c;
              run(pc + 1);
              if (done_) return;
            }
          } else {
            for (EClassId c = 0; c < g_.id_count(); ++c) {
              if (g_.find(c) != c) continue;
              regs_[ins.out] = c;
              run(pc + 1);
              if (done_) return;
            }
          }
          return;
        }
        case Instruction::Kind::Bind: {
          std::span<const NodeId> nodes = g_.nodes_of(regs_[ins.i]);
          std::size_t k = 0;
          if (nodes.size() > 8) {
            k = static_cast<std::size_t>(
                std::lower_bound(nodes.begin(), nodes.end(), ins.op,
                                 [&](NodeId n, OpId op) { return g_.node_op(n) < op; }) -
                nodes.begin());
          }
          for (; k < nodes.size(); ++k) {
            NodeId n = nodes[k];
            OpId op = g_.node_op(n);
            if (op != ins.op) {
              if (op > ins.op) break;
              continue;
            }
            std::span<const EClassId> children = g_.node_children(n);
            if (children.size() != ins.arity) continue;
            std::copy(children.begin(), children.end(), regs_.begin() + ins.out);
            run(pc + 1);
            if (done_) return;
          }
          return;
        }
        case Instruction::Kind::Compare:
          if (g_.find(regs_[ins.i]) != g_.find(regs_[ins.out])) return;
          break;
        case Instruction::Kind::Lookup:
          if (!lookup(p_.lookups[ins.lookup], regs_[ins.i])) return;
          break;
      }
    }
    yield();
  }

 private:
  bool lookup(const LookupTerm& term, EClassId expected) {
    lookup_buf_.clear();
    std::vector<EClassId> children;
    for (const LookupTerm::Entry& e : term.entries) {
      if (e.is_reg) {
        lookup_buf_.push_back(g_.find(regs_[e.reg]));
        continue;
      }
      children.clear();
      for (std::uint32_t c : e.children) children.push_back(lookup_buf_[c]);
      auto id = g_.lookup(e.op, children);
      if (!id) return false;
      lookup_buf_.push_back(*id);
    }
    return lookup_buf_.back() == g_.find(expected);
  }
  void yield() {
    for (std::size_t v = 0; v < subst_.size(); ++v) subst_[v] = g_.find(regs_[p_.variable_regs[v]]);
    if (filter_ && !filter_(regs_[0], subst_)) return;
    out_.roots.push_back(regs_[0]);
    out_.bindings.insert(out_.bindings.end(), subst_.begin(), subst_.end());
    if (out_.size() >= limit_) done_ = true;
  }

  const MatchProgram& p_;
  const EGraph& g_;
  std::size_t limit_;
  const MatchFilter& filter_;
  MatchSet& out_;
  std::vector<EClassId> regs_;
  std::vector<EClassId> subst_;
  std::vector<EClassId> lookup_buf_;
  bool done_ = false;
};

}  // namespace

MatchSet search(const MatchProgram& program, const EGraph& graph, std::size_t limit, const MatchFilter& filter) {
  MatchSet out;
  out.width = program.variables.size();
  if (limit == 0) return out;
  Machine machine(program, graph, limit, filter, out);
  machine.run(0);
  return out;
}

MatchSet search_class(const MatchProgram& program, const EGraph& graph, EClassId root, std::size_t limit,
                      const MatchFilter& filter) {
  MatchSet out;
  out.width = program.variables.size();
  if (limit == 0) return out;
  Machine machine(program, graph, limit, filter, out);
  machine.run_from_root(graph.find(root), 1);  // instruction 0 is the Scan
  return out;
}

std::string disassemble(const MatchProgram& program) {
  auto reg = [](Reg r) { return "r" + std::to_string(r); };
  auto display = [&](OpId op) {
    auto it = program.op_names.find(op);
    return it == program.op_names.end() ? "op" + std::to_string(op) : it->second;
  };
  std::string out = "program for " + program.source + " (" + std::to_string(program.num_regs) + " registers)\n";
  for (std::size_t pc = 0; pc < program.instructions.size(); ++pc) {
    const Instruction& ins = program.instructions[pc];
    std::string line = "  " + std::to_string(pc) + ": ";
    switch (ins.kind) {
      case Instruction::Kind::Scan:
        line += "scan     " + reg(ins.out) + " <- " +
                (ins.has_op ? "classes with " + display(ins.op) + "/" + std::to_string(ins.arity) : "every class");
        break;
      case Instruction::Kind::Bind:
        line += "bind     " + reg(ins.i) + " " + display(ins.op) + "/" + std::to_string(ins.arity);
        if (ins.arity) {
          line += " ->";
          for (std::uint32_t k = 0; k < ins.arity; ++k) line += " " + reg(ins.out + k);
        }
        break;
      case Instruction::Kind::Compare:
        line += "compare  " + reg(ins.i) + " == " + reg(ins.out);
        break;
      case Instruction::Kind::Lookup: {
        const LookupTerm& term = program.lookups[ins.lookup];
        std::function<std::string(std::size_t)> show = [&](std::size_t k) -> std::string {
          const LookupTerm::Entry& e = term.entries[k];
          if (e.is_reg) return reg(e.reg);
          if (e.children.empty()) return display(e.op);
          std::string s = "(" + display(e.op);
          for (std::uint32_t c : e.children) s += " " + show(c);
          return s + ")";
        };
        line += "lookup   " + reg(ins.i) + " == " + show(term.entries.size() - 1);
        break;
      }
    }
    out += line + "\n";
  }
  out += "  yield   ";
  for (std::size_t v = 0; v < program.variables.size(); ++v)
    out += (v ? " " : "") + std::string("?") + program.variables[v] + "=" + reg(program.variable_regs[v]);
  return out + "\n";
}

}  // namespace twin::egraph
