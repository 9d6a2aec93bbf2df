// The queries guards and cost arms may call: the engine's is_const(?x) and is_sym(?x), and the
// tensor queries shape, dim, rank, numel and dtype that the shape analysis answers
// (ops/shape_analysis.h). One registry for every user of compiled rules: scripts, `twin
// check`, `twin verify`, synthesis.
#pragma once

#include "egraph/scalar_expr.h"

namespace twin::compiler {

const egraph::QueryRegistry& guard_queries();

}  // namespace twin::compiler
