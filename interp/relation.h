// The front end of `relation PORT = TERM` declarations: a declaration's syntax becomes a
// DeclaredRelation (compiler/relation_template.h), its right side a template Term, checked
// for form when it is loaded (every placeholder on the right bound by the left, the right
// side a term). check/declared_relations.h instantiates declarations against two graphs.
#pragma once

#include "compiler/relation_template.h"
#include "interp/ast.h"

namespace twin {

// Throws Error (Syntax) located at the part of the declaration that is wrong.
DeclaredRelation make_declared_relation(const Stmt& statement);

}  // namespace twin
