#include "egraph/machine.h"

#include <algorithm>

namespace twin::egraph {

namespace {

bool same_instruction(const Instruction& a, const LookupTerm* la, const Instruction& b, const LookupTerm* lb) {
  if (a.kind != b.kind || a.i != b.i || a.out != b.out || a.op != b.op || a.has_op != b.has_op || a.arity != b.arity)
    return false;
  if (a.kind != Instruction::Kind::Lookup) return true;
  if (la->entries.size() != lb->entries.size()) return false;
  for (std::size_t k = 0; k < la->entries.size(); ++k) {
    const auto& x = la->entries[k];
    const auto& y = lb->entries[k];
    if (x.is_reg != y.is_reg || x.reg != y.reg || x.op != y.op || x.children != y.children) return false;
  }
  return true;
}

}  // namespace

ProgramSet::ProgramSet(std::vector<const MatchProgram*> programs) : programs_(std::move(programs)) {
  for (std::uint32_t p = 0; p < programs_.size(); ++p) {
    const MatchProgram& program = *programs_[p];
    num_regs_ = std::max(num_regs_, program.num_regs);
    constexpr std::uint32_t kTop = 0xffffffffu;
    std::uint32_t node = kTop;  // kTop: the level of the roots
    for (const Instruction& ins : program.instructions) {
      const LookupTerm* lookup = ins.kind == Instruction::Kind::Lookup ? &program.lookups[ins.lookup] : nullptr;
      auto level = [&]() -> std::vector<std::uint32_t>& { return node == kTop ? roots_ : nodes_[node].children; };
      std::uint32_t found = kTop;
      for (std::uint32_t candidate : level())
        if (same_instruction(*nodes_[candidate].instruction, nodes_[candidate].lookup, ins, lookup)) found = candidate;
      if (found == kTop) {
        found = static_cast<std::uint32_t>(nodes_.size());
        nodes_.push_back(Node{&ins, lookup, {}, {}, {}});
        level().push_back(found);
      }
      node = found;
      nodes_[node].programs.push_back(p);
    }
    nodes_[node].yields.push_back(p);
  }
}

std::size_t ProgramSet::total_instructions() const {
  std::size_t total = 0;
  for (const MatchProgram* p : programs_) total += p->instructions.size();
  return total;
}

// Executes a ProgramSet's trie depth first. Registers hold class ids; each node's
// instruction either iterates alternatives (Scan, Bind) or checks (Compare, Lookup), then
// yields for the programs ending there and continues into its children.
class ProgramSetRunner {
 public:
  ProgramSetRunner(const ProgramSet& set, const EGraph& graph, std::span<const std::size_t> limits,
                   std::span<const MatchFilter> filters, Deadline deadline)
      : set_(set), g_(graph), limits_(limits), filters_(filters), deadline_(deadline), regs_(set.num_regs_, 0),
        out_(set.size()), done_(set.size(), false) {
    for (std::size_t p = 0; p < set.size(); ++p) {
      out_[p].width = set.programs_[p]->variables.size();
      if (limits_[p] == 0) done_[p] = true;
      else ++active_;
    }
  }

  std::vector<MatchSet> run_all() {
    for (std::uint32_t root : set_.roots_)
      if (alive(root)) run(root);
    return std::move(out_);
  }
  // Starts below the (single) Scan with register 0 bound to `root`.
  std::vector<MatchSet> run_from_class(EClassId root) {
    regs_[0] = root;
    for (std::uint32_t scan : set_.roots_) next(scan);
    return std::move(out_);
  }

 private:
  bool alive(std::uint32_t node) const {
    if (active_ == 0 || timed_out_) return false;
    for (std::uint32_t p : set_.nodes_[node].programs)
      if (!done_[p]) return true;
    return false;
  }

  void run(std::uint32_t n) {
    if (deadline_ && (++steps_ & 4095) == 0 && std::chrono::steady_clock::now() > *deadline_) {
      timed_out_ = true;
      for (MatchSet& m : out_) m.timed_out = true;
      return;
    }
    const ProgramSet::Node& node = set_.nodes_[n];
    const Instruction& ins = *node.instruction;
    switch (ins.kind) {
      case Instruction::Kind::Scan:
        if (ins.has_op) {
          for (EClassId c : g_.classes_with_op(ins.op)) {
            regs_[ins.out] = c;
            next(n);
            if (!alive(n)) return;
          }
        } else {
          for (EClassId c = 0; c < g_.id_count(); ++c) {
            if (g_.find(c) != c) continue;
            regs_[ins.out] = c;
            next(n);
            if (!alive(n)) return;
          }
        }
        return;
      case Instruction::Kind::Bind: {
        std::span<const NodeId> nodes = g_.nodes_of(regs_[ins.i]);
        std::size_t k = 0;
        if (nodes.size() > 8) {
          k = static_cast<std::size_t>(
              std::lower_bound(nodes.begin(), nodes.end(), ins.op,
                               [&](NodeId m, OpId op) { return g_.node_op(m) < op; }) -
              nodes.begin());
        }
        for (; k < nodes.size(); ++k) {
          NodeId m = nodes[k];
          OpId op = g_.node_op(m);
          if (op != ins.op) {
            if (op > ins.op) break;
            continue;
          }
          std::span<const EClassId> children = g_.node_children(m);
          if (children.size() != ins.arity) continue;
          std::copy(children.begin(), children.end(), regs_.begin() + ins.out);
          next(n);
          if (!alive(n)) return;
        }
        return;
      }
      case Instruction::Kind::Compare:
        if (g_.find(regs_[ins.i]) == g_.find(regs_[ins.out])) next(n);
        return;
      case Instruction::Kind::Lookup:
        if (lookup(*node.lookup, regs_[ins.i])) next(n);
        return;
    }
  }

  void next(std::uint32_t n) {
    const ProgramSet::Node& node = set_.nodes_[n];
    for (std::uint32_t p : node.yields)
      if (!done_[p]) yield(p);
    for (std::uint32_t child : node.children)
      if (alive(child)) run(child);
  }

  bool lookup(const LookupTerm& term, EClassId expected) {
    lookup_buf_.clear();
    for (const LookupTerm::Entry& e : term.entries) {
      if (e.is_reg) {
        lookup_buf_.push_back(g_.find(regs_[e.reg]));
        continue;
      }
      children_.clear();
      for (std::uint32_t c : e.children) children_.push_back(lookup_buf_[c]);
      auto id = g_.lookup(e.op, children_);
      if (!id) return false;
      lookup_buf_.push_back(*id);
    }
    return lookup_buf_.back() == g_.find(expected);
  }

  void yield(std::uint32_t p) {
    const MatchProgram& program = *set_.programs_[p];
    subst_.resize(program.variables.size());
    for (std::size_t v = 0; v < subst_.size(); ++v) subst_[v] = g_.find(regs_[program.variable_regs[v]]);
    if (!filters_.empty() && filters_[p] && !filters_[p](regs_[0], subst_)) return;
    MatchSet& out = out_[p];
    out.roots.push_back(regs_[0]);
    out.bindings.insert(out.bindings.end(), subst_.begin(), subst_.end());
    if (out.size() >= limits_[p]) {
      done_[p] = true;
      --active_;
    }
  }

  const ProgramSet& set_;
  const EGraph& g_;
  std::span<const std::size_t> limits_;
  std::span<const MatchFilter> filters_;
  Deadline deadline_;
  std::vector<EClassId> regs_;
  std::vector<EClassId> subst_, lookup_buf_, children_;
  std::vector<MatchSet> out_;
  std::vector<bool> done_;
  std::size_t active_ = 0;
  std::uint64_t steps_ = 0;
  bool timed_out_ = false;
};

std::vector<MatchSet> search_all(const ProgramSet& programs, const EGraph& graph, std::span<const std::size_t> limits,
                                 std::span<const MatchFilter> filters, Deadline deadline) {
  return ProgramSetRunner(programs, graph, limits, filters, deadline).run_all();
}

MatchSet search(const MatchProgram& program, const EGraph& graph, std::size_t limit, const MatchFilter& filter,
                Deadline deadline) {
  ProgramSet set({&program});
  std::size_t limits[1] = {limit};
  return std::move(ProgramSetRunner(set, graph, limits, std::span<const MatchFilter>(&filter, 1), deadline).run_all()[0]);
}

MatchSet search_class(const MatchProgram& program, const EGraph& graph, EClassId root, std::size_t limit,
                      const MatchFilter& filter) {
  ProgramSet set({&program});
  std::size_t limits[1] = {limit};
  return std::move(
      ProgramSetRunner(set, graph, limits, std::span<const MatchFilter>(&filter, 1), std::nullopt)
          .run_from_class(graph.find(root))[0]);
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
