#include "interp/lib/libraries.h"

namespace twin {

void open_all_libraries(Interpreter& interpreter) {
  open_egraph_library(interpreter);
  open_graph_library(interpreter);
  open_check_library(interpreter);
  open_io_library(interpreter);
  open_stages_library(interpreter);
}

}  // namespace twin
