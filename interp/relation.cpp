// Declared parameter relations (relation.h): patterns and the instantiation of a declaration.
#include "interp/relation.h"

#include "util/error.h"

#include <algorithm>
#include <stdexcept>

namespace twin {

namespace {

bool is_placeholder(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::string placeholder_name(const std::string& segment) { return segment.substr(1, segment.size() - 2); }

// A placeholder's binding as an integer, for `{r}` used as a number.
Rational placeholder_number(const Expr& e, const PatternBindings& bindings) {
  auto it = bindings.find(e.text);
  if (it == bindings.end())
    throw Error(ErrorKind::Syntax, "placeholder {" + e.text + "} is not bound by the left side of the relation", e.location);
  const std::string& segment = it->second;
  bool digits = !segment.empty() && std::all_of(segment.begin(), segment.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits)
    throw Error(ErrorKind::Value,
                "placeholder {" + e.text + "} is bound to '" + segment + "' here, which is not a number; expected an integer segment",
                e.location);
  return Rational(BigInt(segment));
}

std::shared_ptr<Expr> number_node(const Rational& value, const Expr& like) {
  auto n = std::make_shared<Expr>();
  n->kind = ExprKind::Number;
  n->location = like.location;
  n->number = value;
  return n;
}

// Folds `a op b` on two numbers; nullopt when the operator is not arithmetic.
std::optional<Rational> fold(const std::string& op, const Rational& a, const Rational& b, const SourceLocation& where) {
  if (op == "+") return Rational(a + b);
  if (op == "-") return Rational(a - b);
  if (op == "*") return Rational(a * b);
  if (op == "/") {
    if (b == 0) throw Error(ErrorKind::Value, "division by zero", where);
    return Rational(a / b);
  }
  if (op == "%") {
    if (!is_integer(a) || !is_integer(b) || b == 0)
      throw Error(ErrorKind::Value, "`%` needs integers and a non-zero divisor", where);
    BigInt x = boost::multiprecision::numerator(a), y = boost::multiprecision::numerator(b);
    BigInt r = x % y;
    if (r != 0 && ((r < 0) != (y < 0))) r += y;  // Python's sign convention, as the language's `%`
    return Rational(r);
  }
  if (op == "**") {
    if (!is_integer(b) || b < 0 || b > 4096)
      throw Error(ErrorKind::Value, "`**` in a relation needs a small non-negative integer exponent", where);
    Rational out = 1;
    for (auto k = boost::multiprecision::numerator(b); k > 0; --k) out *= a;
    return out;
  }
  return std::nullopt;
}

class Instantiator {
 public:
  Instantiator(const PatternBindings& bindings, InstantiatedRelation& out) : bindings_(bindings), out_(out) {}

  // `operand`: the expression stands for a tensor (its names are reference names); otherwise it
  // is an attribute value (`dim=0`, `dtype=bf16`).
  ExprPtr walk(const Expr& e, bool operand) {
    switch (e.kind) {
      case ExprKind::Path: {
        auto n = std::make_shared<Expr>(e);
        n->kind = ExprKind::Name;
        try {
          n->text = instantiate_pattern(e.text, bindings_);
        } catch (const std::out_of_range&) {
          throw Error(ErrorKind::Syntax, "a placeholder of " + e.text + " is not bound by the left side of the relation",
                      e.location);
        }
        if (operand) out_.sources.emplace_back(n->text, e.location);
        return n;
      }
      case ExprKind::Name:
        if (operand && e.text != "_") out_.sources.emplace_back(e.text, e.location);
        return std::make_shared<Expr>(e);
      case ExprKind::Placeholder: return number_node(placeholder_number(e, bindings_), e);
      case ExprKind::Call: {
        auto n = std::make_shared<Expr>(e);
        n->operands.clear();
        n->operands.push_back(e.operands[0]);  // the operator's name
        for (std::size_t i = 1; i < e.operands.size(); ++i) {
          bool positional = i - 1 >= e.arg_names.size() || e.arg_names[i - 1].empty();
          n->operands.push_back(walk(*e.operands[i], operand && positional));
        }
        return n;
      }
      case ExprKind::List:
      case ExprKind::Quote: {
        auto n = std::make_shared<Expr>(e);
        for (auto& o : n->operands) o = walk(*o, operand);
        return n;
      }
      case ExprKind::Unary: {
        ExprPtr inner = walk(*e.operands[0], operand);
        if (inner->kind == ExprKind::Number && e.text == "-") return number_node(Rational(-inner->number), e);
        auto n = std::make_shared<Expr>(e);
        n->operands = {inner};
        return n;
      }
      case ExprKind::Binary: {
        ExprPtr l = walk(*e.operands[0], operand);
        ExprPtr r = walk(*e.operands[1], operand);
        if (l->kind == ExprKind::Number && r->kind == ExprKind::Number)
          if (auto v = fold(e.text, l->number, r->number, e.location)) return number_node(*v, e);
        auto n = std::make_shared<Expr>(e);
        n->operands = {l, r};
        return n;
      }
      default: return std::make_shared<Expr>(e);  // lower_term says what is not a term
    }
  }

 private:
  const PatternBindings& bindings_;
  InstantiatedRelation& out_;
};

// Every placeholder of the right side (in patterns and as numbers), with where it is written.
void right_side_placeholders(const Expr& e, std::vector<std::pair<std::string, SourceLocation>>& out) {
  if (e.kind == ExprKind::Placeholder) out.emplace_back(e.text, e.location);
  if (e.kind == ExprKind::Path)
    for (const auto& p : pattern_placeholders(e.text)) out.emplace_back(p, e.location);
  for (const auto& o : e.operands)
    if (o) right_side_placeholders(*o, out);
}

}  // namespace

std::vector<std::string> pattern_segments(const std::string& pattern) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = pattern.find('.', start);
    out.push_back(pattern.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

std::vector<std::string> pattern_placeholders(const std::string& pattern) {
  std::vector<std::string> out;
  for (const auto& segment : pattern_segments(pattern)) {
    if (!is_placeholder(segment)) continue;
    std::string name = placeholder_name(segment);
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  return out;
}

std::optional<PatternBindings> match_pattern(const std::string& pattern, const std::string& name) {
  auto want = pattern_segments(pattern);
  auto have = pattern_segments(name);
  if (want.size() != have.size()) return std::nullopt;
  PatternBindings bindings;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!is_placeholder(want[i])) {
      if (want[i] != have[i]) return std::nullopt;
      continue;
    }
    if (have[i].empty()) return std::nullopt;
    auto [it, inserted] = bindings.emplace(placeholder_name(want[i]), have[i]);
    if (!inserted && it->second != have[i]) return std::nullopt;
  }
  return bindings;
}

std::string instantiate_pattern(const std::string& pattern, const PatternBindings& bindings) {
  std::string out;
  bool first = true;
  for (const auto& segment : pattern_segments(pattern)) {
    if (!first) out += '.';
    first = false;
    out += is_placeholder(segment) ? bindings.at(placeholder_name(segment)) : segment;
  }
  return out;
}

InstantiatedRelation instantiate_relation(const DeclaredRelation& relation, const PatternBindings& bindings) {
  InstantiatedRelation out;
  Instantiator instantiator(bindings, out);
  ExprPtr substituted = instantiator.walk(*relation.source, true);
  out.term = lower_term(*substituted, nullptr, /*allow_vars=*/false);
  return out;
}

DeclaredRelation make_declared_relation(const Stmt& statement) {
  DeclaredRelation relation;
  relation.port = statement.text;
  relation.source = statement.expr;
  relation.location = statement.location;
  relation.port_location = statement.target ? statement.target->location : statement.location;
  relation.placeholders = pattern_placeholders(relation.port);
  std::vector<std::pair<std::string, SourceLocation>> used;
  right_side_placeholders(*relation.source, used);
  for (const auto& [name, where] : used)
    if (std::find(relation.placeholders.begin(), relation.placeholders.end(), name) == relation.placeholders.end())
      throw Error(ErrorKind::Syntax,
                  "placeholder {" + name + "} is not bound by the left side `" + relation.port +
                      "`; expected one of its placeholders" +
                      (relation.placeholders.empty() ? std::string(" (it has none)") : std::string()),
                  where);
  // The right side must be a term: try it with every placeholder bound to 1 (a value error,
  // such as a division by zero for that binding, is left to the instantiation that meets it).
  PatternBindings ones;
  for (const auto& p : relation.placeholders) ones[p] = "1";
  try {
    instantiate_relation(relation, ones);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Syntax) throw;
  }
  return relation;
}

}  // namespace twin
