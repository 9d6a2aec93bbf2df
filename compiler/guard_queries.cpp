#include "compiler/guard_queries.h"

#include "ops/constant_values.h"
#include "ops/index_domain.h"
#include "ops/shape_analysis.h"

namespace twin::compiler {

const egraph::QueryRegistry& guard_queries() {
  static const egraph::QueryRegistry registry = [] {
    egraph::QueryRegistry r;
    ops::register_shape_queries(r);
    ops::register_constant_queries(r);
    ops::register_index_queries(r);
    return r;
  }();
  return registry;
}

}  // namespace twin::compiler
