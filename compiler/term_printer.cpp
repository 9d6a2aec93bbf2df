#include "compiler/term_printer.h"

#include "compiler/operator_precedence.h"

namespace twin {

namespace {

using namespace precedence;

bool is_infix(const Term& t) {
  return t.kind == TermKind::Apply && t.attributes.empty() && t.operands.size() == 2 && infix_spelling(t.name);
}
bool is_negation(const Term& t) {
  return t.kind == TermKind::Apply && t.attributes.empty() && t.operands.size() == 1 && t.name == "neg";
}

int level(const Term& t) {
  if (is_infix(t)) return of_binary(infix_spelling(t.name));
  if (is_negation(t)) return kUnary;
  if (t.kind == TermKind::Apply) return kPostfix;
  if (t.kind == TermKind::Constant) return of_number_text(rational_to_string(t.constant));
  return kAtom;
}

std::string print_at_least(const Term& t, int needed);

std::string print_unwrapped(const Term& t) {
  switch (t.kind) {
    case TermKind::Symbol: return t.name;
    case TermKind::Wildcard: return "_";
    case TermKind::Constant: return rational_to_string(t.constant);
    case TermKind::String: return quote_string(t.name);
    case TermKind::Var: return "?" + t.name;
    case TermKind::Placeholder: return "{" + t.name + "}";
    case TermKind::EClass: return "$e" + std::to_string(t.eclass);
    case TermKind::List: {
      std::string out = "[";
      for (std::size_t i = 0; i < t.operands.size(); ++i) out += (i ? ", " : "") + print_term(*t.operands[i]);
      return out + "]";
    }
    case TermKind::Apply: {
      if (is_infix(t)) {
        std::string op = infix_spelling(t.name);
        if (op == "**")  // right-associative
          return print_at_least(*t.operands[0], kPostfix) + " ** " + print_at_least(*t.operands[1], kPower);
        int p = of_binary(op);
        return print_at_least(*t.operands[0], p) + " " + op + " " + print_at_least(*t.operands[1], p + 1);
      }
      if (is_negation(t)) return "-" + print_at_least(*t.operands[0], kUnary);
      std::string out = t.name + "(";
      bool first = true;
      for (const auto& o : t.operands) {
        out += (first ? "" : ", ") + print_term(*o);
        first = false;
      }
      for (const auto& [name, value] : t.attributes) {
        out += (first ? "" : ", ") + name + "=" + print_term(*value);
        first = false;
      }
      return out + ")";
    }
  }
  return "?";
}

std::string print_at_least(const Term& t, int needed) {
  std::string text = print_unwrapped(t);
  return level(t) < needed ? "(" + text + ")" : text;
}

}  // namespace

std::string print_term(const Term& term) { return print_unwrapped(term); }

std::string quote_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\0': out += "\\0"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

}  // namespace twin
