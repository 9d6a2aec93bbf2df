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
  | '[' (expr (',' expr)* ','?)? ']'                         # ListLit
  | '{' (mapEntry (',' mapEntry)* ','?)? '}'                 # MapLit
  | '(' expr ')'                                             # ParenExpr
  | 'fn' '(' paramList? ')' block                            # LambdaExpr
  ;

mapEntry : expr ':' expr ;
argList  : arg (',' arg)* ','? ;
arg      : (name '=')? expr ;

// Soft keywords usable as names (attribute names such as `dim=` never clash with these).
name : ID | 'cost' | 'op' | 'rule' | 'ruleset' | 'version' | 'use' ;

NUMBER  : [0-9] [0-9_]* ('.' [0-9]+)? ([eE] [+-]? [0-9]+)? ;
STRING  : '"' (~["\\\r\n] | '\\' .)* '"' ;
PATVAR  : '?' [A-Za-z_] [A-Za-z0-9_]* ;
ID      : [A-Za-z_] [A-Za-z0-9_]* ('.' [A-Za-z0-9_]+)* ;
COMMENT : '#' ~[\r\n]* -> channel(HIDDEN) ;
WS      : [ \t\r\n]+ -> skip ;
// Any other character is reported by the parser as an unexpected token, with its position.
BAD_CHAR : . ;
