// Stage 0: the model trees (compressed and full JSON, flat paths) and the structural diff
// with each difference classed as expected (a porting framework's usual shape) or suspicious.
#include "stages/stages.h"
#include "stages/module_paths.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iterator>
#include <cctype>
#include <map>
#include <set>
#include <sstream>

namespace twin::stages {
namespace {

using json = nlohmann::ordered_json;



json module_json(const Graph& graph, const GraphModule& m, bool compressed);

// The structure of a module without its path: what the compressed tree compares.
std::string signature(const GraphModule& m) {
  std::string s = m.name + ":" + m.type + "(" + std::to_string(m.parameters.size()) + ")[";
  for (const auto& c : m.children) s += signature(*c) + ",";
  return s + "]";
}

std::string structure(const GraphModule& m) {  // the signature without the module's own name
  std::string s = m.type + "(" + std::to_string(m.parameters.size()) + ")[";
  for (const auto& c : m.children) s += signature(*c) + ",";
  return s + "]";
}

json children_json(const Graph& graph, const GraphModule& m, bool compressed) {
  json out = json::array();
  for (std::size_t i = 0; i < m.children.size();) {
    const GraphModule& c = *m.children[i];
    std::size_t j = i + 1;
    if (compressed && is_index(c.name))
      while (j < m.children.size() && is_index(m.children[j]->name) && structure(*m.children[j]) == structure(c)) ++j;
    json entry = module_json(graph, c, compressed);
    if (j - i > 1) {
      entry["name"] = c.name + "-" + m.children[j - 1]->name;
      entry["repeat"] = j - i;
    }
    out.push_back(std::move(entry));
    i = j;
  }
  return out;
}

json module_json(const Graph& graph, const GraphModule& m, bool compressed) {
  json j;
  j["name"] = m.name;
  j["path"] = m.path;
  j["type"] = m.type;
  json params = json::array();
  for (const auto& p : m.parameters) {
    const GraphTensor* t = graph.find_tensor(p);
    params.push_back({{"name", p.substr(m.path.empty() ? 0 : m.path.size() + 1)}, {"type", t ? t->type.to_string() : ""}});
  }
  j["parameters"] = params;
  j["children"] = children_json(graph, m, compressed);
  return j;
}

// The numbered children of the first module list ("layers"), or 0.
std::size_t layer_count(const Graph& g, std::string* where) {
  for (const auto& path : g.module_paths()) {
    const GraphModule* m = g.modules().find(path);
    if (!m || m->children.empty()) continue;
    if (std::all_of(m->children.begin(), m->children.end(), [](const auto& c) { return is_index(c->name); })) {
      *where = path;
      return m->children.size();
    }
  }
  return 0;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// The activation functions' names, lowercase, as class and module names spell them.
constexpr const char* kActivationNames[] = {"silu", "gelu", "relu", "swish", "tanh", "sigmoid"};

bool names_activation(const std::string& lowercase_text) {
  return std::any_of(std::begin(kActivationNames), std::end(kActivationNames),
                     [&](const char* a) { return lowercase_text.find(a) != std::string::npos; });
}

// An activation module by its class or its name (`act`, `act_fn`, `gelu`, SiluAndMul).
bool looks_like_activation(const GraphModule* m) {
  if (!m) return false;
  const std::string t = lowercase(m->type), n = lowercase(m->name);
  return t.find("act") != std::string::npos || n.find("act") != std::string::npos || names_activation(t) || names_activation(n);
}

// What kind of computation a module class is, from its name: what lets a port rename a
// class without it being a difference worth a look (GPT2Block against Block, Conv1D against
// Linear), while a norm where the source has a projection stays suspicious. "" when the name
// says nothing (containers: blocks, layers, models).
std::string module_family(const std::string& type) {
  const std::string t = lowercase(type);
  if (t.find("norm") != std::string::npos) return "normalization";
  if (t.find("embedding") != std::string::npos && t.find("rotary") == std::string::npos) return "embedding";
  if (t.find("rotary") != std::string::npos || t.find("rope") != std::string::npos) return "rotary embedding";
  if (t.find("linear") != std::string::npos || t == "conv1d" || t.find("dense") != std::string::npos) return "projection";
  if (names_activation(t) || t.find("activation") != std::string::npos) return "activation";
  if (t.find("attention") != std::string::npos || t.find("attn") != std::string::npos) return "attention";
  if (t.find("mlp") != std::string::npos || t.find("feedforward") != std::string::npos || t.find("ffn") != std::string::npos)
    return "mlp";
  return "";
}

}  // namespace

bool in_subtree(const std::string& path, const std::string& root) {
  return root.empty() || path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '.');
}

std::string tree_json(const Graph& graph, bool compressed) {
  json j = module_json(graph, graph.modules(), compressed);
  j["file"] = graph.file();
  j["compressed"] = compressed;
  return j.dump(2) + "\n";
}

std::string flat_paths(const Graph& graph) {
  std::string out;
  for (const auto& p : graph.module_paths()) out += p + "\n";
  return out;
}

namespace {

// A top-level module of `outer` that holds, one level down, what `inner` keeps at the top (HF's
// `LlamaForCausalLM.model` around `embed_tokens`, `layers` and `norm`, against a port without
// it): a wrapper when it holds two or more of inner's top-level modules and none of those is
// also at the top of outer. "" when there is none.
std::string wrapper_of(const std::vector<std::string>& outer_paths, const std::vector<std::string>& inner_paths) {
  const std::set<std::string> outer(outer_paths.begin(), outer_paths.end()), inner(inner_paths.begin(), inner_paths.end());
  std::string best;
  std::size_t best_count = 0;
  for (const auto& w : outer_paths) {
    if (w.empty() || !parent(w).empty() || inner.count(w)) continue;
    std::size_t count = 0;
    bool clash = false;
    for (const auto& m : inner_paths) {
      if (m.empty() || !parent(m).empty() || !outer.count(w + "." + m)) continue;
      ++count;
      clash = clash || outer.count(m) > 0;
    }
    if (!clash && count >= 2 && count > best_count) {
      best = w;
      best_count = count;
    }
  }
  return best;
}

// The activation functions a module's own nodes apply ("silu" for F.silu in an MLP that has
// no activation module).
std::string functional_activation(const Graph& g, const std::string& module) {
  for (const auto& node : g.nodes()) {
    if (node.module != module) continue;
    std::string op = lowercase(node.aten_op);
    if (auto colon = op.rfind(':'); colon != std::string::npos) op = op.substr(colon + 1);
    if (names_activation(op)) return op;
  }
  return "";
}

}  // namespace

std::vector<StructuralDifference> structural_diff(const Graph& source, const Graph& target) {
  std::vector<StructuralDifference> out;
  // One side may nest the model one level deeper (a `model.` wrapper): paths are compared with
  // it taken off, and the wrapper is one expected difference.
  std::vector<std::string> src_paths = source.module_paths(), tgt_paths = target.module_paths();
  const std::string tgt_wrapper = wrapper_of(tgt_paths, src_paths);
  const std::string src_wrapper = tgt_wrapper.empty() ? wrapper_of(src_paths, tgt_paths) : "";
  std::map<std::string, std::string> src_original, tgt_original;  // compared path -> the graph's
  auto without = [](const std::string& path, const std::string& wrapper) {
    return !wrapper.empty() && in_subtree(path, wrapper) && path != wrapper ? path.substr(wrapper.size() + 1) : path;
  };
  auto unwrap = [&](std::vector<std::string>& paths, const std::string& wrapper, std::map<std::string, std::string>& original) {
    std::vector<std::string> compared;
    for (const auto& p : paths) {
      if (!wrapper.empty() && p == wrapper) continue;
      original[without(p, wrapper)] = p;
      compared.push_back(without(p, wrapper));
    }
    paths = compared;
  };
  unwrap(src_paths, src_wrapper, src_original);
  unwrap(tgt_paths, tgt_wrapper, tgt_original);
  if (!tgt_wrapper.empty())
    out.push_back({"wrapper", "target", tgt_wrapper, true,
                   "the target nests the model's modules under `" + tgt_wrapper + "` (paths below are compared without it)"});
  if (!src_wrapper.empty())
    out.push_back({"wrapper", "source", src_wrapper, true,
                   "the source nests the model's modules under `" + src_wrapper + "` (paths below are compared without it)"});
  // A compared path as the graph names it.
  auto source_path = [&](const std::string& p) { return src_original.count(p) ? src_original[p] : p; };
  auto target_path = [&](const std::string& p) { return tgt_original.count(p) ? tgt_original[p] : p; };
  auto source_module = [&](const std::string& p) { return source.modules().find(source_path(p)); };
  auto target_module = [&](const std::string& p) { return target.modules().find(target_path(p)); };
  const std::set<std::string> src(src_paths.begin(), src_paths.end()), tgt(tgt_paths.begin(), tgt_paths.end());
  // A source module with no parameters of its own that applies another module's weight (GPT-2's
  // lm_head on the embedding's `wte.weight`), where a target node outside the target's module
  // of that weight reads the target's counterpart (`F.linear(h, wte.weight)`): the tied
  // projection applied inline. The reason, or "".
  auto tied_use = [&](const std::string& p) -> std::string {
    const GraphModule* m = source_module(p);
    const std::string path = source_path(p);
    if (!m || !m->parameters.empty()) return "";
    std::string weight;
    for (const auto& node : source.nodes())
      if (in_subtree(node.module, path))
        for (const auto& r : node.reads)
          if (weight.empty() && source.find_tensor(r) && !in_subtree(parent(r), path) &&
              std::any_of(source.parameters().begin(), source.parameters().end(), [&](const auto& t) { return t.name == r; }))
            weight = r;
    if (weight.empty()) return "";
    const std::string owner = without(parent(weight), src_wrapper);
    if (!tgt_original.count(owner)) return "";
    const std::string target_owner = tgt_original[owner], target_weight = target_owner + "." + leaf(weight);
    for (const auto& node : target.nodes())
      if (!in_subtree(node.module, target_owner) && std::find(node.reads.begin(), node.reads.end(), target_weight) != node.reads.end())
        return "a projection tied to " + weight + "; the target applies " + target_weight + " inline" +
               (node.module.empty() ? "" : " in " + node.module);
    return "";
  };
  auto sibling = [](const std::set<std::string>& in, const std::string& path, const std::string& name) {
    std::string p = parent(path);
    return in.count(p.empty() ? name : p + "." + name) > 0;
  };
  auto leaf_elsewhere = [](const std::set<std::string>& in, const std::string& path) {
    for (const auto& q : in)
      if (leaf(q) == leaf(path) && parent(q) != parent(path) && !is_index(leaf(path))) {
        // the same module name one level up or down: nesting, not absence
        std::string a = parent(q), b = parent(path);
        if (in_subtree(a, b) || in_subtree(b, a)) return q;
      }
    return std::string();
  };
  std::string where_s, where_t;
  std::size_t ls = layer_count(source, &where_s), lt = layer_count(target, &where_t);
  if (ls != lt)
    out.push_back({"layer count", "both", where_s.empty() ? where_t : where_s, false,
                   "the source has " + std::to_string(ls) + " layers, the target " + std::to_string(lt)});
  for (const auto& p : src_paths) {
    if (tgt.count(p)) continue;
    const std::string name = leaf(p);
    StructuralDifference d{"missing module", "source", p, false, "no target module has this path"};
    if ((name == "q_proj" || name == "k_proj" || name == "v_proj") && sibling(tgt, p, "qkv_proj"))
      d = {"fused qkv", "source", p, true, "the target fuses q/k/v into one qkv_proj (its output is their concatenation)"};
    else if ((name == "gate_proj" || name == "up_proj") && sibling(tgt, p, "gate_up_proj"))
      d = {"fused gate_up", "source", p, true, "the target fuses gate/up into one gate_up_proj"};
    else if (name == "rotary_emb" && std::any_of(tgt.begin(), tgt.end(), [](const auto& q) { return leaf(q) == "rotary_emb"; }))
      d = {"rotary embedding placement", "source", p, true, "the target keeps a rotary embedding per layer"};
    else if (auto q = leaf_elsewhere(tgt, p); !q.empty())
      d = {"wrong nesting", "both", p, false, "the target has it at " + q};
    else if (std::string tied = tied_use(p); !tied.empty())
      d = {"tied projection", "source", p, true, tied};
    else if (looks_like_activation(source_module(p))) {
      // The same activation under another name beside it (HF's `act` against nanoGPT's `gelu`).
      std::string renamed;
      for (const auto& q : tgt_paths)
        if (parent(q) == parent(p) && !src.count(q) && looks_like_activation(target_module(q))) renamed = q;
      // Else the same function applied without a module (`F.silu(gate) * up` in the MLP).
      const std::string applied =
          renamed.empty() && tgt.count(parent(p)) ? functional_activation(target, target_path(parent(p))) : "";
      if (!renamed.empty())
        d = {"renamed activation", "both", p, true, "the target's activation here is " + renamed};
      else if (!applied.empty())
        d = {"functional activation", "source", p, true,
             "the target applies " + applied + " in " + parent(p) + " as a function, without a module"};
      else
        d = {"missing activation", "source", p, false, "the target has no activation module at this path"};
    }
    else if (std::any_of(src_paths.begin(), src_paths.end(), [&](const auto& q) { return in_subtree(p, q) && q != p && !tgt.count(q); }))
      continue;  // inside a module already reported missing
    out.push_back(d);
  }
  for (const auto& p : tgt_paths) {
    if (src.count(p)) continue;
    const std::string name = leaf(p);
    const std::string par = parent(p);
    StructuralDifference d{"extra module", "target", p, false, "no source module has this path and no framework explains it"};
    if (name == "shards" || (is_index(name) && leaf(par) == "shards") || par.find(".shards") != std::string::npos)
      d = {"parallel linear", "target", p, true, "tensor-parallel shards of a parallel linear"};
    else if (name == "qkv_proj" && sibling(src, p, "q_proj"))
      d = {"fused qkv", "target", p, true, "fuses the source's q_proj, k_proj, v_proj"};
    else if (name == "gate_up_proj" && sibling(src, p, "gate_proj"))
      d = {"fused gate_up", "target", p, true, "fuses the source's gate_proj and up_proj"};
    else if (name == "rotary_emb")
      d = {"rotary embedding placement", "target", p, true, "a per-layer rotary embedding (the source has one per model)"};
    else if (auto q = leaf_elsewhere(src, p); !q.empty())
      continue;  // reported from the source side
    else if (looks_like_activation(target_module(p)) &&
             std::any_of(src_paths.begin(), src_paths.end(), [&](const auto& q) {
               return parent(q) == par && !tgt.count(q) && looks_like_activation(source_module(q));
             }))
      continue;  // a renamed activation, reported from the source side
    else if (std::any_of(tgt_paths.begin(), tgt_paths.end(), [&](const auto& q) { return in_subtree(p, q) && q != p && !src.count(q); }))
      continue;
    out.push_back(d);
  }
  // Same path, different class: a port's own class for the same kind of computation is
  // expected (a parallel linear, a framework norm, Conv1D against Linear, a renamed block);
  // two different kinds at one path (a norm where the source projects) are suspicious.
  for (const auto& p : src_paths) {
    if (!tgt.count(p)) continue;
    const GraphModule *a = source_module(p), *b = target_module(p);
    if (!a || !b || a->type == b->type || a->type.empty() || b->type.empty()) continue;
    const std::string fa = module_family(a->type), fb = module_family(b->type);
    const bool parallel = b->type.find("Parallel") != std::string::npos && (fa == "projection" || fa.empty());
    std::string why;
    if (parallel) why = "tensor-parallel linear";
    else if (!fa.empty() && fa == fb)
      why = fa == "projection"                                ? "both project (Conv1D is a linear with its weight transposed)"
            : b->type.find("AndMul") != std::string::npos ? "the target fuses the activation with the gated MLP's product"
                                                            : "both are " + fa + " modules";
    else if (fa.empty() && fb.empty()) why = "a renamed container; its children are compared one by one";
    else if (fa.empty() || fb.empty()) why = "";
    const bool expected = !why.empty();
    out.push_back({"class", "both", p, expected,
                   a->type + " in the source, " + b->type + " in the target" +
                       (expected ? " (" + why + ")" : " (" + (fa.empty() ? "a container" : fa) + " against " +
                                                         (fb.empty() ? "a container" : fb) + ")")});
  }
  return out;
}

}  // namespace twin::stages
