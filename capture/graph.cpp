// The loaded graph: the dispatch between the two file formats, its lookups (values, nodes,
// types), the module tree and its printing, and the summary. Reading each format is
// capture/graph_reader.cpp's (`.graph`) and capture/export_reader.cpp's (`.pt2`); the mapping of
// ATen ops onto Twin's is capture/aten_mapping.h's.
#include "capture/graph.h"

#include "capture/graph_formats.h"
#include "capture/zip_archive.h"
#include "util/error.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <functional>
#include <set>
#include <sstream>

namespace twin {

namespace {

std::string read_file(const std::filesystem::path& path, const char* what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(ErrorKind::Io, path.string() + ": is a directory, not a " + what);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path.string() + ": cannot read the " + what + ": no such file or not readable");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace

const char* example_source_name(ExampleSource source) {
  switch (source) {
    case ExampleSource::Stored: return "stored";
    case ExampleSource::Sidecar: return "sidecar";
    case ExampleSource::Given: return "given";
    case ExampleSource::SampleInputs: return "sample inputs";
    case ExampleSource::Drawn: return "drawn";
    case ExampleSource::None: return "none";
  }
  return "none";
}

std::filesystem::path Graph::io_sidecar_path(const std::filesystem::path& path) {
  std::filesystem::path sidecar = path;
  sidecar.replace_extension(".io.safetensors");
  return sidecar;
}

Graph Graph::load(const std::filesystem::path& path, GraphLoadOptions options) {
  std::string data = read_file(path, "graph file");
  if (capture::looks_like_zip(data) && !options.io_sidecar) {
    std::filesystem::path sidecar = io_sidecar_path(path);
    std::error_code ec;
    if (std::filesystem::is_regular_file(sidecar, ec)) {
      options.io_sidecar = read_file(sidecar, "inputs and outputs file");
      options.io_sidecar_file = sidecar.string();
    }
  }
  return parse(data, path.string(), options);
}

Graph Graph::parse(std::string_view bytes, const std::string& file, const GraphLoadOptions& options) {
  try {
    if (capture::looks_like_zip(bytes)) return read_pt2(bytes, file, options);
    return read_twin_graph(bytes, file);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // a bug or an allocation failure: still name the file
    throw Error(ErrorKind::Value, file + ": cannot load the graph: " + e.what());
  }
}

std::string GraphNode::twin_op() const {
  if (opaque) return "opaque";
  std::string out;
  for (const auto& s : steps) {
    if (!out.empty() && out.size() >= s.op.size() && out.compare(out.size() - s.op.size(), s.op.size(), s.op) == 0) continue;
    out += (out.empty() ? "" : "+") + s.op;
  }
  return out;
}

const GraphModule* GraphModule::find(std::string_view target) const {
  if (target == path) return this;
  for (const auto& c : children) {
    if (target == c->path) return c.get();
    if (target.size() > c->path.size() && target.substr(0, c->path.size()) == c->path && target[c->path.size()] == '.')
      return c->find(target);
  }
  return nullptr;
}

std::vector<std::string> Graph::opaque_ops() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_)
    if (n.opaque && std::find(out.begin(), out.end(), n.aten_op) == out.end()) out.push_back(n.aten_op);
  return out;
}

std::vector<OpaqueOpSummary> Graph::opaque_summary() const {
  std::vector<OpaqueOpSummary> out;
  for (const auto& n : nodes_) {
    if (!n.opaque) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const OpaqueOpSummary& s) { return s.op == n.aten_op; });
    if (it == out.end()) {
      out.push_back(OpaqueOpSummary{n.aten_op, n.opaque_reason, 0, {}});
      it = out.end() - 1;
    }
    ++it->count;
    if (std::find(it->modules.begin(), it->modules.end(), n.module) == it->modules.end()) it->modules.push_back(n.module);
  }
  return out;
}

std::string OpaqueOpSummary::describe() const {
  std::string out = op + " (" + std::to_string(count) + (count == 1 ? " node" : " nodes") + ", in ";
  const std::size_t shown = 6;
  for (std::size_t i = 0; i < modules.size() && i < shown; ++i)
    out += (i ? ", " : "") + (modules[i].empty() ? std::string("<model>") : modules[i]);
  if (modules.size() > shown) out += ", ... (" + std::to_string(modules.size()) + " modules)";
  return out + "): " + reason;
}

void Graph::build_module_tree() {
  // A path of more parts than any model has is refused (a hostile file could otherwise build
  // a tree as deep as its longest name); modules are found by path, not by scanning siblings.
  constexpr std::size_t kMaxModuleDepth = 256;
  std::map<std::string, GraphModule*, std::less<>> index{{"", root_.get()}};
  // `owner` names who recorded the path, for the error.
  auto module_at = [&](const std::string& path, const std::string& owner) -> GraphModule& {
    if (auto it = index.find(path); it != index.end()) return *it->second;
    if (std::size_t parts = 1 + static_cast<std::size_t>(std::count(path.begin(), path.end(), '.')); parts > kMaxModuleDepth)
      throw Error(ErrorKind::Value, file_ + ": " + owner + ": module path has " + std::to_string(parts) +
                                        " parts, more than " + std::to_string(kMaxModuleDepth));
    GraphModule* m = root_.get();
    std::size_t start = 0;
    while (start <= path.size()) {
      std::size_t end = path.find('.', start);
      if (end == std::string::npos) end = path.size();
      std::string sub = path.substr(0, end);
      auto [it, added] = index.emplace(sub, nullptr);
      if (added) {
        auto child = std::make_unique<GraphModule>();
        child->name = path.substr(start, end - start);
        child->path = sub;
        it->second = child.get();
        m->children.push_back(std::move(child));
      }
      m = it->second;
      start = end + 1;
    }
    return *m;
  };
  for (const auto& n : nodes_) {
    GraphModule& m = module_at(n.module, "node '" + n.name + "'");
    ++m.node_count;
    if (m.type.empty()) m.type = n.module_type;
  }
  for (const auto* list : {&parameters_, &buffers_}) {
    for (const auto& p : *list) {
      auto dot = p.name.rfind('.');
      GraphModule& m = module_at(dot == std::string::npos ? "" : p.name.substr(0, dot), "'" + p.name + "'");
      m.parameters.push_back(p.name);
    }
  }
}

const GraphNode* Graph::find_node(std::string_view name) const {
  auto it = node_index_.find(name);
  return it == node_index_.end() ? nullptr : &nodes_[it->second];
}

const GraphTensor* Graph::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  if (it == tensor_index_.end()) return nullptr;
  const std::vector<GraphTensor>* lists[] = {&inputs_, &parameters_, &buffers_, &constants_};
  return &(*lists[it->second.first])[it->second.second];
}

Graph Graph::with_inputs_fixed(std::size_t keep) const {
  Graph out = *this;
  if (keep >= inputs_.size()) return out;
  out.inputs_.assign(inputs_.begin(), inputs_.begin() + static_cast<std::ptrdiff_t>(keep));
  for (std::size_t i = keep; i < inputs_.size(); ++i) {
    const GraphTensor& t = inputs_[i];
    if (!t.value) throw Error(ErrorKind::Value, file_ + ": input " + t.name + " has no stored example value to fix it at");
    out.tensor_index_[t.name] = {3, out.constants_.size()};  // kinds: inputs, parameters, buffers, constants
    out.constants_.push_back(t);
  }
  return out;
}

Graph Graph::with_outputs(std::size_t keep) const {
  Graph out = *this;
  if (keep < out.outputs_.size()) out.outputs_.resize(keep);
  if (keep < out.example_outputs_.size()) out.example_outputs_.resize(keep);
  return out;
}

bool shapes_differ_by_unit_dims(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
  auto without_unit_dims = [](const std::vector<std::int64_t>& shape) {
    std::vector<std::int64_t> out;
    for (auto d : shape)
      if (d != 1) out.push_back(d);
    return out;
  };
  return a != b && without_unit_dims(a) == without_unit_dims(b);
}

namespace {

ops::Tensor reshaped(const ops::Tensor& t, const std::vector<std::int64_t>& shape) {
  return ops::Tensor::from_doubles(t.to_doubles(), shape, t.dtype());
}

// A node reshaping `from` (of type `type`) to `shape`, in module "" (the model itself).
GraphNode reshape_node(const std::string& name, const GraphRef& from, const ops::TensorType& type,
                       const std::vector<std::int64_t>& shape) {
  GraphNode n;
  n.name = name;
  n.aten_op = "aten::reshape";
  n.outputs = {ops::TensorType{type.dtype, shape}};
  n.reads = {from.name};
  GraphStep step;
  step.op = "reshape";
  GraphOperand operand;
  operand.ref = from;
  step.operands = {operand};
  step.attributes["shape"] = ops::AttrValue{shape};
  n.steps = {step};
  return n;
}

}  // namespace

Graph Graph::with_unit_dims_of(const std::vector<std::optional<std::vector<std::int64_t>>>& input_shapes,
                               const std::vector<std::optional<std::vector<std::int64_t>>>& output_shapes) const {
  Graph out = *this;
  std::set<std::string> added;  // names of the new nodes (not yet in the index)
  auto fresh = [&](std::string name) {
    while (out.find_node(name) || out.find_tensor(name) || added.count(name)) name += "_";
    added.insert(name);
    return name;
  };
  std::vector<GraphNode> front;
  for (std::size_t i = 0; i < input_shapes.size() && i < out.inputs_.size(); ++i) {
    GraphTensor& in = out.inputs_[i];
    if (!input_shapes[i] || !shapes_differ_by_unit_dims(in.type.shape, *input_shapes[i])) continue;
    const std::string node = fresh(in.name + ".as_captured");
    // Every read of the input now reads the reshape of the new, reference-shaped input.
    for (auto& n : out.nodes_) {
      for (auto& r : n.reads)
        if (r == in.name) r = node;
      for (auto& step : n.steps)
        for (auto& o : step.operands)
          if (o.kind == GraphOperand::Kind::Value && o.ref.name == in.name) o.ref.name = node;
    }
    for (auto& o : out.outputs_)
      if (o.name == in.name) o.name = node;
    for (auto& [buffer, ref] : out.buffer_mutations_)
      if (ref.name == in.name) ref.name = node;
    front.push_back(reshape_node(node, GraphRef{in.name, 0}, in.type, in.type.shape));
    in.type.shape = *input_shapes[i];
    if (in.value) in.value = reshaped(*in.value, in.type.shape);
  }
  std::vector<GraphNode> back;
  for (std::size_t k = 0; k < output_shapes.size() && k < out.outputs_.size(); ++k) {
    const ops::TensorType* type = out.type_of(out.outputs_[k]);
    for (const auto& n : front)
      if (n.name == out.outputs_[k].name) type = &n.outputs[0];  // an input returned as it is
    if (!output_shapes[k] || !type || !shapes_differ_by_unit_dims(type->shape, *output_shapes[k])) continue;
    const std::string node = fresh(out.outputs_[k].name + ".as_compared");
    back.push_back(reshape_node(node, out.outputs_[k], *type, *output_shapes[k]));
    out.outputs_[k] = GraphRef{node, 0};
    if (k < out.example_outputs_.size() && out.example_outputs_[k]) out.example_outputs_[k] = reshaped(*out.example_outputs_[k], *output_shapes[k]);
  }
  if (front.empty() && back.empty()) return out;
  front.insert(front.end(), std::make_move_iterator(out.nodes_.begin()), std::make_move_iterator(out.nodes_.end()));
  front.insert(front.end(), std::make_move_iterator(back.begin()), std::make_move_iterator(back.end()));
  out.nodes_ = std::move(front);
  out.node_index_.clear();
  for (std::size_t i = 0; i < out.nodes_.size(); ++i) out.node_index_[out.nodes_[i].name] = i;
  out.root_ = std::make_shared<GraphModule>();
  out.build_module_tree();
  return out;
}

const ops::TensorType* Graph::type_of(const GraphRef& ref) const {
  if (const GraphTensor* t = find_tensor(ref.name)) return ref.output == 0 ? &t->type : nullptr;
  if (const GraphNode* n = find_node(ref.name))
    return ref.output >= 0 && static_cast<std::size_t>(ref.output) < n->outputs.size() ? &n->outputs[ref.output] : nullptr;
  return nullptr;
}

std::vector<std::string> Graph::module_paths() const {
  std::vector<std::string> out;
  std::function<void(const GraphModule&)> walk = [&](const GraphModule& m) {
    if (!m.path.empty()) out.push_back(m.path);
    for (const auto& c : m.children) walk(*c);
  };
  walk(*root_);
  return out;
}

std::string Graph::module_tree() const {
  std::ostringstream out;
  std::function<void(const GraphModule&, const std::string&, bool, bool)> walk =
      [&](const GraphModule& m, const std::string& prefix, bool last, bool root) {
        if (root) {
          out << (m.type.empty() ? "(model)" : m.type);
        } else {
          out << prefix << (last ? "`-- " : "|-- ") << m.name;
          if (!m.type.empty()) out << ": " << m.type;
        }
        std::vector<std::string> own;
        for (const auto& p : m.parameters) {
          const GraphTensor* t = find_tensor(p);
          own.push_back(p.substr(m.path.empty() ? 0 : m.path.size() + 1) + " " + (t ? t->type.to_string() : ""));
        }
        if (!own.empty()) {
          out << "  (";
          for (std::size_t i = 0; i < own.size(); ++i) out << (i ? ", " : "") << own[i];
          out << ")";
        }
        out << "\n";
        std::string child_prefix = root ? "" : prefix + (last ? "    " : "|   ");
        for (std::size_t i = 0; i < m.children.size(); ++i)
          walk(*m.children[i], child_prefix, i + 1 == m.children.size(), false);
      };
  walk(*root_, "", true, true);
  return out.str();
}

std::string Graph::summary() const {
  std::ostringstream out;
  out << "graph " << file_ << "\n";
  out << "  torch " << (torch_version_.empty() ? "?" : torch_version_);
  if (!capture_method_.empty()) out << ", " << capture_method_;
  out << ", captured at " << ops::dtype_name(capture_dtype_) << "\n";
  if (format_ != "twin-graph") {
    out << "  example inputs: " << example_source_name(example_source_);
    if (dropped_assertions_) out << "; " << dropped_assertions_ << " assertion nodes left out";
    if (!buffer_mutations_.empty()) out << "; " << buffer_mutations_.size() << " buffer mutations";
    out << "\n";
  }
  std::size_t params = 0;
  for (const auto& p : parameters_) params += static_cast<std::size_t>(p.type.numel());
  out << "  " << nodes_.size() << " nodes, " << parameters_.size() << " parameters (" << params << " values), "
      << buffers_.size() << " buffers, " << constants_.size() << " constants\n";
  out << "  inputs:";
  for (const auto& i : inputs_) out << " " << i.name << ": " << i.type.to_string();
  out << "\n  outputs:";
  for (const auto& o : outputs_) out << " " << o.to_string() << ": " << (type_of(o) ? type_of(o)->to_string() : "?");
  out << "\n";
  auto opaque = opaque_summary();
  out << "  opaque ops: ";
  if (opaque.empty()) out << "none";
  for (const auto& o : opaque) out << "\n    " << o.describe();
  out << "\n" << module_tree();
  std::string s = out.str();
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace twin
