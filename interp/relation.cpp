#include "interp/relation.h"

#include "interp/term.h"

namespace twin {

DeclaredRelation make_declared_relation(const Stmt& statement) {
  DeclaredRelation relation;
  relation.port = statement.text;
  relation.location = statement.location;
  relation.port_location = statement.target ? statement.target->location : statement.location;
  relation.source = lower_term(*statement.expr, nullptr, /*allow_vars=*/false, TermSyntax::Relation);
  check_relation_form(relation);
  return relation;
}

}  // namespace twin
