// The automatic component mapping (stages.h): which reference modules each port module
// computes, from the value matches of `twin check`'s divergence report.
//
// A port module T is mapped by values when each of its outputs reads as (views, parts or a
// concatenation of) reference values that are outputs of reference modules; of the modules a
// reference value leaves (down_proj's output is also mlp's), the one with T's own name is
// chosen, else one at T's depth (counted below a wrapper such as `model.` that one side nests
// its layers in), else none: the scopes differ. A fused projection reads as the
// concatenation of several modules' outputs: a one-to-many entry. Port outputs that read as
// no module's output (a fused residual add's sum) are left out of the comparison. Where values
// map nothing (downstream of a bug), the `{i}` pattern of a match, then the weights a module
// holds (WeightSources), then its path say what it stands for.
#include "stages/stages.h"
#include "stages/module_paths.h"

#include "check/parameter_relations.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <tuple>

namespace twin::stages {
namespace {

using json = nlohmann::ordered_json;

int depth(const std::string& path) { return path.empty() ? 0 : 1 + int(std::count(path.begin(), path.end(), '.')); }

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    out.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

// The first numeric segment of a path, as (segment index, number); (-1, "") when none.
std::pair<int, std::string> layer_index(const std::string& path) {
  auto parts = split(path);
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (is_index(parts[i])) return {int(i), parts[i]};
  return {-1, ""};
}
std::string with_index(const std::string& path, int segment, const std::string& value) {
  auto parts = split(path);
  if (segment < 0 || std::size_t(segment) >= parts.size()) return path;
  parts[segment] = value;
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "." : "") + parts[i];
  return out;
}
// The path with its layer index written `{i}` ("layers.1.mlp" -> "layers.{i}.mlp"); a path
// without one as it is.
std::string layer_pattern(const std::string& path) { return with_index(path, layer_index(path).first, "{i}"); }

// Who reads each node, and which nodes depend on the graph inputs.
struct GraphIndex {
  const Graph* graph = nullptr;
  std::map<std::string, std::size_t, std::less<>> index;
  std::vector<std::vector<std::size_t>> readers;
  std::vector<bool> data_dependent;
  std::set<std::string> graph_outputs;
  std::set<std::string> modules;

  explicit GraphIndex(const Graph& g) : graph(&g) {
    const auto& nodes = g.nodes();
    for (std::size_t i = 0; i < nodes.size(); ++i) index[nodes[i].name] = i;
    readers.assign(nodes.size(), {});
    data_dependent.assign(nodes.size(), false);
    std::set<std::string> inputs;
    for (const auto& in : g.inputs()) inputs.insert(in.name);
    for (std::size_t i = 0; i < nodes.size(); ++i)
      for (const auto& r : nodes[i].reads) {
        if (inputs.count(r)) data_dependent[i] = true;
        if (auto it = index.find(r); it != index.end()) {
          readers[it->second].push_back(i);
          if (data_dependent[it->second]) data_dependent[i] = true;
        }
      }
    for (const auto& o : g.outputs()) graph_outputs.insert(o.name);
    for (const auto& p : g.module_paths()) modules.insert(p);
  }

  bool inside(std::size_t node, const std::vector<std::string>& roots) const {
    for (const auto& r : roots)
      if (in_subtree(graph->nodes()[node].module, r)) return true;
    return false;
  }

  // Whether node i, inside `roots`, only passes on a value from outside them: a chain of
  // same-dtype, same-shape casts or copies (`x.float()` on an f32 `x` inside a norm). PyTorch
  // returns the very tensor, so a trace records the residual the caller keeps as this node,
  // and the module seems to output its own input; that is no output of the module.
  bool pass_through(std::size_t i, const std::vector<std::string>& roots) const {
    const auto& nodes = graph->nodes();
    for (int guard = 0; guard < 64; ++guard) {
      const GraphNode& n = nodes[i];
      const std::string op = n.twin_op();
      if ((op != "cast" && op != "contiguous") || n.outputs.size() != 1 || n.reads.empty()) return false;
      const ops::TensorType* in = graph->type_of({n.reads[0], 0});
      if (!in || !(*in == n.outputs[0])) return false;
      auto it = index.find(n.reads[0]);
      if (it == index.end() || !inside(it->second, roots)) return true;
      i = it->second;
    }
    return false;
  }

  // The floating outputs of the union of `roots`' subtrees, in node order (pass-throughs of
  // values from outside left out).
  std::vector<GraphRef> outputs_of(const std::vector<std::string>& roots) const {
    std::vector<GraphRef> out;
    const auto& nodes = graph->nodes();
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (!data_dependent[i] || !inside(i, roots) || pass_through(i, roots)) continue;
      bool leaves = graph_outputs.count(nodes[i].name) > 0;
      for (auto r : readers[i]) leaves = leaves || !inside(r, roots);
      if (!leaves) continue;
      for (std::size_t k = 0; k < nodes[i].outputs.size(); ++k)
        if (ops::is_floating(nodes[i].outputs[k].dtype)) out.push_back({nodes[i].name, int(k)});
    }
    return out;
  }

  // Whether node `name` is an output of module `root`'s subtree.
  bool leaves(const std::string& name, const std::string& root) const {
    auto it = index.find(name);
    if (it == index.end() || !in_subtree(graph->nodes()[it->second].module, root)) return false;
    if (pass_through(it->second, {root})) return false;
    if (graph_outputs.count(name)) return true;
    for (auto r : readers[it->second])
      if (!in_subtree(graph->nodes()[r].module, root)) return true;
    return false;
  }
};

std::pair<std::string, int> split_ref(const std::string& ref) {
  auto b = ref.find('[');
  if (b == std::string::npos) return {ref, 0};
  return {ref.substr(0, b), std::stoi(ref.substr(b + 1))};
}

// Modules a port module may be compared as: not the model, not a bare list of layers.
bool candidate(const GraphModule& m) {
  if (m.path.empty()) return false;
  if (m.node_count == 0 && !m.children.empty() &&
      std::all_of(m.children.begin(), m.children.end(), [](const auto& c) { return is_index(c->name); }))
    return false;
  return true;
}

// A module as a reason names it: its last part, or the whole path when that part is a layer
// index ("layers.0", not "0").
std::string short_name(const std::string& path) { return is_index(leaf(path)) ? path : leaf(path); }

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? (i + 1 == v.size() ? " and " : ", ") : "") + v[i];
  return out;
}

// Which reference modules a port module's weights come from (step 3 of map_components).
// Each port parameter is related to the reference's by check::infer_parameter_relations
// (confirmed bit for bit); its sources' modules (a parameter's name less its last part) are
// where it comes from. Buffers are left out: a KV cache or a RoPE table holds no weights.
class WeightSources {
 public:
  WeightSources(const Graph& reference, const Graph& port) {
    relations_ = check::infer_parameter_relations(reference, port);
    // Reference tensors with a bit-identical twin (norm weights still at their initial ones,
    // tied embeddings): a relation to one of them names a module only when the other twins'
    // modules are taken (resolve_twin).
    struct Twins { std::vector<double> values; std::vector<std::string> names; };
    std::map<std::tuple<int, std::vector<std::int64_t>, std::size_t>, std::vector<Twins>> seen;
    for (const auto& t : check::graph_tensors(reference)) {
      if (t.is_buffer || !t.value.defined()) continue;
      reference_parameters_.insert(t.name);
      auto values = t.value.to_doubles();
      const std::string bytes(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(double));
      auto& groups = seen[{int(t.value.dtype()), t.value.shape(), std::hash<std::string>{}(bytes)}];
      auto same = std::find_if(groups.begin(), groups.end(), [&](const Twins& g) { return g.values == values; });
      if (same == groups.end()) groups.push_back({std::move(values), {t.name}});
      else same->names.push_back(t.name);
    }
    for (const auto& [key, groups] : seen)
      for (const auto& g : groups)
        if (g.names.size() > 1)
          for (const auto& n : g.names) twins_[n] = g.names;
    // A parameter read by nodes outside its own module (GPT-2's tied wte.weight, read by
    // lm_head's linear) is at home in each of those modules too.
    for (const auto& node : reference.nodes())
      for (const auto& r : node.reads)
        if (reference_parameters_.count(r) && !in_subtree(node.module, parent(r))) {
          auto& homes = homes_[r];
          if (homes.empty()) homes.push_back(parent(r));
          if (std::find(homes.begin(), homes.end(), node.module) == homes.end()) homes.push_back(node.module);
        }
  }

  // The reference modules the parameters under `port_module` come from, outermost first:
  // one module when a single reference module's parameters are exactly theirs (the lowest
  // common ancestor of their sources, every parameter of which is a source), else the source
  // modules themselves when they are siblings each wholly used (a fused projection). Empty
  // when `port_module` owns no parameter, one is unrelated or comes from a tensor with twins
  // of which not exactly one lies outside the `taken` modules (those mapped already), or the
  // sources are spread over the model. `kinds` gets the relation kinds used.
  std::vector<std::string> sources_of(const std::string& port_module, const std::set<std::string>& taken,
                                      std::set<std::string>& kinds) const {
    std::vector<std::string> owners;
    std::set<std::string> used;
    bool any = false;
    for (const auto& r : relations_) {
      if (r.is_buffer || !in_subtree(parent(r.port), port_module)) continue;
      any = true;
      if (!r.related()) return {};
      kinds.insert(check::relation_kind_name(r.kind));
      for (const auto& s : r.sources) {
        const auto [source, home] = resolve(s, taken);
        if (source.empty()) return {};
        used.insert(source);
        if (std::find(owners.begin(), owners.end(), home) == owners.end()) owners.push_back(home);
      }
    }
    if (!any || owners.empty()) return {};
    auto covered = [&](const std::string& module) {
      for (const auto& n : reference_parameters_)
        if (in_subtree(parent(n), module) && !used.count(n)) return false;
      return true;
    };
    std::string common = owners.front();
    for (const auto& o : owners)
      while (!common.empty() && !in_subtree(o, common)) common = parent(common);
    if (!common.empty() && covered(common)) return {common};
    if (owners.size() < 2) return {};
    for (const auto& o : owners)
      if (o.empty() || parent(o) != parent(owners.front()) || !covered(o)) return {};
    return owners;
  }

 private:
  std::vector<check::ParameterRelation> relations_;
  std::set<std::string> reference_parameters_;
  std::map<std::string, std::vector<std::string>> twins_;  // a tensor with twins -> all of them
  std::map<std::string, std::vector<std::string>> homes_;  // a tensor read elsewhere -> its modules

  // The tensor and module a relation's source `name` stands for: itself in its own module,
  // or, when it has bit-identical twins or is read in other modules too, the one (tensor,
  // module) whose module no other component has taken (tied embeddings: wte is the port's
  // embedding, so the output projection's weight is lm_head's); {"", ""} when that leaves
  // none or several.
  std::pair<std::string, std::string> resolve(const std::string& name, const std::set<std::string>& taken) const {
    std::vector<std::pair<std::string, std::string>> candidates;
    auto twins = twins_.find(name);
    for (const auto& tensor : twins == twins_.end() ? std::vector<std::string>{name} : twins->second) {
      auto homes = homes_.find(tensor);
      for (const auto& home : homes == homes_.end() ? std::vector<std::string>{parent(tensor)} : homes->second)
        candidates.push_back({tensor, home});
    }
    if (candidates.size() == 1) return candidates.front();
    std::pair<std::string, std::string> found;
    for (const auto& c : candidates) {
      const bool free = std::none_of(taken.begin(), taken.end(), [&](const auto& t) { return in_subtree(c.second, t); });
      if (!free) continue;
      if (!found.first.empty()) return {};
      found = c;
    }
    return found;
  }
};
}  // namespace

// How many levels deeper the port nests its modules than the reference: where the layer index
// sits in their paths (a port's `model.layers.0` under a `model.` wrapper against the
// reference's `layers.0`: 1). 0 when either graph has no indexed layers.
int nesting_offset(const Graph& reference, const Graph& port) {
  auto index_segment = [](const Graph& g) {
    for (const auto& path : g.module_paths())
      if (int at = layer_index(path).first; at >= 0) return at;
    return -1;
  };
  const int r = index_segment(reference), p = index_segment(port);
  return r < 0 || p < 0 ? 0 : p - r;
}

ComponentMapping map_components(const Graph& reference, const Graph& port, const check::DivergenceReport& matches) {
  const GraphIndex ref(reference), prt(port);
  const int offset = nesting_offset(reference, port);
  std::map<std::pair<std::string, int>, const check::ValueMatch*> match_of;
  for (const auto& m : matches.value_matches) match_of[{m.node, m.output}] = &m;

  ComponentMapping mapping;
  std::set<std::string> mapped_targets, mapped_sources;
  std::vector<std::string> port_candidates;
  for (const auto& path : port.module_paths())
    if (const GraphModule* m = port.modules().find(path); m && candidate(*m)) port_candidates.push_back(path);

  auto finish = [&](Component c) {
    std::size_t order = 0;
    for (const auto& o : c.port_outputs)
      if (auto it = prt.index.find(o.name); it != prt.index.end()) order = std::max(order, it->second);
    c.order = order;
    c.depth = depth(c.target_modules.size() == 1 ? c.name : c.target_modules.front());
    mapped_targets.insert(c.name);
    for (const auto& t : c.target_modules) mapped_targets.insert(t);
    for (const auto& s : c.source_modules) mapped_sources.insert(s);
    mapping.components.push_back(std::move(c));
  };

  // 1. By values.
  std::map<std::string, std::string> reads_inside;  // port module -> "ref value in module" (no module output)
  // Port modules with one output that reads as one whole reference value inside a module
  // (no module's output): the value, for step 1b.
  std::map<std::string, std::pair<std::string, int>> inside_value;
  for (const auto& t : port_candidates) {
    Component c;
    c.name = t;
    c.target_modules = {t};
    c.port_outputs = prt.outputs_of({t});
    if (c.port_outputs.empty()) continue;
    struct Read { std::size_t port_output; const check::ValueMatch* match; std::vector<std::string> modules; };
    std::vector<Read> reads;
    std::vector<std::string> sources;
    for (std::size_t k = 0; k < c.port_outputs.size(); ++k) {
      auto it = match_of.find({c.port_outputs[k].name, c.port_outputs[k].output});
      if (it == match_of.end()) continue;
      const check::ValueMatch& m = *it->second;
      if (m.status != "matched" && m.status != "part" && m.status != "concat") continue;
      Read read{k, &m, {}};
      bool ok = true;
      for (const auto& piece : m.pieces) {
        auto [name, out] = split_ref(piece.reference);
        auto ri = ref.index.find(name);
        if (ri == ref.index.end()) { ok = false; break; }
        // The modules this reference value leaves, innermost first.
        std::vector<std::string> leaving;
        for (std::string a = reference.nodes()[ri->second].module; !a.empty(); a = parent(a))
          if (ref.leaves(name, a)) leaving.push_back(a);
        if (leaving.empty()) {
          ok = false;
          reads_inside[t] = piece.reference + " inside " + (piece.reference_module.empty() ? "the model" : piece.reference_module);
          if (m.status == "matched" && m.pieces.size() == 1 && c.port_outputs.size() == 1 && piece.view.permutation.empty() &&
              piece.view.slice_dim < 0 && !piece.view.negated)
            inside_value[t] = {name, out};
          break;
        }
        std::string chosen;
        for (const auto& a : leaving) if (leaf(a) == leaf(t)) { chosen = a; break; }
        if (chosen.empty()) for (const auto& a : leaving) if (depth(a) + offset == depth(t)) { chosen = a; break; }
        if (chosen.empty()) {
          // Only modules at another depth leave it (a port layer that returns its MLP's output
          // and defers the residual add): the scopes differ, so isolation would not compare
          // like with like.
          ok = false;
          reads_inside[t] = piece.reference + " (the output of " + leaving.front() + ", a module at another depth)";
          break;
        }
        read.modules.push_back(chosen);
      }
      if (!ok) continue;
      for (const auto& s : read.modules)
        if (std::find(sources.begin(), sources.end(), s) == sources.end()) sources.push_back(s);
      reads.push_back(std::move(read));
    }
    if (reads.empty()) continue;
    // Nested sources (a module and its child) collapse to the outer one.
    std::vector<std::string> outer;
    for (const auto& s : sources)
      if (!std::any_of(sources.begin(), sources.end(), [&](const auto& o) { return o != s && in_subtree(s, o); })) outer.push_back(s);
    c.source_modules = outer;
    c.ref_outputs = ref.outputs_of(outer);
    bool ok = true;
    for (const auto& read : reads) {
      ComparedOutput co{read.port_output, {}, read.match->concat_dim};
      for (const auto& piece : read.match->pieces) {
        auto [name, out] = split_ref(piece.reference);
        auto pos = std::find_if(c.ref_outputs.begin(), c.ref_outputs.end(),
                                [&](const GraphRef& r) { return r.name == name && r.output == out; });
        if (pos == c.ref_outputs.end()) { ok = false; break; }
        co.pieces.push_back({std::size_t(pos - c.ref_outputs.begin()), piece.view, piece.length});
      }
      if (!ok) break;
      c.compared.push_back(std::move(co));
    }
    if (!ok) continue;
    c.how = "values";
    const auto& first = *reads.front().match;
    if (first.status == "concat")
      c.reason = "values match: " + short_name(t) + "'s output is the concatenation of the outputs of " + join(c.source_modules) +
                 " (fused, one-to-many)";
    else if (first.status == "part")
      c.reason = "values match: " + short_name(t) + "'s output is an aligned part of " + join(c.source_modules) + "'s output";
    else if (c.source_modules.size() == 1 && c.source_modules[0] == t)
      c.reason = "values match: the same module path computes the same value";
    else
      c.reason = "values match: " + short_name(t) + "'s output is " + join(c.source_modules) + "'s output" +
                 (first.pieces.front().view.permutation.empty() ? "" : " (permuted)");
    if (reads.size() < c.port_outputs.size())
      c.reason += "; " + std::to_string(c.port_outputs.size() - reads.size()) + " other output(s) read as no module's output";
    finish(std::move(c));
  }

  // 1b. Fused in the reference, split in the port: sibling port modules whose outputs read as
  // the pieces a reference split (split, chunk) cuts one module's output into (HF GPT-2's
  // Conv1D c_attn, split into q, k and v, against a port's q_proj, k_proj and v_proj). One
  // component: the port modules' outputs, each against its slice of the module's output.
  {
    std::map<std::string, std::vector<std::pair<int, std::string>>> by_split;  // ref node -> (piece, port module)
    for (const auto& [t, value] : inside_value) by_split[value.first].push_back({value.second, t});
    for (auto& [split_name, parts] : by_split) {
      auto si = ref.index.find(split_name);
      if (parts.size() < 2 || si == ref.index.end()) continue;
      const GraphNode& split = reference.nodes()[si->second];
      const std::string op = split.twin_op();
      if ((op != "split" && op != "chunk") || split.reads.empty() || parts.size() != split.outputs.size()) continue;
      std::sort(parts.begin(), parts.end());
      bool siblings = true;
      for (std::size_t k = 0; k < parts.size(); ++k)
        siblings = siblings && parts[k].first == int(k) && parent(parts[k].second) == parent(parts[0].second) &&
                   !mapped_targets.count(parts[k].second);
      if (!siblings) continue;
      // The split's input, and the module whose output it is.
      const std::string& input = split.reads.front();
      auto ii = ref.index.find(input);
      if (ii == ref.index.end()) continue;
      std::string source;
      for (std::string a = reference.nodes()[ii->second].module; !a.empty() && source.empty(); a = parent(a))
        if (ref.leaves(input, a)) source = a;
      if (source.empty() || mapped_sources.count(source)) continue;
      const auto& in_shape = reference.nodes()[ii->second].outputs.front().shape;
      // The split dim: where the first piece's shape differs from the input's.
      const auto& first = split.outputs.front().shape;
      if (first.size() != in_shape.size()) continue;
      int dim = -1;
      for (std::size_t d = 0; d < in_shape.size(); ++d)
        if (first[d] != in_shape[d]) dim = int(d);
      if (dim < 0) continue;
      // In the squeezed layout the views read.
      check::values::Shape squeezed;
      int squeezed_dim = -1;
      for (std::size_t d = 0; d < in_shape.size(); ++d) {
        if (int(d) == dim) squeezed_dim = int(squeezed.size());
        if (in_shape[d] != 1 || int(d) == dim) squeezed.push_back(in_shape[d]);
      }
      Component c;
      for (const auto& [k, t] : parts) c.target_modules.push_back(t);
      std::vector<std::string> leaves;
      for (const auto& t : c.target_modules) leaves.push_back(leaf(t));
      c.name = parent(parts[0].second) + (parent(parts[0].second).empty() ? "" : ".") + leaves[0];
      for (std::size_t k = 1; k < leaves.size(); ++k) c.name += "+" + leaves[k];
      c.source_modules = {source};
      c.ref_outputs = ref.outputs_of({source});
      auto pos = std::find_if(c.ref_outputs.begin(), c.ref_outputs.end(), [&](const GraphRef& r) { return r.name == input && r.output == 0; });
      if (pos == c.ref_outputs.end()) continue;
      const std::size_t r = std::size_t(pos - c.ref_outputs.begin());
      std::int64_t start = 0;
      bool fits = true;
      for (std::size_t k = 0; k < parts.size(); ++k) {
        const auto outs = prt.outputs_of({c.target_modules[k]});
        if (outs.size() != 1) { fits = false; break; }
        c.port_outputs.push_back(outs.front());
        const std::int64_t size = split.outputs[k].shape.size() == in_shape.size() ? split.outputs[k].shape[std::size_t(dim)] : -1;
        if (size <= 0) { fits = false; break; }
        check::ReadView view;
        view.read_shape = squeezed;
        view.slice_dim = squeezed_dim;
        view.slice_start = start;
        view.slice_size = size;
        c.compared.push_back({k, {{r, view, 0}}, -1});
        start += size;
      }
      if (!fits) continue;
      c.how = "values";
      c.reason = "values match: the outputs of " + join(leaves) + " are the pieces the reference's " + op + " cuts " +
                 source + "'s output into (fused in the reference, one-to-many)";
      finish(std::move(c));
    }
  }

  // 2. The layer pattern of a value match, in the layers where values did not match (and,
  // after step 3, of a weights match: a bug in layer 0's norm leaves layer 1 mapped by its
  // weights, and layer 0's norm is its counterpart by the pattern).
  auto extend_by_pattern = [&](std::size_t first, std::size_t last) {
    for (std::size_t k = first; k < last; ++k) {
      const Component tmpl = mapping.components[k];
      auto [segment, number] = layer_index(tmpl.name);
      if (segment < 0) continue;
      bool same = true;
      for (const auto& s : tmpl.source_modules) same = same && layer_index(s) == std::make_pair(segment, number);
      if (!same) continue;
      std::set<std::string> indices;
      for (const auto& p : port.module_paths())
        if (auto [seg, n] = layer_index(p); seg == segment && n != number) indices.insert(n);
      for (const auto& i : indices) {
        Component c = tmpl;
        c.name = with_index(tmpl.name, segment, i);
        c.target_modules.clear();
        bool exists = !mapped_targets.count(c.name);
        for (const auto& t : tmpl.target_modules) {
          c.target_modules.push_back(with_index(t, segment, i));
          exists = exists && prt.modules.count(c.target_modules.back()) && !mapped_targets.count(c.target_modules.back());
        }
        if (!exists) continue;
        c.source_modules.clear();
        for (const auto& s : tmpl.source_modules) {
          c.source_modules.push_back(with_index(s, segment, i));
          exists = exists && ref.modules.count(c.source_modules.back());
        }
        if (!exists) continue;
        c.port_outputs.clear();
        if (c.target_modules.size() == 1) c.port_outputs = prt.outputs_of(c.target_modules);
        else  // one output per target module, in their order (step 1b)
          for (const auto& t : c.target_modules)
            for (const auto& o : prt.outputs_of({t})) c.port_outputs.push_back(o);
        c.ref_outputs = ref.outputs_of(c.source_modules);
        if (c.port_outputs.size() != tmpl.port_outputs.size() || c.ref_outputs.size() != tmpl.ref_outputs.size()) continue;
        c.how = "layer pattern";
        c.reason = "the {i} pattern of " + tmpl.name + " (" + tmpl.reason + "); values differ here";
        finish(std::move(c));
      }
    }
  };
  const std::size_t by_values = mapping.components.size();
  extend_by_pattern(0, by_values);

  // 3. By weights, where values mapped nothing (downstream of a bug, in a port whose module
  // names are not the reference's): the reference modules the port module's parameters come
  // from, compared output for output (several sources: a fused projection, the concatenation
  // of theirs on the last dim).
  // Neither step maps a module whose output reads as a value inside a reference module
  // (SiluAndMul against SiLU then a product; a layer that defers its residual add), nor the
  // module of the same {i} pattern in a layer where values differ (downstream of a bug): the
  // layer that matched says what the module computes.
  std::set<std::string> reads_inside_patterns;
  for (const auto& [path, what] : reads_inside) reads_inside_patterns.insert(layer_pattern(path));
  const WeightSources weights(reference, port);
  const std::size_t by_weights_first = mapping.components.size();
  auto numel_of = [](const Graph& g, const GraphRef& r) -> std::int64_t {
    const ops::TensorType* t = g.type_of(r);
    return t ? t->numel() : -1;
  };
  for (const auto& t : port_candidates) {
    if (mapped_targets.count(t) || reads_inside_patterns.count(layer_pattern(t))) continue;
    std::set<std::string> kinds;
    const auto sources = weights.sources_of(t, mapped_sources, kinds);
    if (sources.empty() ||
        std::any_of(sources.begin(), sources.end(), [&](const auto& s) { return mapped_sources.count(s) > 0; }))
      continue;
    Component c;
    c.name = t;
    c.target_modules = {t};
    c.source_modules = sources;
    c.port_outputs = prt.outputs_of({t});
    c.ref_outputs = ref.outputs_of(sources);
    if (c.port_outputs.empty() || c.ref_outputs.empty()) continue;
    const std::int64_t port_numel = numel_of(port, c.port_outputs[0]);
    ComparedOutput co{0, {}, sources.size() > 1 ? -2 : -1};
    std::int64_t ref_numel = 0;
    for (std::size_t r = 0; r < (sources.size() > 1 ? sources.size() : 1) && r < c.ref_outputs.size(); ++r) {
      co.pieces.push_back({r, {}, 0});
      ref_numel += numel_of(reference, c.ref_outputs[r]);
    }
    if (port_numel <= 0 || ref_numel != port_numel || co.pieces.size() != (sources.size() > 1 ? sources.size() : 1)) continue;
    c.compared = {co};
    c.how = "weights";
    std::string kind_list;
    for (const auto& k : kinds) kind_list += (kind_list.empty() ? "" : ", ") + k;
    c.reason = "weights match: " + short_name(t) + "'s parameters are " + join(sources) + "'s (" + kind_list +
               (sources.size() > 1 ? "; fused, one-to-many" : "") + "); its values match no reference module's output";
    finish(std::move(c));
  }

  extend_by_pattern(by_weights_first, mapping.components.size());

  // 4. The same module path, where nothing else mapped it.
  for (const auto& t : port_candidates) {
    if (mapped_targets.count(t) || !ref.modules.count(t) || mapped_sources.count(t) || reads_inside_patterns.count(layer_pattern(t)))
      continue;
    Component c;
    c.name = t;
    c.target_modules = c.source_modules = {t};
    c.port_outputs = prt.outputs_of({t});
    c.ref_outputs = ref.outputs_of({t});
    if (c.port_outputs.empty() || c.ref_outputs.empty()) continue;
    c.compared.push_back({0, {{0, {}, 0}}, -1});
    c.how = "module path";
    c.reason = "the same module path (its values match no reference module's output)";
    finish(std::move(c));
  }

  std::stable_sort(mapping.components.begin(), mapping.components.end(), [](const Component& a, const Component& b) {
    return a.order != b.order ? a.order < b.order : a.depth > b.depth;
  });

  // The file: components grouped by their {i} pattern, then modules without a counterpart.
  std::map<std::string, std::size_t> entry_of;
  for (const auto& c : mapping.components) {
    auto [segment, number] = layer_index(c.name);
    MappingEntry e;
    bool pattern = segment >= 0;
    for (const auto& s : c.source_modules) pattern = pattern && layer_index(s) == std::make_pair(segment, number);
    for (const auto& s : c.source_modules) e.source_modules.push_back(pattern ? with_index(s, segment, "{i}") : s);
    for (const auto& t : c.target_modules) e.target_modules.push_back(pattern ? with_index(t, segment, "{i}") : t);
    std::string key;
    for (const auto& s : e.source_modules) key += s + ",";
    key += "->";
    for (const auto& t : e.target_modules) key += t + ",";
    if (auto it = entry_of.find(key); it != entry_of.end()) {
      auto& reason = mapping.entries[it->second].reason;
      if (c.how != "values" && reason.find("values differ") == std::string::npos)
        reason += "; {i} = " + number + " by " + c.how + " (values differ there)";
      continue;
    }
    e.reason = c.how == "layer pattern" ? c.reason.substr(0, c.reason.find("; values differ")) : c.reason;
    if (c.how == "layer pattern") e.reason += "; {i} = " + number + " by layer pattern (values differ there)";
    entry_of[key] = mapping.entries.size();
    mapping.entries.push_back(std::move(e));
  }
  std::set<std::string> written;
  // Modules no graph input reaches (position embeddings over arange, tables) are no
  // components, but where the port's holds weights that come from one such reference module,
  // the two are counterparts: one entry.
  for (const auto& path : port_candidates) {
    if (mapped_targets.count(path) || !prt.outputs_of({path}).empty()) continue;
    std::set<std::string> kinds;
    const auto sources = weights.sources_of(path, mapped_sources, kinds);
    if (sources.size() != 1 || !ref.outputs_of(sources).empty() || sources[0] == path) continue;
    const std::string s = layer_pattern(sources[0]), t = layer_pattern(path);
    if (!written.insert("s:" + s).second || !written.insert("t:" + t).second) continue;
    mapping.entries.push_back({{s}, {t}, "weights match: " + short_name(path) + "'s parameters are " + sources[0] +
                                             "'s; both compute from weights and buffers alone (no graph input reaches "
                                             "them), so they have no activations to test in isolation"});
  }
  // A reference module whose output a port value matches that leaves no port module (GPT-2's
  // `mlp.act`, written inline in a port's MLP): "node in module", else "".
  auto computed_inline = [&](const std::string& path) -> std::string {
    for (const auto& m : matches.value_matches) {
      if (m.status != "matched" || m.pieces.size() != 1) continue;
      auto [name, out] = split_ref(m.pieces.front().reference);
      if (!ref.leaves(name, path)) continue;
      auto pi = prt.index.find(m.node);
      if (pi == prt.index.end()) continue;
      const std::string& module = port.nodes()[pi->second].module;
      if (mapped_targets.count(module) && prt.leaves(m.node, module)) continue;  // a module's output
      return m.node + " in " + (module.empty() ? std::string("the model") : module);
    }
    return "";
  };
  auto no_counterpart = [&](const std::string& path, bool source) {
    const std::string p = layer_pattern(path);
    if (!written.insert((source ? "s:" : "t:") + p).second) return;
    std::string reason;
    const std::string name = leaf(path);
    // A module at the same path on both sides that computes from the weights alone (a position
    // embedding over arange, a table): one entry, with why it is not a component.
    const GraphIndex& own = source ? ref : prt;
    const GraphIndex& other = source ? prt : ref;
    if (other.modules.count(path) && own.outputs_of({path}).empty() && other.outputs_of({path}).empty()) {
      if (!written.insert((source ? "t:" : "s:") + p).second) return;
      mapping.entries.push_back({{p}, {p}, "the same module path; it computes from weights and buffers alone (no graph input reaches it), "
                                           "so it has no activations to test in isolation (twin check proves it with the rest)"});
      return;
    }
    const std::string inline_in = source && !other.modules.count(path) ? computed_inline(path) : std::string();
    if (!source && reads_inside.count(path))
      reason = "no counterpart module: its output reads as reference value " + reads_inside.at(path) + ", not a module's output";
    else if (!inline_in.empty())
      reason = "no counterpart module: the target computes its output inline, as " + inline_in;
    else if (!source && (name == "shards" || path.find(".shards") != std::string::npos))
      reason = "no counterpart: tensor-parallel shards (partial results, compared once gathered)";
    else if (name == "rotary_emb" && !other.modules.count(path))
      reason = source ? "no counterpart module: the target applies rotary embeddings per layer"
                      : "no counterpart module: a per-layer rotary embedding (the reference has one per model)";
    else if (other.modules.count(path))
      reason = std::string("no counterpart: the ") + (source ? "target" : "source") +
               "'s module at this path computes another value (no value match; see its entry)";
    else
      reason = "no counterpart: no value match and no module of the same path";
    if (source) mapping.entries.push_back({{p}, {}, reason});
    else mapping.entries.push_back({{}, {p}, reason});
  };
  for (const auto& path : reference.module_paths()) {
    const GraphModule* m = reference.modules().find(path);
    if (!m || !candidate(*m) || mapped_sources.count(path)) continue;
    if (std::any_of(mapped_sources.begin(), mapped_sources.end(), [&](const auto& s) { return in_subtree(path, s); }) &&
        ref.outputs_of({path}).empty())
      continue;
    bool covered = false;  // inside a mapped module whose children are also mapped: only leaves matter
    for (const auto& c : mapping.components)
      for (const auto& s : c.source_modules) covered = covered || s == path;
    if (!covered) no_counterpart(path, true);
  }
  for (const auto& path : port.module_paths()) {
    const GraphModule* m = port.modules().find(path);
    if (!m || !candidate(*m) || mapped_targets.count(path)) continue;
    if (is_index(leaf(path)) && leaf(parent(path)) == "shards") continue;
    no_counterpart(path, false);
  }
  return mapping;
}

ComponentMapping merge_mapping(const Graph& reference, const Graph& port, ComponentMapping automatic,
                               const std::string& json_text, const std::string& file) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Value, file + ": not JSON: " + e.what());
  }
  if (!j.is_array()) throw Error(ErrorKind::Value, file + ": a component mapping is an array of [source_modules, target_modules, reason]");
  const GraphIndex ref(reference), prt(port);
  std::set<std::string> indices;
  for (const auto& p : port.module_paths())
    if (auto [seg, n] = layer_index(p); seg >= 0) indices.insert(n);
  for (std::size_t k = 0; k < j.size(); ++k) {
    const auto& e = j[k];
    const std::string where = file + ": entry " + std::to_string(k);
    if (!e.is_array() || e.size() < 2 || !e[0].is_array() || !e[1].is_array())
      throw Error(ErrorKind::Value, where + ": expected [[source modules...], [target modules...], reason]");
    std::vector<std::string> src, tgt;
    for (const auto& s : e[0]) { if (!s.is_string()) throw Error(ErrorKind::Value, where + ": module paths are strings"); src.push_back(s); }
    for (const auto& s : e[1]) { if (!s.is_string()) throw Error(ErrorKind::Value, where + ": module paths are strings"); tgt.push_back(s); }
    std::string reason = e.size() > 2 && e[2].is_string() ? std::string(e[2]) : "given by hand";
    if (src.empty() || tgt.empty()) {  // documentation of a module without counterpart
      automatic.entries.push_back({src, tgt, reason});
      continue;
    }
    const bool pattern = std::any_of(src.begin(), src.end(), [](const auto& s) { return s.find("{i}") != std::string::npos; }) ||
                         tgt[0].find("{i}") != std::string::npos;
    std::vector<std::string> instances = pattern ? std::vector<std::string>(indices.begin(), indices.end()) : std::vector<std::string>{""};
    for (const auto& i : instances) {
      auto inst = [&](std::string s) {
        for (auto pos = s.find("{i}"); pos != std::string::npos; pos = s.find("{i}")) s.replace(pos, 3, i);
        return s;
      };
      Component c;
      for (const auto& s : src) {
        c.source_modules.push_back(inst(s));
        if (!ref.modules.count(c.source_modules.back()))
          throw Error(ErrorKind::Value, where + ": the reference has no module " + c.source_modules.back());
      }
      for (const auto& s : tgt) {
        c.target_modules.push_back(inst(s));
        if (!prt.modules.count(c.target_modules.back()))
          throw Error(ErrorKind::Value, where + ": the port has no module " + c.target_modules.back());
      }
      c.name = c.target_modules.size() == 1 ? c.target_modules[0] : c.target_modules[0] + "+";
      c.port_outputs = prt.outputs_of(c.target_modules);
      c.ref_outputs = ref.outputs_of(c.source_modules);
      if (c.port_outputs.empty() || c.ref_outputs.empty()) continue;
      // Fused sources: the target's first output is the concatenation of theirs along its last dim.
      ComparedOutput co{0, {}, c.ref_outputs.size() > 1 ? -2 : -1};
      for (std::size_t r = 0; r < (c.ref_outputs.size() > 1 ? c.source_modules.size() : 1); ++r) co.pieces.push_back({r, {}, 0});
      c.compared = {co};
      c.how = "given";
      c.reason = reason;
      std::size_t order = 0;
      for (const auto& o : c.port_outputs) order = std::max(order, prt.index.at(o.name));
      c.order = order;
      c.depth = depth(c.target_modules[0]);
      std::erase_if(automatic.components, [&](const Component& a) { return a.name == c.name; });
      automatic.components.push_back(std::move(c));
    }
    std::erase_if(automatic.entries, [&](const MappingEntry& a) { return a.target_modules == tgt; });
    automatic.entries.insert(automatic.entries.begin(), MappingEntry{src, tgt, reason});
  }
  std::stable_sort(automatic.components.begin(), automatic.components.end(), [](const Component& a, const Component& b) {
    return a.order != b.order ? a.order < b.order : a.depth > b.depth;
  });
  return automatic;
}

std::string mapping_json(const ComponentMapping& mapping) {
  json out = json::array();
  for (const auto& e : mapping.entries) out.push_back(json::array({e.source_modules, e.target_modules, e.reason}));
  return out.dump(2) + "\n";
}

}  // namespace twin::stages
