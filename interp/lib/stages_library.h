// The stages library a host opens: the measuring parts of the validation stages
// (stages/stages.h) as builtins, so that each stage is a script (stdlib/stages/*.twin) a user
// can read, copy and change. docs/stages.md ("The stages as scripts") documents every builtin.
//
//   let p = stages_pair("reference.graph", "port.graph")
//   let trees = p.model_trees()            # both trees (compressed, full, pretty, flat) + diff
//   let m = p.map_components()             # or map_components(mapping="hand.json")
//   let s2 = p.component_tests()           # the 3-tensor R-ratio of each mapped component
//   let charts = p.error_charts("norm")    # QQ plot and histogram of its errors, as charts
//   let divs = p.divergences()             # what twin check's value matching names, per module
//   let tf = p.teacher_forced(prompt_length=1)  # per-position R, cosine, KL, top-1
//   write_text(out + "/plots/r.svg", svg_chart(chart))   # a chart is a map; also csv_chart
//
// Deciding (pass at tau_R, spike or step, root causes, the end-to-end criteria) is the
// scripts' part; measuring is here. Paths resolve like load_graph's, read permission checked.
#pragma once

#include "interp/interpreter.h"

namespace twin {

void open_stages_library(Interpreter& interpreter);

}  // namespace twin
