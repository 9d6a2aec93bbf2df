#include "interp/printer.h"

#include "compiler/operator_precedence.h"
#include "compiler/term_printer.h"

#include <algorithm>
#include <climits>
#include <set>
#include <sstream>

namespace twin {
namespace {

using namespace precedence;

int precedence(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Quote: return kQuote;
    case ExprKind::Or: return kOr;
    case ExprKind::And: return kAnd;
    case ExprKind::Not: return kNot;
    case ExprKind::Compare: return kCompare;
    case ExprKind::Binary: return of_binary(e.text);
    case ExprKind::Unary: return kUnary;
    case ExprKind::Call:
    case ExprKind::Index:
    case ExprKind::Member: return kPostfix;
    case ExprKind::Number: return of_number_text(e.text);
    default: return kAtom;
  }
}

std::string print_at_least(const Expr& e, int needed);

std::string print_args(const std::vector<ExprPtr>& args, const std::vector<std::string>& names, std::size_t first) {
  std::string out;
  for (std::size_t i = first; i < args.size(); ++i) {
    if (i > first) out += ", ";
    const std::string& name = names.size() > i - first ? names[i - first] : std::string();
    if (!name.empty()) out += name + "=";
    out += print_expr(*args[i]);
  }
  return out;
}

std::string print_block_inline(const Block& block);

std::string print_unwrapped(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Number: return e.text.empty() ? rational_to_string(e.number) : e.text;
    case ExprKind::String: return quote_string(e.text);
    case ExprKind::Bool: return e.boolean ? "true" : "false";
    case ExprKind::Nil: return "nil";
    case ExprKind::PatternVar: return "?" + e.text;
    case ExprKind::Name: return e.text;
    case ExprKind::Splice: {
      const Expr& inner = *e.operands[0];
      if (inner.kind == ExprKind::Name && !inner.parenthesized) return "$" + inner.text;
      return "$(" + print_expr(inner) + ")";
    }
    case ExprKind::List: {
      std::string out = "[";
      for (std::size_t i = 0; i < e.operands.size(); ++i) out += (i ? ", " : "") + print_expr(*e.operands[i]);
      return out + "]";
    }
    case ExprKind::Map: {
      std::string out = "{";
      for (std::size_t i = 0; i + 1 < e.operands.size(); i += 2)
        out += (i ? ", " : "") + print_expr(*e.operands[i]) + ": " + print_expr(*e.operands[i + 1]);
      return out + "}";
    }
    case ExprKind::Call: {
      std::vector<std::string> names = e.arg_names;
      return print_at_least(*e.operands[0], kPostfix) + "(" + print_args(e.operands, names, 1) + ")";
    }
    case ExprKind::Index:
      return print_at_least(*e.operands[0], kPostfix) + "[" + print_expr(*e.operands[1]) + "]";
    case ExprKind::Member: return print_at_least(*e.operands[0], kPostfix) + "." + e.text;
    case ExprKind::Unary: return "-" + print_at_least(*e.operands[0], kUnary);
    case ExprKind::Binary: {
      int p = precedence(e);
      if (e.text == "**")  // right-associative
        return print_at_least(*e.operands[0], kPostfix) + " ** " + print_at_least(*e.operands[1], kPower);
      return print_at_least(*e.operands[0], p) + " " + e.text + " " + print_at_least(*e.operands[1], p + 1);
    }
    case ExprKind::Compare: {
      std::string out = print_at_least(*e.operands[0], kCompare + 1);
      for (std::size_t i = 0; i < e.compare_ops.size(); ++i)
        out += " " + e.compare_ops[i] + " " + print_at_least(*e.operands[i + 1], kCompare + 1);
      return out;
    }
    case ExprKind::And: return print_at_least(*e.operands[0], kAnd) + " and " + print_at_least(*e.operands[1], kAnd + 1);
    case ExprKind::Or: return print_at_least(*e.operands[0], kOr) + " or " + print_at_least(*e.operands[1], kOr + 1);
    case ExprKind::Not: return "not " + print_at_least(*e.operands[0], kNot);
    case ExprKind::Quote: return "term " + print_at_least(*e.operands[0], kQuote);
    case ExprKind::TypedSymbol: {
      std::string out = e.text + ": " + e.type_name + "[";
      for (std::size_t i = 0; i < e.operands.size(); ++i) out += (i ? ", " : "") + print_expr(*e.operands[i]);
      return out + "]";
    }
    case ExprKind::Path: return e.text;
    case ExprKind::Placeholder: return "{" + e.text + "}";
    case ExprKind::Lambda: {
      std::string out = "fn(";
      for (std::size_t i = 0; i < e.function->params.size(); ++i) out += (i ? ", " : "") + e.function->params[i];
      return out + ") " + print_block_inline(e.function->body);
    }
  }
  return "?";
}

std::string print_at_least(const Expr& e, int needed) {
  std::string text = print_unwrapped(e);
  if (precedence(e) < needed) return "(" + text + ")";
  return text;
}

// ---------------------------------------------------------------------------------------
// Statements and files. The Formatter places comments; without comments (printing a single
// statement) it simply has none to place.

struct Line {
  int indent;
  std::string text;
};

class Formatter {
 public:
  explicit Formatter(const std::vector<Comment>& comments) : comments_(comments) {
    std::sort(comments_.begin(), comments_.end(), [](const Comment& a, const Comment& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    used_.assign(comments_.size(), false);
  }

  // Formats `items` at `indent`; comments before `close_line` not yet placed are placed here.
  void block(const Block& items, int indent, int close_line) {
    int previous_end = -1;  // source line where the previous emitted thing ended; -1 at block start
    for (const auto& item : items) {
      if (item->kind == StmtKind::Empty) continue;  // a stray `;` prints as nothing, blank lines included
      int start = item->location.line;
      // Comments anywhere inside a non-block item's lines (other than trailing) move before it.
      int leading_limit = has_block(*item) ? start : item->end_line;
      emit_comments_before(start, indent, previous_end, /*inside_until=*/leading_limit, item->end_line);
      if (previous_end >= 0 && gap_has_blank(previous_end, start)) blank();
      statement(*item, indent);
      previous_end = std::max(item->end_line, last_source_line_);
    }
    // Dangling comments at the end of the block.
    for (std::size_t i = 0; i < comments_.size(); ++i) {
      if (used_[i] || comments_[i].line >= close_line) continue;
      if (previous_end >= 0 && comments_[i].line > previous_end + 1 && gap_has_blank(previous_end, comments_[i].line)) blank();
      emit(indent, comments_[i].text);
      used_[i] = true;
      previous_end = comments_[i].line;
    }
  }

  void set_source(const SourceFile* source) { source_ = source; }

  std::string text() const {
    std::string out;
    // No blank line at the very end: a file ends with exactly one newline.
    std::size_t count = lines_.size();
    while (count > 0 && lines_[count - 1].text.empty()) --count;
    for (std::size_t i = 0; i < count; ++i) {
      const Line& line = lines_[i];
      if (line.text.empty()) {
        out += "\n";
        continue;
      }
      out += std::string(static_cast<std::size_t>(line.indent) * 2, ' ') + line.text + "\n";
    }
    return out;
  }

  void statement(const Stmt& s, int indent) {
    switch (s.kind) {
      case StmtKind::Version: emit(indent, "version " + rational_to_string(s.number), s.location.line); break;
      case StmtKind::Use: emit(indent, "use " + quote_string(s.text), s.location.line); break;
      case StmtKind::Op: emit(indent, print_op(*s.op), s.end_line); break;
      case StmtKind::Relation: {
        // On one line when it fits; else the right side on a line of its own, as a rule's.
        std::string head = "relation " + s.text + " =";
        std::string right = print_expr(*s.expr);
        if (static_cast<int>(head.size() + 1 + right.size()) + indent * 2 <= kLineWidth) {
          emit(indent, head + " " + right, s.end_line);
        } else {
          emit(indent, head);
          emit(indent + 2, right, s.end_line);
        }
        break;
      }
      case StmtKind::Let: emit(indent, "let " + s.text + " = " + print_expr(*s.expr), s.end_line); break;
      case StmtKind::Return: emit(indent, s.expr ? "return " + print_expr(*s.expr) : "return", s.end_line); break;
      case StmtKind::Assert:
        emit(indent, "assert " + print_expr(*s.expr) + (s.message ? ", " + print_expr(*s.message) : ""), s.end_line);
        break;
      case StmtKind::Assign: emit(indent, print_expr(*s.target) + " = " + print_expr(*s.expr), s.end_line); break;
      case StmtKind::ExprStmt: emit(indent, print_expr(*s.expr), s.end_line); break;
      case StmtKind::Empty: break;
      case StmtKind::Fn: {
        std::string header = "fn " + s.function->name + "(";
        for (std::size_t i = 0; i < s.function->params.size(); ++i) header += (i ? ", " : "") + s.function->params[i];
        header += ")";
        braced(header, s.function->body, indent, s.location.line, s.close_line);
        break;
      }
      case StmtKind::If: if_chain(s, indent, ""); break;
      case StmtKind::For:
        braced("for " + s.text + " in " + print_expr(*s.expr), s.body, indent, s.location.line, s.close_line);
        break;
      case StmtKind::While: braced("while " + print_expr(*s.expr), s.body, indent, s.location.line, s.close_line); break;
      case StmtKind::Ruleset: {
        emit(indent, "ruleset " + s.text + " {", s.location.line);
        int previous_end = -1;
        for (const auto& rule : s.rules) {
          emit_comments_before(rule->location.line, indent + 1, previous_end, rule->end_line, rule->end_line);
          if (previous_end >= 0 && gap_has_blank(previous_end, rule->location.line)) blank();
          rule_lines(*rule, indent + 1);
          previous_end = rule->end_line;
        }
        close_block(indent, s.close_line, previous_end);
        break;
      }
      case StmtKind::Cost: {
        emit(indent, "cost " + s.text + " {", s.location.line);
        int previous_end = -1;
        for (const auto& arm : s.arms) {
          emit_comments_before(arm->location.line, indent + 1, previous_end, arm->end_line, arm->end_line);
          if (previous_end >= 0 && gap_has_blank(previous_end, arm->location.line)) blank();
          std::string text = print_expr(*arm->pattern);
          if (arm->guard) text += " if " + print_expr(*arm->guard);
          text += " => " + print_expr(*arm->cost);
          emit(indent + 1, text, arm->end_line);
          previous_end = arm->end_line;
        }
        close_block(indent, s.close_line, previous_end);
        break;
      }
    }
  }

 private:
  std::vector<Comment> comments_;
  std::vector<bool> used_;
  std::vector<Line> lines_;
  const SourceFile* source_ = nullptr;
  int last_source_line_ = -1;

  static bool has_block(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Fn:
      case StmtKind::If:
      case StmtKind::For:
      case StmtKind::While:
      case StmtKind::Ruleset:
      case StmtKind::Cost: return true;
      default: return false;
    }
  }

  // True when the source has an empty line strictly between lines `after` and `before`.
  bool gap_has_blank(int after, int before) const {
    if (!source_) return false;
    for (int line = after + 1; line < before; ++line) {
      std::string_view text = source_->line(line);
      if (text.find_first_not_of(" \t\r") == std::string_view::npos) return true;
    }
    return false;
  }

  void blank() {
    if (!lines_.empty() && !lines_.back().text.empty()) lines_.push_back(Line{0, ""});
  }

  // Emits a line; a comment on `source_line` after the code becomes its trailing comment.
  void emit(int indent, std::string text, int source_line = -1) {
    if (source_line > 0) {
      for (std::size_t i = 0; i < comments_.size(); ++i) {
        if (!used_[i] && comments_[i].line == source_line) {
          text += "  " + comments_[i].text;
          used_[i] = true;
          break;
        }
      }
      last_source_line_ = source_line;
    }
    lines_.push_back(Line{indent, std::move(text)});
  }

  // Places comments that come before `start` (and, moved up, comments inside the item's
  // lines up to `inside_until` other than the one trailing its last line `end_line`).
  void emit_comments_before(int start, int indent, int& previous_end, int inside_until, int end_line) {
    for (std::size_t i = 0; i < comments_.size(); ++i) {
      if (used_[i]) continue;
      const Comment& c = comments_[i];
      bool before = c.line < start;
      bool inside = c.line >= start && c.line <= inside_until && c.line != end_line && inside_until > start;
      if (!before && !inside) continue;
      if (before && previous_end >= 0 && gap_has_blank(previous_end, c.line)) blank();
      emit(indent, c.text);
      used_[i] = true;
      if (before) previous_end = c.line;
    }
  }

  void close_block(int indent, int close_line, int previous_end) {
    for (std::size_t i = 0; i < comments_.size(); ++i) {
      if (used_[i] || comments_[i].line >= close_line) continue;
      if (previous_end >= 0 && gap_has_blank(previous_end, comments_[i].line)) blank();
      emit(indent + 1, comments_[i].text);
      used_[i] = true;
      previous_end = comments_[i].line;
    }
    emit(indent, "}", close_line);
  }

  static bool is_simple(const Stmt& s) { return !has_block(s) && s.kind != StmtKind::Op; }

  bool comments_within(int from, int to) const {
    for (std::size_t i = 0; i < comments_.size(); ++i)
      if (!used_[i] && comments_[i].line >= from && comments_[i].line <= to) return true;
    return false;
  }

  // `header { ... }`: on one line when the source had it on one line, with at most one simple
  // statement, no comments inside, and it fits.
  void braced(const std::string& header, const Block& body, int indent, int open_line, int close_line,
              const std::string& prefix = "") {
    bool one_line_source = open_line == close_line;
    if (one_line_source && body.size() <= 1 && (body.empty() || is_simple(*body[0])) && !comments_within(open_line, close_line - 1)) {
      std::string text = prefix + header + " " + print_block_inline(body);
      if (static_cast<int>(text.size()) + indent * 2 <= kLineWidth) {
        emit(indent, text, close_line);
        return;
      }
    }
    emit(indent, prefix + header + " {", open_line);
    block(body, indent + 1, close_line);
    emit(indent, "}", close_line);
  }

  void if_chain(const Stmt& s, int indent, const std::string& prefix) {
    std::string header = "if " + print_expr(*s.expr);
    if (!s.has_else) {
      braced(header, s.body, indent, s.location.line, s.close_line, prefix);
      return;
    }
    // With an else: the `} else` joins the closing brace line.
    bool one_line = s.location.line == s.close_line && s.body.size() <= 1 && (s.body.empty() || is_simple(*s.body[0]));
    if (one_line && !s.else_is_if && s.close_line == s.else_close_line && s.else_body.size() <= 1 &&
        (s.else_body.empty() || is_simple(*s.else_body[0]))) {
      std::string text = prefix + header + " " + print_block_inline(s.body) + " else " + print_block_inline(s.else_body);
      if (static_cast<int>(text.size()) + indent * 2 <= kLineWidth && !comments_within(s.location.line, s.close_line - 1)) {
        emit(indent, text, s.close_line);
        return;
      }
    }
    emit(indent, prefix + header + " {", s.location.line);
    block(s.body, indent + 1, s.close_line);
    if (s.else_is_if) {
      // "} else if ... {" continues on the closing line.
      const Stmt& next = *s.else_body[0];
      if_chain(next, indent, "} else ");
      return;
    }
    emit(indent, "} else {", s.close_line);
    block(s.else_body, indent + 1, s.else_close_line);
    emit(indent, "}", s.else_close_line);
  }

  void rule_lines(const RuleDecl& rule, int indent) {
    for (const auto& a : rule.annotations) emit(indent, print_annotation(a));
    std::string arrow = rule.bidirectional ? " <=> " : " => ";
    std::string one = "rule " + rule.name + ": " + print_expr(*rule.lhs) + arrow + print_expr(*rule.rhs);
    if (rule.guard) one += " if " + print_expr(*rule.guard);
    if (static_cast<int>(one.size()) + indent * 2 <= kLineWidth) {
      emit(indent, one, rule.end_line);
      return;
    }
    emit(indent, "rule " + rule.name + ":");
    // A long left side that is a sum breaks before each top-level `+` or `-`.
    std::vector<std::string> terms;
    const Expr* e = rule.lhs.get();
    while (e->kind == ExprKind::Binary && (e->text == "+" || e->text == "-")) {
      terms.push_back(e->text + " " + print_at_least(*e->operands[1], kAdd + 1));
      e = e->operands[0].get();
    }
    terms.push_back(print_at_least(*e, kAdd));
    std::reverse(terms.begin(), terms.end());
    if (terms.size() > 1 && static_cast<int>(print_expr(*rule.lhs).size()) + (indent + 2) * 2 > kLineWidth) {
      emit(indent + 2, terms[0]);
      for (std::size_t i = 1; i < terms.size(); ++i) emit(indent + 3, terms[i]);
    } else {
      emit(indent + 2, print_expr(*rule.lhs));
    }
    emit(indent + 2, (rule.bidirectional ? "<=> " : "=> ") + print_expr(*rule.rhs), rule.guard ? -1 : rule.end_line);
    if (rule.guard) emit(indent + 2, "if " + print_expr(*rule.guard), rule.end_line);
  }
};

std::string print_block_inline(const Block& block) {
  if (block.empty()) return "{}";
  std::string out = "{ ";
  for (std::size_t i = 0; i < block.size(); ++i) {
    if (i) out += "; ";
    Formatter f({});
    f.statement(*block[i], 0);
    std::string text = f.text();
    // Multi-line statements inside an inline block: join their lines (they parse the same).
    std::string joined;
    std::istringstream lines(text);
    std::string line;
    bool first = true;
    while (std::getline(lines, line)) {
      auto start = line.find_first_not_of(' ');
      if (start == std::string::npos) continue;
      if (!first) joined += " ";
      joined += line.substr(start);
      first = false;
    }
    out += joined;
  }
  return out + " }";
}

}  // namespace

std::string print_expr(const Expr& expr) { return print_unwrapped(expr); }

std::string print_annotation(const Annotation& annotation) {
  std::string out = "@" + annotation.name;
  if (annotation.has_parens || !annotation.args.empty()) {
    out += "(";
    for (std::size_t i = 0; i < annotation.args.size(); ++i) {
      if (i) out += ", ";
      if (!annotation.arg_names[i].empty()) out += annotation.arg_names[i] + "=";
      out += print_expr(*annotation.args[i]);
    }
    out += ")";
  }
  return out;
}

std::string print_rule(const RuleDecl& rule) {
  std::string out;
  for (const auto& a : rule.annotations) out += print_annotation(a) + " ";
  out += "rule " + rule.name + ": " + print_expr(*rule.lhs) + (rule.bidirectional ? " <=> " : " => ") + print_expr(*rule.rhs);
  if (rule.guard) out += " if " + print_expr(*rule.guard);
  return out;
}

std::string print_op(const OpDecl& op) {
  std::string out = "op " + op.name + "(";
  for (std::size_t i = 0; i < op.operands.size(); ++i) out += (i ? ", " : "") + op.operands[i];
  if (!op.attributes.empty()) {
    out += op.operands.empty() ? "; " : "; ";
    for (std::size_t i = 0; i < op.attributes.size(); ++i) {
      const auto& a = op.attributes[i];
      out += (i ? ", " : "") + a.name + ": " + a.type;
      if (a.default_value) out += " = " + print_expr(*a.default_value);
    }
  }
  out += ")";
  if (op.body) out += " = " + print_expr(*op.body);
  return out;
}

std::string print_statement(const Stmt& stmt) {
  Formatter f({});
  f.statement(stmt, 0);
  std::string text = f.text();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

std::string format_program(const Program& program) {
  Formatter f(program.comments);
  f.set_source(program.source.get());
  f.block(program.statements, 0, INT_MAX);
  return f.text();
}

}  // namespace twin
