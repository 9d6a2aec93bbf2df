// Declared parameter relations: `relation PORT = TERM` declarations (interp/relation.h)
// instantiated against a reference and a port graph. This is how a model too big to capture
// with weights tells Twin how its port's parameters come from the reference's:
//
//   twin::Interpreter twin({.allowed_read_dirs = {"bench"}});
//   twin.load_declarations("bench/check_7b_shape.rules");
//   auto relations = twin::check::expand_declared_relations(twin.declared_relations(), reference, port);
//   for (const auto& r : relations) use(r.port, r.term());  // a term over reference parameter names
//
// Each declaration is matched against every parameter and buffer name of the port: a name
// matches a pattern when each `{placeholder}` binds one non-empty dot-free segment (the same
// segment wherever a placeholder repeats) and the other segments are equal. The bindings are
// substituted into the right side (in patterns, and as numbers where `{r}` stands alone), and
// the result is checked:
//   - every name the right side reads is a parameter or buffer of the reference graph;
//   - the term types (ops/op_spec.h shape inference) and its type is the port tensor's, dtype
//     and shape;
//   - the term is one of the forms a ParameterRelation holds: a name, transpose, slice,
//     repeat, repeat_interleave, cat of names or slices along the cat's dim, optionally inside
//     a transpose of the last two dims and/or a cast;
//   - when the values are stored on both sides, the relation holds exactly: its term is
//     evaluated on the reference's tensors and compared with the port's bit for bit
//     (confirm_relation), and the relation comes back `confirmed`.
// Every failure is a twin::Error (ErrorKind::Value) located at the declaration (or the name on
// its right side that is wrong), naming the port parameter and the bindings. A declaration that
// matches no port tensor, and a port tensor matched by two declarations, are errors too.
#pragma once

#include "capture/graph.h"
#include "check/parameter_relations.h"
#include "compiler/relation_template.h"

#include <vector>

namespace twin::check {

// One declaration instantiated for one port tensor.
struct ExpandedRelation {
  ParameterRelation relation;  // relation.term() prints the declared term (dims made non-negative)
  SourceLocation declared_at;  // the `relation` declaration it came from
  std::string pattern;         // its left side as written
  PatternBindings bindings;    // {"i": "3", "r": "1"}
};

// The relations declared for the port's tensors, in the port's order (parameters, then
// buffers); port tensors that no declaration matches are not in the result. Throws Error.
std::vector<ExpandedRelation> expand_declared_relations_located(const std::vector<DeclaredRelation>& declared,
                                                                const Graph& reference, const Graph& port);
// The same, as plain relations.
std::vector<ParameterRelation> expand_declared_relations(const std::vector<DeclaredRelation>& declared,
                                                         const Graph& reference, const Graph& port);

// One relation per port parameter and buffer, in the port's order: the declared one where a
// declaration matches, else the one inferred from the stored values
// (infer_parameter_relations; unrelated with a note when there is none). Throws Error as
// expand_declared_relations does.
std::vector<ParameterRelation> declared_and_inferred_relations(const std::vector<DeclaredRelation>& declared,
                                                               const Graph& reference, const Graph& port);

}  // namespace twin::check
