#include "egraph/sexpr.h"

#include <cctype>
#include <stdexcept>

namespace twin::egraph {

namespace {

// One recursive-descent reader serves both terms and patterns.
class Reader {
 public:
  Reader(std::string_view text, OpTable& ops, bool allow_vars) : text_(text), ops_(ops), allow_vars_(allow_vars) {}

  Pattern read_all() {
    Pattern p = read();
    skip_space();
    if (pos_ != text_.size()) fail("trailing text");
    return p;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("s-expression: " + what + " at offset " + std::to_string(pos_) + " in `" +
                                std::string(text_) + "`");
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  std::string read_atom() {
    std::size_t start = pos_;
    while (pos_ < text_.size() && !std::isspace(static_cast<unsigned char>(text_[pos_])) && text_[pos_] != '(' &&
           text_[pos_] != ')')
      ++pos_;
    if (start == pos_) fail("expected an atom");
    return std::string(text_.substr(start, pos_ - start));
  }
  Pattern read() {
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end");
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      skip_space();
      std::string name = read_atom();
      std::vector<Pattern> children;
      for (;;) {
        skip_space();
        if (pos_ >= text_.size()) fail("missing ')'");
        if (text_[pos_] == ')') {
          ++pos_;
          break;
        }
        children.push_back(read());
      }
      OpId op = ops_.intern_apply(name, static_cast<std::uint32_t>(children.size()));
      return Pattern::Node(op, std::move(children));
    }
    if (c == ')') fail("unexpected ')'");
    if (c == '"') {
      ++pos_;
      std::string s;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        s += text_[pos_++];
      }
      if (pos_ >= text_.size()) fail("unterminated string");
      ++pos_;
      return Pattern::Node(ops_.intern_string(s));
    }
    std::string atom = read_atom();
    if (atom[0] == '?') {
      if (!allow_vars_) fail("pattern variable in a term");
      return Pattern::Var(atom.substr(1));
    }
    bool numeric = std::isdigit(static_cast<unsigned char>(atom[0])) ||
                   ((atom[0] == '-' || atom[0] == '+') && atom.size() > 1 &&
                    std::isdigit(static_cast<unsigned char>(atom[1])));
    if (numeric) {
      auto value = parse_rational(atom);
      if (!value) fail("malformed number `" + atom + "`");
      return Pattern::Node(ops_.intern_constant(*value));
    }
    return Pattern::Node(ops_.intern_symbol(atom));
  }

  std::string_view text_;
  OpTable& ops_;
  bool allow_vars_;
  std::size_t pos_ = 0;
};

EClassId append(const Pattern& p, RecExpr& out) {
  std::vector<EClassId> children;
  for (const Pattern& c : p.children) children.push_back(append(c, out));
  return out.add(p.op, std::move(children));
}

}  // namespace

RecExpr parse_term(std::string_view text, OpTable& ops) {
  Pattern p = Reader(text, ops, false).read_all();
  RecExpr out;
  append(p, out);
  return out;
}

Pattern parse_pattern(std::string_view text, OpTable& ops) { return Reader(text, ops, true).read_all(); }

}  // namespace twin::egraph
