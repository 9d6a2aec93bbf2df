// Declared parameter relations (relation_template.h): patterns and the instantiation of a
// declaration's template.
#include "compiler/relation_template.h"

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
Rational placeholder_number(const Term& t, const PatternBindings& bindings) {
  auto it = bindings.find(t.name);
  if (it == bindings.end())
    throw Error(ErrorKind::Syntax, "placeholder {" + t.name + "} is not bound by the left side of the relation", t.location);
  const std::string& segment = it->second;
  bool digits = !segment.empty() && std::all_of(segment.begin(), segment.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits)
    throw Error(ErrorKind::Value,
                "placeholder {" + t.name + "} is bound to '" + segment + "' here, which is not a number; expected an integer segment",
                t.location);
  return Rational(BigInt(segment));
}

// Folds `op` on numbers; nullopt when the operator is not arithmetic.
std::optional<Rational> fold(const std::string& op, const std::vector<Rational>& x, const SourceLocation& where) {
  if (op == "neg" && x.size() == 1) return Rational(-x[0]);
  if (x.size() != 2) return std::nullopt;
  const Rational &a = x[0], &b = x[1];
  if (op == "add") return Rational(a + b);
  if (op == "sub") return Rational(a - b);
  if (op == "mul") return Rational(a * b);
  if (op == "div") {
    if (b == 0) throw Error(ErrorKind::Value, "division by zero", where);
    return Rational(a / b);
  }
  if (op == "%") {
    if (!is_integer(a) || !is_integer(b) || b == 0)
      throw Error(ErrorKind::Value, "`%` needs integers and a non-zero divisor", where);
    BigInt p = boost::multiprecision::numerator(a), q = boost::multiprecision::numerator(b);
    BigInt r = p % q;
    if (r != 0 && ((r < 0) != (q < 0))) r += q;  // Python's sign convention, as the language's `%`
    return Rational(r);
  }
  if (op == "pow") {
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

  // `operand`: the term stands for a tensor (its names are reference names); otherwise it is
  // an attribute value (`dim=0`, `dtype=bf16`).
  TermPtr walk(const Term& t, bool operand) {
    switch (t.kind) {
      case TermKind::Symbol: {
        auto n = std::make_shared<Term>(t);
        try {
          n->name = instantiate_pattern(t.name, bindings_);
        } catch (const std::out_of_range&) {
          throw Error(ErrorKind::Syntax, "a placeholder of " + t.name + " is not bound by the left side of the relation",
                      t.location);
        }
        if (operand && !is_boolean_symbol(*n)) out_.sources.emplace_back(n->name, t.location);
        return n;
      }
      case TermKind::Placeholder: return make_constant(placeholder_number(t, bindings_), t.location);
      case TermKind::List: {
        auto n = std::make_shared<Term>(t);
        for (auto& o : n->operands) o = walk(*o, operand);
        return n;
      }
      case TermKind::Apply: {
        auto n = std::make_shared<Term>(t);
        std::vector<Rational> numbers;
        bool all_numbers = true;
        for (auto& o : n->operands) {
          o = walk(*o, operand);
          all_numbers = all_numbers && o->kind == TermKind::Constant;
          if (all_numbers) numbers.push_back(o->constant);
        }
        for (auto& [name, value] : n->attributes) value = walk(*value, false);
        if (all_numbers && n->attributes.empty())
          if (auto v = fold(n->name, numbers, t.location)) return make_constant(*v, t.location);
        if (n->name == "%")
          throw Error(ErrorKind::Syntax,
                      "the operator '%' cannot appear in a term; expected an operator application, a name, a number, a "
                      "string or a list",
                      t.location);
        return n;
      }
      default: return std::make_shared<Term>(t);
    }
  }

 private:
  const PatternBindings& bindings_;
  InstantiatedRelation& out_;
};

// Every placeholder of a template (in patterns and as numbers), with where it is written.
void template_placeholders(const Term& t, std::vector<std::pair<std::string, SourceLocation>>& out) {
  if (t.kind == TermKind::Placeholder) out.emplace_back(t.name, t.location);
  if (t.kind == TermKind::Symbol)
    for (const auto& p : pattern_placeholders(t.name)) out.emplace_back(p, t.location);
  for (const auto& o : t.operands) template_placeholders(*o, out);
  for (const auto& [n, a] : t.attributes) template_placeholders(*a, out);
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
  out.term = instantiator.walk(*relation.source, true);
  return out;
}

void check_relation_form(DeclaredRelation& relation) {
  relation.placeholders = pattern_placeholders(relation.port);
  std::vector<std::pair<std::string, SourceLocation>> used;
  template_placeholders(*relation.source, used);
  for (const auto& [name, where] : used)
    if (std::find(relation.placeholders.begin(), relation.placeholders.end(), name) == relation.placeholders.end())
      throw Error(ErrorKind::Syntax,
                  "placeholder {" + name + "} is not bound by the left side `" + relation.port +
                      "`; expected one of its placeholders" +
                      (relation.placeholders.empty() ? std::string(" (it has none)") : std::string()),
                  where);
  PatternBindings ones;
  for (const auto& p : relation.placeholders) ones[p] = "1";
  try {
    instantiate_relation(relation, ones);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Syntax) throw;
  }
}

}  // namespace twin
