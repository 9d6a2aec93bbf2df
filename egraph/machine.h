// The e-matching VM: runs a compiled pattern (a MatchProgram) over a clean e-graph.
//
// A program is a flat list of instructions over registers that each hold an e-class id
// (egg's machine.rs design):
//   Scan    out <- each root class containing op X (via the e-graph's op index), or every
//           class when the pattern's root is a variable; always the first instruction;
//   Bind    for each node of class r[i] with op X: r[out..out+arity) <- its children;
//   Compare r[i] and r[j] are the same class (a variable seen twice), else backtrack;
//   Lookup  a ground subterm (no unbound variables) is looked up in the hash-cons and must
//           be class r[i], else backtrack.
// Reaching the end of the program yields one substitution: the registers of the
// pattern's variables, in MatchProgram::variables order. Bind and Scan backtrack over all
// alternatives, so the program enumerates every match; the order is deterministic (class
// ids ascending, then nodes in their sorted order).
#pragma once

#include "egraph/egraph.h"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace twin::egraph {

using Reg = std::uint32_t;

struct Instruction {
  enum class Kind : std::uint8_t { Scan, Bind, Compare, Lookup };
  Kind kind = Kind::Scan;
  Reg i = 0;    // Bind: class register; Compare: first; Lookup: register to compare with
  Reg out = 0;  // Scan/Bind: first output register; Compare: second register
  OpId op = 0;  // Scan (when has_op) / Bind: the operator
  bool has_op = true;         // Scan: false = every class
  std::uint32_t arity = 0;    // Bind (and Scan, for display)
  std::uint32_t lookup = 0;   // Lookup: index into MatchProgram::lookups
};

// A ground term to look up; entries index earlier entries, the last is the root.
struct LookupTerm {
  struct Entry {
    bool is_reg = false;
    Reg reg = 0;                         // is_reg: an already bound register
    OpId op = 0;                         // else: a node whose children index earlier entries
    std::vector<std::uint32_t> children;
  };
  std::vector<Entry> entries;
};

struct MatchProgram {
  std::vector<Instruction> instructions;
  std::vector<LookupTerm> lookups;
  std::vector<std::string> variables;  // in order of first occurrence in the pattern
  std::vector<Reg> variable_regs;      // register holding each variable at a yield
  Reg num_regs = 1;
  std::string source;                  // the pattern's s-expression, for disassembly
  std::map<OpId, std::string> op_names;  // display names of the ops used, for disassembly
};

// All matches found by one search: for match k, roots[k] is the class the pattern matched
// and bindings[k*width .. (k+1)*width) the classes of the variables.
struct MatchSet {
  std::size_t width = 0;
  bool timed_out = false;  // the search hit its deadline; the matches are a prefix
  std::vector<EClassId> roots;
  std::vector<EClassId> bindings;

  std::size_t size() const { return roots.size(); }
  std::span<const EClassId> subst(std::size_t k) const { return {bindings.data() + k * width, width}; }
};

// Called for each candidate match; returning false drops it (guards use this).
using MatchFilter = std::function<bool(EClassId root, std::span<const EClassId> subst)>;

// Runs the program over the whole e-graph (which must be clean). Stops after `limit`
// accepted matches, or (checked every few thousand steps) once `deadline` has passed.
using Deadline = std::optional<std::chrono::steady_clock::time_point>;
MatchSet search(const MatchProgram& program, const EGraph& graph, std::size_t limit = SIZE_MAX,
                const MatchFilter& filter = nullptr, Deadline deadline = std::nullopt);
// Runs the program rooted at one class only (skipping the Scan).
MatchSet search_class(const MatchProgram& program, const EGraph& graph, EClassId root,
                      std::size_t limit = SIZE_MAX, const MatchFilter& filter = nullptr);

// Several programs searched in one pass (the patterns of one ruleset, MLIR-PDL style):
// the programs are merged into a trie on their instruction sequences, so a prefix they
// share (typically the Scan and the first Bind of rules with the same root operator) runs
// once, and the search branches where they differ. The compiler allocates registers in
// order, so a shared prefix writes the same registers in every program and a branch only
// writes registers its prefix never reads. Each program still gets its own matches, in
// the order its own search would produce them, its own limit and its own filter.
class ProgramSet {
 public:
  explicit ProgramSet(std::vector<const MatchProgram*> programs);
  std::size_t size() const { return programs_.size(); }
  // Instructions in the trie vs in all programs together: how much is shared.
  std::size_t trie_instructions() const { return nodes_.size(); }
  std::size_t total_instructions() const;

 private:
  friend class ProgramSetRunner;
  struct Node {
    const Instruction* instruction;
    const LookupTerm* lookup;       // Lookup only
    std::vector<std::uint32_t> children;
    std::vector<std::uint32_t> yields;    // programs that end here
    std::vector<std::uint32_t> programs;  // programs passing through here
  };
  std::vector<const MatchProgram*> programs_;
  std::vector<Node> nodes_;
  std::vector<std::uint32_t> roots_;
  Reg num_regs_ = 1;
};

// limits[k] and filters[k] belong to program k (a limit of 0 skips the program; an empty
// filters span means no filters).
std::vector<MatchSet> search_all(const ProgramSet& programs, const EGraph& graph, std::span<const std::size_t> limits,
                                 std::span<const MatchFilter> filters = {}, Deadline deadline = std::nullopt);

// One instruction per line, e.g. `  1: bind     r0 add/2 -> r1 r2`. The program carries the
// names of its operators, so no OpTable is needed.
std::string disassemble(const MatchProgram& program);
inline std::string disassemble(const MatchProgram& program, const OpTable&) { return disassemble(program); }

}  // namespace twin::egraph
