// Builds the syntax tree of ast.h from ANTLR's parse tree. See parser.h.
//
// Boost.Multiprecision (through ast.h) must be included before the ANTLR headers, which
// `#undef EOF`.
#include "interp/parser.h"

#include "util/error.h"

#include "TwinLexer.h"
#include "TwinParser.h"
#include "antlr4-runtime.h"

#include <cstdio>
#include <optional>

namespace twin {
namespace {

using twin_grammar::TwinLexer;
using twin_grammar::TwinParser;

// Human names for the tokens a user may be told are expected.
std::string token_display_name(const antlr4::dfa::Vocabulary& vocabulary, size_t type) {
  switch (type) {
    case TwinLexer::NUMBER: return "a number";
    case TwinLexer::STRING: return "a string";
    case TwinLexer::PATVAR: return "a pattern variable";
    case TwinLexer::ID: return "a name";
    case TwinLexer::PATH: return "a parameter pattern";
    case antlr4::Token::EOF: return "end of input";
    default: break;
  }
  std::string literal = vocabulary.getLiteralName(type);
  if (literal.size() >= 2 && literal.front() == '\'') literal = "'" + literal.substr(1, literal.size() - 2) + "'";
  return literal.empty() ? vocabulary.getSymbolicName(type) : literal;
}

std::string describe_expected(const antlr4::misc::IntervalSet& expected, const antlr4::dfa::Vocabulary& vocabulary) {
  if (expected.isEmpty()) return "";
  // Any token that can start an expression means "an expression": listing all of them helps no one.
  bool expression = expected.contains(static_cast<size_t>(TwinLexer::NUMBER)) && expected.contains(static_cast<size_t>(TwinLexer::ID));
  // A name or a pattern, and nothing that starts an expression: the left side of a relation.
  bool parameter = !expression && expected.contains(static_cast<size_t>(TwinLexer::PATH)) &&
                   expected.contains(static_cast<size_t>(TwinLexer::ID));
  std::vector<std::string> names;
  if (expression) names.push_back("an expression");
  if (parameter) {
    names.push_back("a parameter name or pattern (`layers.{i}.mlp.up_proj.weight`)");
    expression = true;  // the soft keywords and ID below are names: skip them
  }
  // A name and the soft keywords (which are names too), but no expression: "a name".
  const bool name = !expression && expected.contains(static_cast<size_t>(TwinLexer::ID));
  for (size_t type : expected.toList()) {
    if (name && type != TwinLexer::ID) {
      static const char* soft_keywords[] = {"'cost'", "'op'", "'rule'", "'ruleset'", "'version'", "'use'"};
      std::string literal = vocabulary.getLiteralName(type);
      bool soft = false;
      for (const char* k : soft_keywords) soft = soft || literal == k;
      if (soft) continue;
    }
    if (expression) {
      std::string literal = vocabulary.getLiteralName(type);
      static const char* expression_starts[] = {"'('", "'['", "'{'", "'-'", "'not'", "'term'", "'$'", "'fn'",
                                                "'true'", "'false'", "'nil'",
                                                // soft keywords: they can be names, so they start expressions too
                                                "'cost'", "'op'", "'rule'", "'ruleset'", "'version'", "'use'"};
      bool starts = type == TwinLexer::NUMBER || type == TwinLexer::ID || type == TwinLexer::STRING ||
                    type == TwinLexer::PATVAR || type == TwinLexer::PATH;
      for (const char* s : expression_starts) starts = starts || literal == s;
      if (starts) continue;
    }
    names.push_back(token_display_name(vocabulary, type));
  }
  if (names.size() > 6) {
    names.resize(6);
    names.push_back("...");
  }
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

std::string describe_token(const antlr4::Token* token) {
  if (!token || token->getType() == antlr4::Token::EOF) return "end of input";
  return "'" + token->getText() + "'";
}

// The construct a keyword starts, as the user writes it: named in a syntax error inside it.
const char* construct_of_keyword(const std::string& keyword) {
  static const std::pair<const char*, const char*> kConstructs[] = {
      {"let", "a let statement: let NAME = EXPR"},
      {"fn", "a function: fn NAME(PARAMS) { ... }"},
      {"for", "a for loop: for NAME in EXPR { ... }"},
      {"while", "a while loop: while EXPR { ... }"},
      {"if", "an if statement: if EXPR { ... } else { ... }"},
      {"return", "a return statement: return EXPR"},
      {"assert", "an assert: assert EXPR, MESSAGE"},
      {"ruleset", "a ruleset: ruleset NAME { rule ... }"},
      {"rule", "a rule: rule NAME: LHS => RHS if GUARD"},
      {"op", "an op declaration: op NAME(OPERANDS; NAME: KIND = DEFAULT) = BODY"},
      {"cost", "a cost function: cost NAME { PATTERN => COST }"},
      {"relation", "a relation: relation PARAMETER = EXPR"},
      {"use", "a use declaration: use \"FILE.rules\""},
      {"version", "a version declaration: version 1"},
  };
  for (const auto& [word, construct] : kConstructs)
    if (keyword == word) return construct;
  return nullptr;
}

// The keyword that started a statement the parser could not even choose ("let" in "let = 3"),
// or "" when the error is not that.
std::string keyword_without_statement(const std::exception_ptr& error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const antlr4::NoViableAltException& no_alternative) {
    const antlr4::Token* start = no_alternative.getStartToken();
    if (start && construct_of_keyword(start->getText())) return start->getText();
  } catch (...) {
  }
  return "";
}

// The construct being parsed when a syntax error is found: from the innermost rule context
// that is a statement or declaration (its first token is the keyword), or, when the parser
// could not even choose a statement, from the token that started it ("let = 3").
std::string construct_being_parsed(antlr4::Parser* parser, const std::exception_ptr& error) {
  if (std::string keyword = keyword_without_statement(error); !keyword.empty()) return construct_of_keyword(keyword);
  for (antlr4::ParserRuleContext* context = parser->getContext(); context != nullptr;
       context = dynamic_cast<antlr4::ParserRuleContext*>(context->parent)) {
    if (context->getRuleIndex() == TwinParser::RuleStatement || context->getRuleIndex() == TwinParser::RuleBlock) break;
    if (context->getStart() == nullptr) continue;
    if (const char* construct = construct_of_keyword(context->getStart()->getText())) return construct;
  }
  return "";
}

// Records the first syntax error, in Twin's words. Parsing goes on (ANTLR recovers) but
// the result is discarded once an error was seen.
class FirstErrorListener : public antlr4::BaseErrorListener {
 public:
  explicit FirstErrorListener(std::shared_ptr<const SourceFile> source) : source_(std::move(source)) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line, size_t column,
                   const std::string& antlr_message, std::exception_ptr error) override {
    if (first_) return;
    std::string message;
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    if (parser == nullptr) {
      // The lexer: a character no token starts with.
      message = "unexpected character";
      auto at = antlr_message.find("at: ");
      if (at != std::string::npos) message += " " + antlr_message.substr(at + 4);
    } else {
      message = "unexpected " + describe_token(offending);
      std::string expected;
      try {
        if (error) std::rethrow_exception(error);
        expected = describe_expected(parser->getExpectedTokens(), parser->getVocabulary());
      } catch (const antlr4::InputMismatchException& mismatch) {
        expected = describe_expected(mismatch.getExpectedTokens(), parser->getVocabulary());
      } catch (const antlr4::RecognitionException&) {
        try {
          expected = describe_expected(parser->getExpectedTokens(), parser->getVocabulary());
        } catch (...) {
        }
      } catch (...) {
      }
      // The statement could not be chosen: what it would have expected is every statement's
      // start, which helps no one; the keyword and the construct's form say more.
      if (std::string keyword = keyword_without_statement(error); !keyword.empty())
        message += " after '" + keyword + "'";
      else if (!expected.empty())
        message += "; expected " + expected;
      if (std::string construct = construct_being_parsed(parser, error); !construct.empty())
        message += " (in " + construct + ")";
    }
    first_ = Error(ErrorKind::Syntax, message, SourceLocation{source_, static_cast<int>(line), static_cast<int>(column) + 1});
  }

  const std::optional<Error>& first() const { return first_; }

 private:
  std::shared_ptr<const SourceFile> source_;
  std::optional<Error> first_;
};

std::string unescape_string(const std::string& quoted, const SourceLocation& location) {
  std::string out;
  for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
    char c = quoted[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    char next = quoted[++i];
    switch (next) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      default:
        throw Error(ErrorKind::Syntax, std::string("unknown escape '\\") + next + "' in string; expected one of \\n \\t \\r \\0 \\\\ \\\"",
                    location);
    }
  }
  return out;
}

class TreeBuilder {
 public:
  explicit TreeBuilder(std::shared_ptr<const SourceFile> source) : source_(std::move(source)) {}

  Block statements(const std::vector<TwinParser::StatementContext*>& contexts) {
    Block block;
    for (auto* context : contexts) {
      auto stmt = statement(context);
      if (stmt) block.push_back(std::move(stmt));
    }
    return block;
  }

 private:
  std::shared_ptr<const SourceFile> source_;
  int depth_ = 0;

  SourceLocation at(const antlr4::Token* token) const {
    return SourceLocation{source_, static_cast<int>(token->getLine()), static_cast<int>(token->getCharPositionInLine()) + 1};
  }
  SourceLocation at(antlr4::ParserRuleContext* context) const { return at(context->getStart()); }
  static int end_line(antlr4::ParserRuleContext* context) {
    antlr4::Token* stop = context->getStop();
    if (!stop) return static_cast<int>(context->getStart()->getLine());
    // A token may span lines (never, today: strings are single-line), so its start line is its end line.
    return static_cast<int>(stop->getLine());
  }

  std::string name(TwinParser::NameContext* context) { return context->getText(); }
  // A name that is bound (let, fn, parameters, for): dotted names are member accesses, not names.
  std::string binding_name(TwinParser::NameContext* context) {
    std::string text = context->getText();
    if (text.find('.') != std::string::npos)
      throw Error(ErrorKind::Syntax, "cannot bind the dotted name '" + text + "'; expected a plain name", at(context));
    return text;
  }

  StmtPtr statement(TwinParser::StatementContext* context) {
    auto stmt = std::make_shared<Stmt>();
    stmt->location = at(context);
    stmt->end_line = end_line(context);
    if (auto* c = context->versionDecl()) {
      stmt->kind = StmtKind::Version;
      stmt->number = number(c->NUMBER()->getSymbol());
    } else if (auto* c = context->useDecl()) {
      stmt->kind = StmtKind::Use;
      stmt->text = unescape_string(c->STRING()->getText(), at(c->STRING()->getSymbol()));
    } else if (auto* c = context->opDecl()) {
      stmt->kind = StmtKind::Op;
      stmt->op = op_decl(c);
    } else if (auto* c = context->rulesetDecl()) {
      stmt->kind = StmtKind::Ruleset;
      stmt->text = name(c->name());
      for (auto* rule : c->ruleDecl()) stmt->rules.push_back(rule_decl(rule));
      stmt->close_line = static_cast<int>(c->getStop()->getLine());
    } else if (auto* c = context->costDecl()) {
      stmt->kind = StmtKind::Cost;
      stmt->text = name(c->name());
      for (auto* arm : c->costArm()) stmt->arms.push_back(cost_arm(arm));
      stmt->close_line = static_cast<int>(c->getStop()->getLine());
    } else if (auto* c = context->relationDecl()) {
      stmt->kind = StmtKind::Relation;
      auto* target = c->relationTarget();
      ExprPtr lhs;
      if (target->PATH()) {
        lhs = path(target->PATH()->getSymbol());
      } else {
        auto e = node(ExprKind::Name, at(target));
        e->text = name(target->name());
        lhs = e;
      }
      stmt->text = lhs->text;
      stmt->target = lhs;
      stmt->expr = expr(c->expr());
    } else if (auto* c = context->letStmt()) {
      stmt->kind = StmtKind::Let;
      stmt->text = binding_name(c->name());
      stmt->expr = expr(c->expr());
    } else if (auto* c = context->fnDecl()) {
      stmt->kind = StmtKind::Fn;
      auto fn = std::make_shared<FunctionDecl>();
      fn->name = binding_name(c->name());
      fn->location = at(c);
      if (c->paramList())
        for (auto* p : c->paramList()->name()) fn->params.push_back(binding_name(p));
      fn->body = statements(c->block()->statement());
      stmt->close_line = static_cast<int>(c->block()->getStop()->getLine());
      stmt->function = fn;
    } else if (auto* c = context->returnStmt()) {
      stmt->kind = StmtKind::Return;
      if (c->expr()) stmt->expr = expr(c->expr());
    } else if (auto* c = context->ifStmt()) {
      return if_stmt(c);
    } else if (auto* c = context->forStmt()) {
      stmt->kind = StmtKind::For;
      stmt->text = binding_name(c->name());
      stmt->expr = expr(c->expr());
      stmt->body = statements(c->block()->statement());
      stmt->close_line = static_cast<int>(c->block()->getStop()->getLine());
    } else if (auto* c = context->whileStmt()) {
      stmt->kind = StmtKind::While;
      stmt->expr = expr(c->expr());
      stmt->body = statements(c->block()->statement());
      stmt->close_line = static_cast<int>(c->block()->getStop()->getLine());
    } else if (auto* c = context->assertStmt()) {
      stmt->kind = StmtKind::Assert;
      stmt->expr = expr(c->expr(0));
      if (c->expr().size() > 1) stmt->message = expr(c->expr(1));
    } else if (auto* c = context->assignStmt()) {
      stmt->kind = StmtKind::Assign;
      stmt->target = expr(c->expr(0));
      stmt->expr = expr(c->expr(1));
      auto kind = stmt->target->kind;
      if (kind != ExprKind::Name && kind != ExprKind::Index && kind != ExprKind::Member)
        throw Error(ErrorKind::Syntax, "cannot assign to this expression; expected a name, an index `a[i]` or a member `a.b`",
                    stmt->target->location);
    } else if (auto* c = context->exprStmt()) {
      stmt->kind = StmtKind::ExprStmt;
      stmt->expr = expr(c->expr());
    } else {
      stmt->kind = StmtKind::Empty;
    }
    return stmt;
  }

  StmtPtr if_stmt(TwinParser::IfStmtContext* c) {
    auto stmt = std::make_shared<Stmt>();
    stmt->kind = StmtKind::If;
    stmt->location = at(c);
    stmt->end_line = end_line(c);
    stmt->expr = expr(c->expr());
    stmt->body = statements(c->block(0)->statement());
    stmt->close_line = static_cast<int>(c->block(0)->getStop()->getLine());
    if (c->ifStmt()) {
      stmt->has_else = true;
      stmt->else_is_if = true;
      stmt->else_body.push_back(if_stmt(c->ifStmt()));
    } else if (c->block().size() > 1) {
      stmt->has_else = true;
      stmt->else_body = statements(c->block(1)->statement());
      stmt->else_close_line = static_cast<int>(c->block(1)->getStop()->getLine());
    }
    return stmt;
  }

  std::shared_ptr<const OpDecl> op_decl(TwinParser::OpDeclContext* c) {
    auto op = std::make_shared<OpDecl>();
    op->name = name(c->name());
    op->location = at(c);
    if (c->opOperands())
      for (auto* n : c->opOperands()->name()) op->operands.push_back(name(n));
    for (auto* a : c->opAttribute()) {
      OpAttribute attribute;
      attribute.name = name(a->name(0));
      attribute.type = name(a->name(1));
      if (a->expr()) attribute.default_value = expr(a->expr());
      op->attributes.push_back(std::move(attribute));
    }
    if (c->expr()) op->body = expr(c->expr());
    return op;
  }

  std::shared_ptr<const RuleDecl> rule_decl(TwinParser::RuleDeclContext* c) {
    auto rule = std::make_shared<RuleDecl>();
    for (auto* a : c->annotation()) {
      Annotation annotation;
      annotation.name = name(a->name());
      annotation.location = at(a);
      annotation.has_parens = a->getText().find('(') != std::string::npos;
      if (a->argList()) arguments(a->argList(), annotation.args, annotation.arg_names);
      rule->annotations.push_back(std::move(annotation));
    }
    rule->name = name(c->name());
    rule->location = at(c->name());
    if (!c->annotation().empty()) rule->location = at(c);
    rule->end_line = end_line(c);
    rule->lhs = expr(c->expr(0));
    rule->bidirectional = c->arrow->getText() == "<=>";
    rule->rhs = expr(c->expr(1));
    if (c->expr().size() > 2) rule->guard = expr(c->expr(2));
    return rule;
  }

  std::shared_ptr<const CostArm> cost_arm(TwinParser::CostArmContext* c) {
    auto arm = std::make_shared<CostArm>();
    arm->location = at(c);
    arm->end_line = end_line(c);
    arm->pattern = expr(c->expr(0));
    if (c->expr().size() == 3) {
      arm->guard = expr(c->expr(1));
      arm->cost = expr(c->expr(2));
    } else {
      arm->cost = expr(c->expr(1));
    }
    return arm;
  }

  void arguments(TwinParser::ArgListContext* c, std::vector<ExprPtr>& args, std::vector<std::string>& names) {
    for (auto* a : c->arg()) {
      names.push_back(a->name() ? name(a->name()) : "");
      args.push_back(expr(a->expr()));
    }
  }

  // A parameter pattern, kept as written: `layers.{i}.mlp.up_proj.weight`.
  ExprPtr path(antlr4::Token* token) {
    auto e = node(ExprKind::Path, at(token));
    e->text = token->getText();
    return e;
  }

  Rational number(antlr4::Token* token) {
    std::optional<Rational> value;
    try {
      value = parse_rational(token->getText());
    } catch (Error& error) {  // more digits than the integer digits limit
      error.set_location_if_unknown(at(token));
      throw;
    }
    if (!value) throw Error(ErrorKind::Syntax, "malformed number '" + token->getText() + "'", at(token));
    return *value;
  }

  std::shared_ptr<Expr> node(ExprKind kind, const SourceLocation& location) {
    auto e = std::make_shared<Expr>();
    e->kind = kind;
    e->location = location;
    return e;
  }

  struct DepthGuard {
    int& depth;
    DepthGuard(int& d, const SourceLocation& location) : depth(d) {
      if (++depth > kMaxExprDepth)
        throw Error(ErrorKind::Syntax, "expression nested more than " + std::to_string(kMaxExprDepth) + " levels deep", location);
    }
    ~DepthGuard() { --depth; }
  };

  ExprPtr expr(TwinParser::ExprContext* context) {
    DepthGuard guard(depth_, at(context));
    if (auto* c = dynamic_cast<TwinParser::PrimaryExprContext*>(context)) return primary(c->primary());
    if (auto* c = dynamic_cast<TwinParser::CallExprContext*>(context)) {
      auto e = node(ExprKind::Call, at(c));
      e->operands.push_back(expr(c->expr()));
      // The call's location is its callee's, so `f(x)` errors point at `f`.
      if (c->argList()) {
        std::vector<ExprPtr> args;
        arguments(c->argList(), args, e->arg_names);
        e->operands.insert(e->operands.end(), args.begin(), args.end());
      }
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::IndexExprContext*>(context)) {
      auto e = node(ExprKind::Index, at(c->expr(1)));
      e->operands = {expr(c->expr(0)), expr(c->expr(1))};
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::MemberExprContext*>(context)) {
      auto e = node(ExprKind::Member, at(c->name()));
      e->operands.push_back(expr(c->expr()));
      e->text = name(c->name());
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::PowerExprContext*>(context))
      return binary("**", c->expr(0), c->expr(1), at(c->expr(1)), c);
    if (auto* c = dynamic_cast<TwinParser::NegateExprContext*>(context)) {
      auto e = node(ExprKind::Unary, at(c));
      e->text = "-";
      e->operands.push_back(expr(c->expr()));
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::MulExprContext*>(context))
      return binary(c->op->getText(), c->expr(0), c->expr(1), at(c->op), c);
    if (auto* c = dynamic_cast<TwinParser::AddExprContext*>(context))
      return binary(c->op->getText(), c->expr(0), c->expr(1), at(c->op), c);
    if (auto* c = dynamic_cast<TwinParser::CompareExprContext*>(context)) {
      auto left = expr(c->expr(0));
      auto right = expr(c->expr(1));
      // `a < b < c` (not parenthesized) is a chain, as in Python: a < b and b < c.
      if (left->kind == ExprKind::Compare && !left->parenthesized) {
        auto e = std::make_shared<Expr>(*left);
        e->operands.push_back(right);
        e->compare_ops.push_back(c->op->getText());
        return e;
      }
      auto e = node(ExprKind::Compare, at(c->op));
      e->operands = {left, right};
      e->compare_ops.push_back(c->op->getText());
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::NotExprContext*>(context)) {
      auto e = node(ExprKind::Not, at(c));
      e->operands.push_back(expr(c->expr()));
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::AndExprContext*>(context)) {
      auto e = node(ExprKind::And, at(c));
      e->operands = {expr(c->expr(0)), expr(c->expr(1))};
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::OrExprContext*>(context)) {
      auto e = node(ExprKind::Or, at(c));
      e->operands = {expr(c->expr(0)), expr(c->expr(1))};
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::TermExprContext*>(context)) {
      auto e = node(ExprKind::Quote, at(c));
      e->operands.push_back(expr(c->expr()));
      return e;
    }
    throw Error(ErrorKind::Syntax, "unsupported expression", at(context));
  }

  ExprPtr binary(const std::string& op, TwinParser::ExprContext* l, TwinParser::ExprContext* r,
                 const SourceLocation& location, antlr4::ParserRuleContext*) {
    auto e = node(ExprKind::Binary, location);
    e->text = op;
    e->operands = {expr(l), expr(r)};
    return e;
  }

  ExprPtr primary(TwinParser::PrimaryContext* context) {
    if (auto* c = dynamic_cast<TwinParser::NumberLitContext*>(context)) {
      auto e = node(ExprKind::Number, at(c));
      e->number = number(c->NUMBER()->getSymbol());
      e->text = c->getText();
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::StringLitContext*>(context)) {
      auto e = node(ExprKind::String, at(c));
      e->text = unescape_string(c->getText(), at(c));
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::TrueLitContext*>(context)) {
      auto e = node(ExprKind::Bool, at(c));
      e->boolean = true;
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::FalseLitContext*>(context)) return node(ExprKind::Bool, at(c));
    if (auto* c = dynamic_cast<TwinParser::NilLitContext*>(context)) return node(ExprKind::Nil, at(c));
    if (auto* c = dynamic_cast<TwinParser::PatternVarContext*>(context)) {
      auto e = node(ExprKind::PatternVar, at(c));
      e->text = c->getText().substr(1);
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::TypedSymbolContext*>(context)) {
      auto e = node(ExprKind::TypedSymbol, at(c));
      e->text = name(c->name(0));
      e->type_name = name(c->name(1));
      static const char* dtypes[] = {"f32", "f16", "bf16", "f64", "i64", "i32", "bool"};
      bool known = false;
      for (const char* d : dtypes) known = known || e->type_name == d;
      if (!known)
        throw Error(ErrorKind::Syntax, "unknown dtype '" + e->type_name + "'; expected one of f32 f16 bf16 f64 i64 i32 bool",
                    at(c->name(1)));
      for (auto* dim : c->expr()) e->operands.push_back(expr(dim));
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::SpliceNameContext*>(context)) {
      auto e = node(ExprKind::Splice, at(c));
      auto inner = node(ExprKind::Name, at(c->name()));
      inner->text = name(c->name());
      e->operands.push_back(inner);
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::SpliceExprContext*>(context)) {
      auto e = node(ExprKind::Splice, at(c));
      auto inner = std::make_shared<Expr>(*expr(c->expr()));
      inner->parenthesized = true;
      e->operands.push_back(inner);
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::NameRefContext*>(context)) {
      auto e = node(ExprKind::Name, at(c));
      e->text = name(c->name());
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::PathRefContext*>(context)) return path(c->PATH()->getSymbol());
    if (auto* c = dynamic_cast<TwinParser::PlaceholderRefContext*>(context)) {
      auto e = node(ExprKind::Placeholder, at(c));
      e->text = name(c->name());
      if (e->text.find('.') != std::string::npos)
        throw Error(ErrorKind::Syntax, "a placeholder is a plain name; expected `{i}`, found `{" + e->text + "}`", at(c->name()));
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::ListLitContext*>(context)) {
      auto e = node(ExprKind::List, at(c));
      for (auto* item : c->expr()) e->operands.push_back(expr(item));
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::MapLitContext*>(context)) {
      auto e = node(ExprKind::Map, at(c));
      for (auto* entry : c->mapEntry()) {
        e->operands.push_back(expr(entry->expr(0)));
        e->operands.push_back(expr(entry->expr(1)));
      }
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::ParenExprContext*>(context)) {
      auto e = std::make_shared<Expr>(*expr(c->expr()));
      e->parenthesized = true;
      return e;
    }
    if (auto* c = dynamic_cast<TwinParser::LambdaExprContext*>(context)) {
      auto e = node(ExprKind::Lambda, at(c));
      auto fn = std::make_shared<FunctionDecl>();
      fn->location = at(c);
      if (c->paramList())
        for (auto* p : c->paramList()->name()) fn->params.push_back(binding_name(p));
      fn->body = statements(c->block()->statement());
      e->function = fn;
      return e;
    }
    throw Error(ErrorKind::Syntax, "unsupported expression", at(context));
  }
};

// Rejects input that nests deeper than kMaxNesting before ANTLR recurses into it.
void check_nesting(antlr4::CommonTokenStream& tokens, const std::shared_ptr<const SourceFile>& source) {
  int depth = 0;
  int prefix_run = 0;
  for (antlr4::Token* token : tokens.getTokens()) {
    if (token->getChannel() != antlr4::Token::DEFAULT_CHANNEL) continue;
    const std::string text = token->getType() == antlr4::Token::EOF ? "" : token->getText();
    bool opens = text == "(" || text == "[" || text == "{";
    bool closes = text == ")" || text == "]" || text == "}";
    bool prefix = text == "-" || text == "not" || text == "term" || text == "$" || text == "**";
    if (opens) ++depth;
    if (closes && depth > 0) --depth;
    prefix_run = prefix ? prefix_run + 1 : (opens ? prefix_run : 0);
    if (depth > kMaxNesting || prefix_run > kMaxNesting)
      throw Error(ErrorKind::Syntax, "nested more than " + std::to_string(kMaxNesting) + " levels deep",
                  SourceLocation{source, static_cast<int>(token->getLine()), static_cast<int>(token->getCharPositionInLine()) + 1});
  }
}

// Rejects text that is not UTF-8, naming the first bad byte: ANTLR's input stream would
// otherwise throw std::range_error from deep inside its decoder.
void check_utf8(const std::shared_ptr<const SourceFile>& source) {
  const std::string& text = source->text();
  int line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xE ? 3 : (byte >> 3) == 0x1E ? 4 : 0;
    bool valid = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) valid = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    if (valid && length == 2) valid = byte >= 0xC2;                                              // overlong
    if (valid && length == 3) {
      auto second = static_cast<unsigned char>(text[i + 1]);
      valid = !(byte == 0xE0 && second < 0xA0) && !(byte == 0xED && second >= 0xA0);           // overlong, surrogates
    }
    if (valid && length == 4) {
      auto second = static_cast<unsigned char>(text[i + 1]);
      valid = byte <= 0xF4 && !(byte == 0xF0 && second < 0x90) && !(byte == 0xF4 && second >= 0x90);
    }
    if (!valid) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", byte);
      throw Error(ErrorKind::Syntax, std::string("invalid UTF-8 (byte ") + hex + "); expected UTF-8 text",
                  SourceLocation{source, line, column});
    }
    if (byte == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
  }
}

}  // namespace

Program parse_program(std::shared_ptr<const SourceFile> source) {
  check_utf8(source);
  antlr4::ANTLRInputStream input(source->text());
  TwinLexer lexer(&input);
  FirstErrorListener listener(source);
  lexer.removeErrorListeners();
  lexer.addErrorListener(&listener);
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();
  if (listener.first()) throw *listener.first();
  // BAD_CHAR tokens are characters no rule starts with.
  for (antlr4::Token* token : tokens.getTokens()) {
    if (token->getType() == TwinLexer::BAD_CHAR) {
      std::string what = token->getText() == "\"" ? "unterminated string" : "unexpected character '" + token->getText() + "'";
      throw Error(ErrorKind::Syntax, what, SourceLocation{source, static_cast<int>(token->getLine()),
                                                          static_cast<int>(token->getCharPositionInLine()) + 1});
    }
  }
  check_nesting(tokens, source);

  TwinParser parser(&tokens);
  parser.removeErrorListeners();
  parser.addErrorListener(&listener);
  // Two-stage parsing: SLL is fast and right for almost every input; fall back to full LL
  // only if SLL reports an error.
  parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  TwinParser::FileContext* tree = parser.file();
  if (listener.first()) {
    FirstErrorListener ll_listener(source);
    tokens.seek(0);
    parser.reset();
    parser.removeErrorListeners();
    parser.addErrorListener(&ll_listener);
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::LL);
    tree = parser.file();
    if (ll_listener.first()) throw *ll_listener.first();
  }

  Program program;
  program.source = source;
  TreeBuilder builder(source);
  program.statements = builder.statements(tree->statement());
  for (antlr4::Token* token : tokens.getTokens()) {
    if (token->getType() == TwinLexer::COMMENT) {
      std::string text = token->getText();
      while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.pop_back();
      program.comments.push_back(Comment{static_cast<int>(token->getLine()),
                                         static_cast<int>(token->getCharPositionInLine()) + 1, text});
    }
  }
  return program;
}

int open_bracket_depth(const std::string& text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      else if (c == '\n') in_string = false;  // strings do not span lines: the parser will report it
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '(' || c == '[' || c == '{') ++depth;
    else if (c == ')' || c == ']' || c == '}') --depth;
  }
  return depth;
}

}  // namespace twin
