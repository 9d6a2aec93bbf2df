#include "compiler/stages.h"

#include "compiler/term_printer.h"
#include "egraph/machine.h"

namespace twin::compiler {

namespace eg = twin::egraph;

std::optional<Stage> parse_stage(std::string_view name) {
  if (name == "terms") return Stage::Terms;
  if (name == "patterns") return Stage::Patterns;
  if (name == "program" || name == "programs") return Stage::Program;
  return std::nullopt;
}

const char* stage_name(Stage stage) {
  switch (stage) {
    case Stage::Terms: return "terms";
    case Stage::Patterns: return "patterns";
    case Stage::Program: return "program";
  }
  return "program";
}

std::string print_term_prefix(const Term& t) {
  switch (t.kind) {
    case TermKind::List: {
      std::string out = "[";
      for (std::size_t i = 0; i < t.operands.size(); ++i) out += (i ? ", " : "") + print_term_prefix(*t.operands[i]);
      return out + "]";
    }
    case TermKind::Apply: {
      std::string out = t.name + "(";
      bool first = true;
      for (const auto& o : t.operands) {
        out += (first ? "" : ", ") + print_term_prefix(*o);
        first = false;
      }
      for (const auto& [name, value] : t.attributes) {
        out += (first ? "" : ", ") + name + "=" + print_term_prefix(*value);
        first = false;
      }
      return out + ")";
    }
    default: return print_term(t);
  }
}

namespace {

std::string indent(const std::string& text, const std::string& by) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += by + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

const char* direction_label(const CompiledRule& rule, const eg::Rewrite& rw) {
  if (!rule.source->bidirectional) return "";
  return rw.reversed ? "right-to-left" : "left-to-right";
}

std::string header(const CompiledRule& rule) {
  const RuleSource& s = *rule.source;
  std::string text = "# " + s.qualified_name() + " (" + s.location.to_string() + ")\n";
  text += "rule " + s.name + ": " + print_term(*s.lhs) + (s.bidirectional ? " <=> " : " => ") + print_term(*s.rhs);
  if (!s.guard_text.empty()) text += " if " + s.guard_text;
  return text + "\n";
}

std::string patterns(const std::vector<eg::Rewrite>& rewrites, const CompiledRule& rule, const eg::OpTable& ops,
                     const std::string& by) {
  std::string out;
  for (const auto& rw : rewrites) {
    std::string label = direction_label(rule, rw);
    if (!label.empty()) out += by + label + ":\n";
    std::string inner = by + (label.empty() ? "" : "  ");
    out += inner + "lhs:   " + pattern_text(rw.lhs, ops) + "\n";
    out += inner + "rhs:   " + pattern_text(rw.rhs, ops) + "\n";
    if (rw.guard) out += inner + "guard: " + rw.guard->to_string() + "\n";
  }
  return out;
}

std::string rhs_plan(const eg::CompiledRewrite& program, const eg::OpTable& ops) {
  std::string out;
  for (std::size_t i = 0; i < program.rhs.size(); ++i) {
    const auto& step = program.rhs[i];
    out += "  %" + std::to_string(i) + " = ";
    if (step.is_var) {
      out += "?" + program.program.variables.at(step.slot) + "\n";
      continue;
    }
    out += ops.display(step.op);
    for (auto c : step.children) out += " %" + std::to_string(c);
    out += "\n";
  }
  return out;
}

}  // namespace

std::string print_stage(const CompiledRule& rule, Stage stage, const eg::OpTable& ops) {
  const RuleSource& s = *rule.source;
  std::string out = header(rule);
  switch (stage) {
    case Stage::Terms: {
      out += "  lhs:   " + print_term_prefix(*s.lhs) + "\n";
      out += "  rhs:   " + print_term_prefix(*s.rhs) + "\n";
      if (!s.guard_text.empty()) out += "  guard: " + s.guard_text + "\n";
      if (s.bidirectional) out += "  both directions (<=>)\n";
      return out;
    }
    case Stage::Patterns: {
      out += patterns(rule.rewrites, rule, ops, "  ");
      if (rule.expands_bodies) out += "  with declared ops' bodies expanded (what is verified and checked):\n" +
                                      patterns(rule.meaning, rule, ops, "    ");
      return out;
    }
    case Stage::Program: {
      for (std::size_t i = 0; i < rule.programs.size(); ++i) {
        const auto& program = rule.programs[i];
        std::string label = direction_label(rule, rule.rewrites[i]);
        if (!label.empty()) out += std::string("  ") + label + ":\n";
        out += indent(eg::disassemble(program.program, ops), "    ");
        if (program.guard) out += "    guard: " + rule.rewrites[i].guard->to_string() + "\n";
        out += "    rhs:\n" + indent(rhs_plan(program, ops), "    ");
      }
      return out;
    }
  }
  return out;
}

}  // namespace twin::compiler
