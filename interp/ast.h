// The syntax tree of Twin's language.
//
// The parser (parser.cpp) builds it from ANTLR's parse tree; the canonical printer
// (printer.cpp) turns it back into text that parses to the same tree; the evaluator
// (evaluator.cpp) runs it. Nodes are immutable once built and shared by pointer: a rule
// or a function value keeps the nodes it was defined by (and with them its SourceFile).
//
// One node type per family (Expr, Stmt) with a `kind` tag keeps the tree easy to walk from
// every room that needs it; each field's comment says which kinds use it.
#pragma once

#include "util/source.h"
#include "util/rational.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace twin {

struct Expr;
struct Stmt;
using ExprPtr = std::shared_ptr<const Expr>;
using StmtPtr = std::shared_ptr<const Stmt>;
using Block = std::vector<StmtPtr>;

enum class ExprKind {
  Number,      // number, spelling
  String,      // text (unescaped)
  Bool,        // boolean
  Nil,
  PatternVar,  // text = name without '?'
  Name,        // text = identifier, possibly dotted ("g.add"); "_" is the wildcard in cost arms
  Splice,      // operands[0]: the spliced script expression (`$x`, `$(e)`) inside `term`
  List,        // operands = elements
  Map,         // operands = key0, value0, key1, value1, ...
  Call,        // operands[0] = callee, then arguments; arg_names parallel to the arguments
  Index,       // operands = {container, index}
  Member,      // operands[0] = object; text = member name
  Unary,       // text = "-"; operands[0]
  Binary,      // text = "+", "-", "*", "/", "%", "**"; operands = {left, right}
  Compare,     // compare_ops[i] between operands[i] and operands[i+1]; a chain `0 < k < n`
  And,         // operands = {left, right}
  Or,          // operands = {left, right}
  Not,         // operands[0]
  Quote,       // `term e`: operands[0]
  Lambda,      // function (anonymous)
  TypedSymbol, // `x: bf16[2, 8, 64]` in a term: text = name, type_name = dtype, operands = dims
  Path,        // a parameter pattern `layers.{i}.mlp.up_proj.weight`: text = as written (relations only)
  Placeholder, // `{i}` standing for the number a placeholder binds: text = name (relations only)
};

struct FunctionDecl;

struct Expr {
  ExprKind kind;
  SourceLocation location;
  std::string text;
  std::string type_name;  // TypedSymbol: the dtype
  Rational number;
  bool boolean = false;
  bool parenthesized = false;            // written inside ( ): keeps `(a < b) < c` apart from a chain
  std::vector<ExprPtr> operands;
  std::vector<std::string> arg_names;    // Call: "" for a positional argument
  std::vector<std::string> compare_ops;  // Compare
  std::shared_ptr<const FunctionDecl> function;  // Lambda
};

struct FunctionDecl {
  std::string name;  // "" for a lambda
  std::vector<std::string> params;
  Block body;
  SourceLocation location;
};

struct Annotation {
  std::string name;                     // `@verified(...)` -> "verified"
  std::vector<ExprPtr> args;
  std::vector<std::string> arg_names;   // "" for positional
  bool has_parens = false;
  SourceLocation location;
};

struct RuleDecl {
  std::vector<Annotation> annotations;
  std::string name;
  ExprPtr lhs;
  ExprPtr rhs;
  bool bidirectional = false;  // `<=>`
  ExprPtr guard;               // may be null
  SourceLocation location;
  int end_line = 0;            // last source line, for attaching comments when formatting
};

struct CostArm {
  ExprPtr pattern;  // a Name "_" is the wildcard
  ExprPtr guard;    // may be null
  ExprPtr cost;
  SourceLocation location;
  int end_line = 0;
};

struct OpAttribute {
  std::string name;
  std::string type;   // "int", "float", "str", "bool", "dtype", "ints", ...
  ExprPtr default_value;  // may be null
};

struct OpDecl {
  std::string name;
  std::vector<std::string> operands;
  std::vector<OpAttribute> attributes;
  ExprPtr body;  // may be null: an opaque op, or one whose semantics are built in
  SourceLocation location;
};

enum class StmtKind {
  Version,  // number
  Use,      // text = path as written
  Op,       // op
  Ruleset,  // text = name; rules
  Cost,     // text = name; arms
  Relation, // target = the port parameter (a Name or a Path); text = its text; expr = the right side
  Let,      // text = name; expr
  Fn,       // function
  Return,   // expr (may be null)
  If,       // expr = condition; body; else_body (an `else if` is an If inside else_body)
  For,      // text = variable; expr = iterable; body
  While,    // expr = condition; body
  Assert,   // expr; message (may be null)
  Assign,   // target; expr
  ExprStmt, // expr
  Empty,    // a lone ';'
};

struct Stmt {
  StmtKind kind;
  SourceLocation location;
  int end_line = 0;  // last source line of the statement
  std::string text;
  Rational number;
  ExprPtr expr;
  ExprPtr target;
  ExprPtr message;
  Block body;
  Block else_body;
  bool has_else = false;
  bool else_is_if = false;  // `else if ...` rather than `else { ... }`
  int close_line = 0;       // line of the closing `}` of body (If/For/While/Fn/Ruleset/Cost)
  int else_close_line = 0;
  std::shared_ptr<const FunctionDecl> function;
  std::shared_ptr<const OpDecl> op;
  std::vector<std::shared_ptr<const RuleDecl>> rules;
  std::vector<std::shared_ptr<const CostArm>> arms;
};

// A comment kept for the formatter: `# ...` with its position.
struct Comment {
  int line = 0;
  int column = 0;
  std::string text;  // including the leading '#'
};

// A parsed file: its statements and its comments (which the tree itself does not hold).
struct Program {
  std::shared_ptr<const SourceFile> source;
  Block statements;
  std::vector<Comment> comments;
};

}  // namespace twin
