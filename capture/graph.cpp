// The loaded graph: its lookups (values, nodes, types), the module tree's printing and the
// summary. Reading a file is capture/graph_reader.cpp's; the mapping of ATen ops onto Twin's
// is capture/aten_mapping.h's.
#include "capture/graph.h"

#include <algorithm>
#include <functional>
#include <sstream>

namespace twin {

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
  std::size_t params = 0;
  for (const auto& p : parameters_) params += static_cast<std::size_t>(p.type.numel());
  out << "  " << nodes_.size() << " nodes, " << parameters_.size() << " parameters (" << params << " values), "
      << buffers_.size() << " buffers, " << constants_.size() << " constants\n";
  out << "  inputs:";
  for (const auto& i : inputs_) out << " " << i.name << ": " << i.type.to_string();
  out << "\n  outputs:";
  for (const auto& o : outputs_) out << " " << o.to_string() << ": " << (type_of(o) ? type_of(o)->to_string() : "?");
  out << "\n";
  auto opaque = opaque_ops();
  out << "  opaque ops: ";
  if (opaque.empty()) out << "none";
  for (std::size_t i = 0; i < opaque.size(); ++i) out << (i ? ", " : "") << opaque[i];
  out << "\n" << module_tree();
  std::string s = out.str();
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace twin
