// The Twin language: one grammar for `.rules` files (declarations) and `.twin` scripts
// (declarations plus statements). See docs/language.md for the reference.
//
// Newlines are not significant: a rule or an expression may continue on the next line
// (a rule's right-hand side often starts a line with `+` or `=>`). Statements may be
// separated by `;`. As in Lua, an expression followed by `(` on the next line is a call.
grammar Twin;

file : statement* EOF ;

// A single expression or statement typed at the REPL.
replInput : statement* EOF ;

statement
  : versionDecl
  | useDecl
  | opDecl
  | rulesetDecl
  | costDecl
  | relationDecl
  | letStmt
  | fnDecl
  | returnStmt
  | ifStmt
  | forStmt
  | whileStmt
  | assertStmt
  | assignStmt
  | exprStmt
  | ';'
  ;

versionDecl : 'version' NUMBER ;
useDecl     : 'use' STRING ;

opDecl      : 'op' name '(' opOperands? (';' opAttribute (',' opAttribute)*)? ')' ('=' expr)? ;
opOperands  : name (',' name)* ;
opAttribute : name ':' name ('=' expr)? ;

rulesetDecl : 'ruleset' name '{' ruleDecl* '}' ;
ruleDecl    : annotation* 'rule' name ':' expr arrow=('=>' | '<=>') expr ('if' expr)? ;
annotation  : '@' name ('(' argList? ')')? ;

costDecl    : 'cost' name '{' costArm* '}' ;
costArm     : expr ('if' expr)? '=>' expr ;

// `relation layers.{i}.self_attn.qkv_proj.weight = cat([layers.{i}.self_attn.q_proj.weight, ...], dim=0)`:
// how a port's parameter is computed from the reference's. The left side is a parameter name
// or a pattern with `{name}` placeholders (a PATH); the right side a term over reference
// names, which may use the same patterns and the placeholders as numbers (`start=32 * {r}`).
relationDecl : 'relation' relationTarget '=' expr ;
relationTarget : PATH | name ;  // a plain name may be a soft keyword (`op.weight` is one ID anyway)

letStmt     : 'let' name '=' expr ;
fnDecl      : 'fn' name '(' paramList? ')' block ;
paramList   : name (',' name)* ;
returnStmt  : 'return' expr? ;
ifStmt      : 'if' expr block ('else' (ifStmt | block))? ;
forStmt     : 'for' name 'in' expr block ;
whileStmt   : 'while' expr block ;
assertStmt  : 'assert' expr (',' expr)? ;
assignStmt  : expr '=' expr ;
exprStmt    : expr ;
block       : '{' statement* '}' ;

// Precedence, lowest first: term, or, and, not, comparisons (chainable: 0 < ?k < ?n),
// + -, * / %, unary -, **, postfix (call, index, member).
expr
  : expr '(' argList? ')'                                    # CallExpr
  | expr '[' expr ']'                                        # IndexExpr
  | expr '.' name                                            # MemberExpr
  | <assoc=right> expr '**' expr                             # PowerExpr
  | '-' expr                                                 # NegateExpr
  | expr op=('*' | '/' | '%') expr                           # MulExpr
  | expr op=('+' | '-') expr                                 # AddExpr
  | expr op=('==' | '!=' | '<' | '<=' | '>' | '>=') expr     # CompareExpr
  | 'not' expr                                               # NotExpr
  | expr 'and' expr                                          # AndExpr
  | expr 'or' expr                                           # OrExpr
  | 'term' expr                                              # TermExpr
  | primary                                                  # PrimaryExpr
  ;

primary
  : NUMBER                                                   # NumberLit
  | STRING                                                   # StringLit
  | 'true'                                                   # TrueLit
  | 'false'                                                  # FalseLit
  | 'nil'                                                    # NilLit
  | PATVAR                                                   # PatternVar
  | name ':' name '[' (expr (',' expr)*)? ']'               # TypedSymbol
  | '$' name                                                 # SpliceName
  | '$' '(' expr ')'                                         # SpliceExpr
  | name                                                     # NameRef
  | PATH                                                     # PathRef
  | '{' name '}'                                             # PlaceholderRef
  | '[' (expr (',' expr)* ','?)? ']'                         # ListLit
  | '{' (mapEntry (',' mapEntry)* ','?)? '}'                 # MapLit
  | '(' expr ')'                                             # ParenExpr
  | 'fn' '(' paramList? ')' block                            # LambdaExpr
  ;

mapEntry : expr ':' expr ;
argList  : arg (',' arg)* ','? ;
arg      : (name '=')? expr ;

// Soft keywords usable as names (attribute names such as `dim=` never clash with these).
// `relation` is a keyword proper: `relation x y` must be reported as a malformed declaration,
// not read as three expression statements.
name : ID | 'cost' | 'op' | 'rule' | 'ruleset' | 'version' | 'use' ;

NUMBER  : [0-9] [0-9_]* ('.' [0-9]+)? ([eE] [+-]? [0-9]+)? ;
STRING  : '"' (~["\\\r\n] | '\\' .)* '"' ;
PATVAR  : '?' [A-Za-z_] [A-Za-z0-9_]* ;
ID      : [A-Za-z_] [A-Za-z0-9_]* ('.' [A-Za-z0-9_]+)* ;
// A dotted name with `{placeholder}` segments: `layers.{i}.mlp.down_proj.shards.{r}.weight`.
// Without a placeholder the same text is an ID (ID comes first and matches as long). A
// placeholder is a whole segment after a dot, so no text that was valid before lexes as a PATH.
PATH    : [A-Za-z_] [A-Za-z0-9_]* ('.' ([A-Za-z0-9_]+ | '{' [A-Za-z_] [A-Za-z0-9_]* '}'))+ ;
COMMENT : '#' ~[\r\n]* -> channel(HIDDEN) ;
WS      : [ \t\r\n]+ -> skip ;
// Any other character is reported by the parser as an unexpected token, with its position.
BAD_CHAR : . ;
