#include "compiler/term.h"

#include <functional>

namespace twin {

bool Term::operator==(const Term& other) const {
  if (kind != other.kind || name != other.name) return false;
  if (kind == TermKind::Constant && constant != other.constant) return false;
  if (kind == TermKind::EClass && (eclass != other.eclass || egraph != other.egraph)) return false;
  if (operands.size() != other.operands.size() || attributes.size() != other.attributes.size()) return false;
  for (std::size_t i = 0; i < operands.size(); ++i)
    if (!(*operands[i] == *other.operands[i])) return false;
  for (std::size_t i = 0; i < attributes.size(); ++i)
    if (attributes[i].first != other.attributes[i].first || !(*attributes[i].second == *other.attributes[i].second))
      return false;
  return true;
}

namespace {

std::shared_ptr<Term> node(TermKind kind, SourceLocation location) {
  auto t = std::make_shared<Term>();
  t->kind = kind;
  t->location = std::move(location);
  return t;
}

}  // namespace

TermPtr make_symbol(std::string name, SourceLocation location) {
  auto t = node(TermKind::Symbol, std::move(location));
  t->name = std::move(name);
  return t;
}

TermPtr make_constant(Rational value, SourceLocation location) {
  auto t = node(TermKind::Constant, std::move(location));
  t->constant = std::move(value);
  return t;
}

TermPtr make_string(std::string text, SourceLocation location) {
  auto t = node(TermKind::String, std::move(location));
  t->name = std::move(text);
  return t;
}

TermPtr make_apply(std::string op, std::vector<TermPtr> operands, std::vector<std::pair<std::string, TermPtr>> attributes,
                   SourceLocation location) {
  auto t = node(TermKind::Apply, std::move(location));
  t->name = std::move(op);
  t->operands = std::move(operands);
  t->attributes = std::move(attributes);
  return t;
}

TermPtr make_term_list(std::vector<TermPtr> items, SourceLocation location) {
  auto t = node(TermKind::List, std::move(location));
  t->operands = std::move(items);
  return t;
}

std::string infix_operator_name(const std::string& infix) {
  if (infix == "+") return "add";
  if (infix == "-") return "sub";
  if (infix == "*") return "mul";
  if (infix == "/") return "div";
  if (infix == "**") return "pow";
  return "";
}

const char* infix_spelling(const std::string& op) {
  if (op == "add") return "+";
  if (op == "sub") return "-";
  if (op == "mul") return "*";
  if (op == "div") return "/";
  if (op == "pow") return "**";
  return nullptr;
}

std::vector<std::string> term_variables(const Term& term) {
  std::vector<std::string> out;
  std::function<void(const Term&)> walk = [&](const Term& t) {
    if (t.kind == TermKind::Var) {
      for (const auto& v : out)
        if (v == t.name) return;
      out.push_back(t.name);
    }
    for (const auto& o : t.operands) walk(*o);
    for (const auto& [n, a] : t.attributes) walk(*a);
  };
  walk(term);
  return out;
}

bool is_boolean_symbol(const Term& term) {
  return term.kind == TermKind::Symbol && (term.name == "true" || term.name == "false");
}

}  // namespace twin
