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
  std::vector<EClassId> roots;
  std::vector<EClassId> bindings;

  std::size_t size() const { return roots.size(); }
  std::span<const EClassId> subst(std::size_t k) const { return {bindings.data() + k * width, width}; }
};

// Called for each candidate match; returning false drops it (guards use this).
using MatchFilter = std::function<bool(EClassId root, std::span<const EClassId> subst)>;

// Runs the program over the whole e-graph (which must be clean). Stops after `limit`
// accepted matches.
MatchSet search(const MatchProgram& program, const EGraph& graph, std::size_t limit = SIZE_MAX,
                const MatchFilter& filter = nullptr);
// Runs the program rooted at one class only (skipping the Scan).
MatchSet search_class(const MatchProgram& program, const EGraph& graph, EClassId root,
                      std::size_t limit = SIZE_MAX, const MatchFilter& filter = nullptr);

// One instruction per line, e.g. `  1: bind     r0 add/2 -> r1 r2`. The program carries the
// names of its operators, so no OpTable is needed.
std::string disassemble(const MatchProgram& program);
inline std::string disassemble(const MatchProgram& program, const OpTable&) { return disassemble(program); }

}  // namespace twin::egraph
