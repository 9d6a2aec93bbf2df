// Reading a `.graph` file (docs/graph-format.md): a safetensors file (capture/safetensors.h)
// whose metadata holds the graph as JSON. This room reads that JSON: the capture record, the
// values (inputs, parameters, buffers, constants) and their stored tensors, the nodes with
// their arguments, the graph outputs and example outputs, and the module tree. Each node's
// arguments are decoded into a neutral ATen call (capture/aten_call.h) and mapped onto Twin's
// ops by the ATen mapping (capture/aten_mapping.h), which never sees the JSON.
//
// Invariants of a loaded Graph: the graph's version is one this reader knows; names are unique
// across values and nodes; every reference (in arguments, graph outputs) names a value defined
// before it, and an output that value has; every recorded type has a rank and a size that fit
// in memory (capture/tensor_limits.h), checked as it is read, before anything is allocated;
// every stored tensor has the dtype and shape the graph records; every mapped node's recorded
// outputs are what its steps infer (capture/graph_validation.h), checked before a later node
// reads them. Every violation is an Error naming the file and, inside the graph, the node
// ("node 'linear_0' (aten::linear): ...").
//
// No input crashes or hangs the reader: JSON is only printed into messages when it is small
// (a deeply nested value would recurse), and every lookup is by index, so the work is about
// linear in the file's size.
#include "capture/graph.h"

#include "capture/aten_call.h"
#include "capture/aten_mapping.h"
#include "capture/graph_formats.h"
#include "capture/graph_validation.h"
#include "capture/safetensors.h"
#include "capture/tensor_limits.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace twin {

using json = nlohmann::json;

namespace {

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

// `j` as JSON text for a message when it is small (at most 64 values, hence at most 64 deep:
// dump recurses as deep as the value nests; cut at 200 characters), else what kind of value
// it is.
std::string brief(const json& j) {
  std::vector<const json*> pending{&j};
  std::size_t values = 0;
  while (!pending.empty() && values <= 64) {
    const json* v = pending.back();
    pending.pop_back();
    ++values;
    if (v->is_structured())
      for (const auto& e : *v) pending.push_back(&e);
  }
  if (values > 64) return j.is_array() ? "a long list" : "a large object";
  std::string text = j.dump();
  return text.size() > 200 ? text.substr(0, 200) + "..." : text;
}

// This reader knows version 1 of the format (docs/graph-format.md).
constexpr std::int64_t kGraphVersion = 1;
// Module paths deeper than this are not a model's ("a.b.c..." of a million parts would nest
// the module tree, and the recursion that walks it, a million deep).
constexpr std::size_t kMaxModuleDepth = 256;

// A dtype of the graph JSON: Twin's names, torch's, and the narrow integer types.
std::optional<ops::DType> graph_dtype(const json& j) {
  if (!j.is_string()) return std::nullopt;
  return capture::dtype_from_name(j.get<std::string>());
}

}  // namespace

class GraphLoader {
 public:
  GraphLoader(std::string_view bytes, std::string file) : bytes_(bytes) { graph_.file_ = std::move(file); }

  Graph load() {
    storage_ = capture::SafetensorsFile::parse(bytes_, graph_.file_);
    const auto& meta = storage_.metadata();
    if (!meta) bad("no __metadata__ in the safetensors header: not a twin graph");
    auto graph = meta->find("graph");
    if (graph == meta->end()) bad("no graph in __metadata__: not a twin graph");
    if (auto format = meta->find("format"); format != meta->end() && format->second != "twin-graph")
      bad("__metadata__ format is not twin-graph");
    // safetensors' metadata is text: the container's version is the graph's, written "1".
    if (auto version = meta->find("version"); version != meta->end() && version->second != std::to_string(kGraphVersion))
      bad("__metadata__ version " + q(version->second.substr(0, 40)) + " is not supported (this Twin reads version " +
          std::to_string(kGraphVersion) + ")");
    read_graph(graph->second);
    return std::move(graph_);
  }

 private:
  std::string_view bytes_;
  capture::SafetensorsFile storage_;
  Graph graph_;
  std::string where_;  // "node 'linear_0' (aten::linear)" while reading a node

  [[noreturn]] void bad(const std::string& what) const {
    throw Error(ErrorKind::Value, graph_.file_ + ": " + (where_.empty() ? "" : where_ + ": ") + what);
  }

  // ---- fields ----

  const json& field(const json& j, const char* key, const std::string& what) {
    if (!j.is_object() || !j.contains(key)) bad(what + ": missing " + q(key));
    return j[key];
  }
  std::string string_field(const json& j, const char* key, const std::string& what, bool required = true) {
    if (!j.is_object() || !j.contains(key) || j[key].is_null()) {
      if (required) bad(what + ": missing " + q(key));
      return "";
    }
    if (!j[key].is_string()) bad(what + ": " + q(key) + " is not a string");
    return j[key].get<std::string>();
  }
  ops::TensorType type_field(const json& j, const std::string& what) {
    ops::TensorType type;
    auto d = graph_dtype(field(j, "dtype", what));
    if (!d) bad(what + ": unknown dtype " + brief(j["dtype"]));
    type.dtype = *d;
    const json& shape = field(j, "shape", what);
    if (!shape.is_array()) bad(what + ": shape is not a list");
    for (const auto& s : shape) {
      if (!s.is_number_integer() || s.get<std::int64_t>() < 0) bad(what + ": shape " + brief(shape) + " is not a list of sizes");
      type.shape.push_back(s.get<std::int64_t>());
    }
    if (auto why = capture::implausible_size(type.shape, capture::element_bytes(type.dtype))) bad(what + ": " + *why);
    return type;
  }

  // ---- values ----

  void declare(const std::string& name, int kind, std::size_t index) {
    if (name.empty()) bad("a value with an empty name");
    if (graph_.tensor_index_.count(name) || graph_.node_index_.count(name)) bad("the name " + q(name) + " is defined twice");
    graph_.tensor_index_[name] = {kind, index};
  }

  void read_tensors(const json& g, const char* key, int kind, std::vector<GraphTensor>& out, bool required) {
    if (!g.contains(key) || g[key].is_null()) {
      if (required) bad("the graph has no " + q(key));
      return;
    }
    if (!g[key].is_array()) bad(q(key) + " is not a list");
    std::string singular = std::string(key).substr(0, std::strlen(key) - 1);
    for (const auto& j : g[key]) {
      GraphTensor t;
      t.name = string_field(j, "name", singular);
      std::string what = singular + " " + q(t.name);
      t.type = type_field(j, what);
      t.tensor_key = string_field(j, "tensor", what, false);
      if (!t.tensor_key.empty()) t.value = storage_.load(t.tensor_key, t.type, what);
      declare(t.name, kind, out.size());
      out.push_back(std::move(t));
    }
  }

  // ---- the graph ----

  // The graph's `version` is the integer kGraphVersion. A newer one may mean what this reader
  // would misread, so it is refused rather than read as far as it goes; so is a missing one.
  void check_version(const json& g) {
    const std::string reads = " (this Twin reads version " + std::to_string(kGraphVersion) + ")";
    if (!g.contains("version")) bad("the graph records no version" + reads);
    const json& v = g["version"];
    if (!v.is_number_integer()) bad("graph version " + brief(v) + " is not an integer" + reads);
    // JSON's non-negative integers are unsigned to nlohmann: compare without narrowing them.
    bool newer = v.is_number_unsigned() ? v.get<std::uint64_t>() > static_cast<std::uint64_t>(kGraphVersion)
                                        : v.get<std::int64_t>() > kGraphVersion;
    if (newer)
      bad("graph version " + v.dump() + " is newer than this Twin reads" + reads + ": update Twin");
    if (v.get<std::int64_t>() != kGraphVersion) bad("graph version " + v.dump() + " is not supported" + reads);
  }

  void read_graph(const std::string& text) {
    json g = json::parse(text, nullptr, false);
    if (g.is_discarded()) bad("the graph in __metadata__ is not valid JSON");
    if (!g.is_object()) bad("the graph in __metadata__ is not a JSON object");
    if (g.contains("format") && g["format"] != "twin-graph") bad("graph format is " + brief(g["format"]) + ", not twin-graph");
    check_version(g);
    graph_.torch_version_ = string_field(g, "torch_version", "the graph", false);
    std::optional<ops::DType> capture_dtype;
    if (g.contains("capture") && g["capture"].is_object()) {
      const json& c = g["capture"];
      graph_.capture_method_ = string_field(c, "method", "capture", false);
      graph_.capture_source_ = string_field(c, "source", "capture", false);
      if (c.contains("dtype") && !c["dtype"].is_null()) {
        capture_dtype = graph_dtype(c["dtype"]);
        if (!capture_dtype) bad("capture: unknown dtype " + brief(c["dtype"]));
      }
    }
    read_tensors(g, "inputs", 0, graph_.inputs_, true);
    read_tensors(g, "parameters", 1, graph_.parameters_, false);
    read_tensors(g, "buffers", 2, graph_.buffers_, false);
    read_tensors(g, "constants", 3, graph_.constants_, false);
    if (!capture_dtype) {
      capture_dtype = ops::DType::F32;
      for (const auto& p : graph_.parameters_)
        if (p.type.dtype == ops::DType::BF16 || p.type.dtype == ops::DType::F16) capture_dtype = p.type.dtype;
    }
    graph_.capture_dtype_ = *capture_dtype;

    const json& nodes = field(g, "nodes", "the graph");
    if (!nodes.is_array()) bad("'nodes' is not a list");
    graph_.nodes_.reserve(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) read_node(nodes[i], i);
    where_.clear();

    const json& outputs = field(g, "outputs", "the graph");
    if (!outputs.is_array()) bad("'outputs' is not a list");
    for (const auto& o : outputs) graph_.outputs_.push_back(ref_of(o, "graph output"));
    if (g.contains("example_outputs") && !g["example_outputs"].is_null()) read_example_outputs(g["example_outputs"]);
    graph_.build_module_tree();
  }

  void read_example_outputs(const json& ex) {
    if (!ex.is_array()) bad("'example_outputs' is not a list");
    if (ex.size() != graph_.outputs_.size())
      bad(std::to_string(ex.size()) + " example outputs for " + std::to_string(graph_.outputs_.size()) + " graph outputs");
    for (std::size_t i = 0; i < ex.size(); ++i) {
      if (ex[i].is_null()) {
        graph_.example_outputs_.push_back(std::nullopt);
        continue;
      }
      if (!ex[i].is_string()) bad("example output " + std::to_string(i) + " is not a tensor name");
      const ops::TensorType* type = graph_.type_of(graph_.outputs_[i]);
      graph_.example_outputs_.push_back(storage_.load(
          ex[i].get<std::string>(), *type, "example output " + std::to_string(i) + " (of " + graph_.outputs_[i].to_string() + ")"));
    }
  }

  // A {"ref": NAME, "output": i} argument, checked against the values defined so far.
  GraphRef ref_of(const json& j, const std::string& what) {
    if (!j.is_object() || !j.contains("ref") || !j["ref"].is_string()) bad(what + " is not a reference: " + brief(j));
    GraphRef ref{j["ref"].get<std::string>(), 0};
    if (j.contains("output")) {
      if (!j["output"].is_number_integer() || j["output"].get<std::int64_t>() < 0 || j["output"].get<std::int64_t>() > 1 << 20)
        bad(what + ": bad output index " + brief(j["output"]));
      ref.output = static_cast<int>(j["output"].get<std::int64_t>());
    }
    if (!graph_.tensor_index_.count(ref.name) && !graph_.node_index_.count(ref.name))
      bad("unknown reference " + q(ref.name) + " (" + what + ")");
    if (!graph_.type_of(ref)) {
      const GraphNode* n = graph_.find_node(ref.name);
      bad("reference " + q(ref.to_string()) + " (" + what + "): " + q(ref.name) + " has " +
          std::to_string(n ? n->outputs.size() : 1) + " output(s)");
    }
    return ref;
  }

  // Checks every reference inside an argument (lists included) and records it in node.reads,
  // once (`read` holds what node.reads holds). The depth bound also bounds the recursion of
  // decode() and of printing the arguments, which run after this check.
  void check_refs(const json& j, GraphNode& node, std::set<std::string, std::less<>>& read, int depth = 0) {
    if (depth > 16) bad("arguments nest too deep");
    if (j.is_object() && j.contains("ref")) {
      GraphRef r = ref_of(j, "argument");
      if (read.insert(r.name).second) node.reads.push_back(r.name);
    } else if (j.is_array()) {
      for (const auto& x : j) check_refs(x, node, read, depth + 1);
    } else if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) check_refs(it.value(), node, read, depth + 1);
    }
  }

  void read_node(const json& j, std::size_t index) {
    where_ = "node " + std::to_string(index);
    if (!j.is_object()) bad("is not an object");
    GraphNode node;
    node.name = string_field(j, "name", "node");
    where_ = "node " + q(node.name);
    node.aten_op = string_field(j, "op", "node");
    where_ += " (" + node.aten_op + ")";
    node.module = string_field(j, "module", "node", false);
    node.module_type = string_field(j, "module_type", "node", false);
    node.source = string_field(j, "source", "node", false);
    // References, not copies: copying a value recurses as deep as it nests, and the nesting is
    // only bounded by check_refs.
    static const json no_args = json::array(), no_kwargs = json::object();
    const json& args = j.contains("args") && !j["args"].is_null() ? j["args"] : no_args;
    const json& kwargs = j.contains("kwargs") && !j["kwargs"].is_null() ? j["kwargs"] : no_kwargs;
    if (!args.is_array()) bad("'args' is not a list");
    if (!kwargs.is_object()) bad("'kwargs' is not an object");
    std::set<std::string, std::less<>> read;
    check_refs(args, node, read);
    check_refs(kwargs, node, read);
    const json& outs = field(j, "outputs", "node");
    if (!outs.is_array()) bad("'outputs' is not a list");
    for (std::size_t k = 0; k < outs.size(); ++k) node.outputs.push_back(type_field(outs[k], "output " + std::to_string(k)));
    node.args_json = args.dump();
    if (!kwargs.empty()) node.args_json += " " + kwargs.dump();
    map_node(node, j, args, kwargs);
    if (auto why = capture::recorded_type_mismatch(node, [this](const GraphRef& r) { return graph_.type_of(r); }))
      bad("impossible recorded type: " + *why);
    if (graph_.tensor_index_.count(node.name) || graph_.node_index_.count(node.name))
      bad("the name " + q(node.name) + " is defined twice");
    graph_.node_index_[node.name] = graph_.nodes_.size();
    graph_.nodes_.push_back(std::move(node));
  }

  // ---- decoding a node's call (the mapping is capture/aten_mapping.h's) ----

  void map_node(GraphNode& node, const json& j, const json& args, const json& kwargs) {
    auto name = capture::parse_aten_op_name(node.aten_op);
    if (!name) {
      node.opaque = true;
      node.opaque_reason = "not an ATen op";
      return;
    }
    capture::AtenCall call;
    call.name = name->name;
    call.overload = name->overload;
    if (call.overload.empty() && j.contains("overload") && j["overload"].is_string()) call.overload = j["overload"].get<std::string>();
    call.in_place = name->in_place;
    for (const auto& a : args) call.args.push_back(decode(a));
    for (auto it = kwargs.begin(); it != kwargs.end(); ++it) call.kwargs.emplace(it.key(), decode(it.value()));
    capture::lower_into(node, call, graph_);
  }

  // An argument of the JSON (its references already checked by check_refs) as a neutral value.
  capture::AtenValue decode(const json& j) {
    using V = capture::AtenValue;
    if (j.is_null()) return V{V::None{}};
    if (j.is_boolean()) return V{j.get<bool>()};
    if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return V{std::numeric_limits<std::int64_t>::max()};
    if (j.is_number_integer()) return V{j.get<std::int64_t>()};
    if (j.is_number_float()) return V{j.get<double>()};
    if (j.is_string()) {
      // The spellings of a non-finite float that JSON cannot write as a number.
      const auto& s = j.get_ref<const std::string&>();
      if (s == "inf" || s == "Infinity") return V{std::numeric_limits<double>::infinity()};
      if (s == "-inf" || s == "-Infinity") return V{-std::numeric_limits<double>::infinity()};
      if (s == "nan" || s == "NaN") return V{std::numeric_limits<double>::quiet_NaN()};
      return V{s};
    }
    if (j.is_array()) {
      V::List list;
      for (const auto& e : j) list.push_back(decode(e));
      return V{std::move(list)};
    }
    auto text = [&](const char* key) { return j[key].is_string() ? j[key].get<std::string>() : j[key].dump(); };
    if (j.contains("ref")) return V{ref_of(j, "argument")};
    if (j.size() == 1 && j.contains("float")) {  // {"float": "-inf"}
      const json& f = j["float"];
      if (f.is_number() || f.is_string()) {
        V inner = decode(f);
        if (inner.is_number()) return inner;
      }
      return V{V::Other{j.dump()}};
    }
    if (j.contains("dtype")) return V{V::DType{graph_dtype(j["dtype"]), text("dtype")}};
    if (j.contains("device")) return V{V::Device{text("device")}};
    if (j.contains("layout")) return V{V::Layout{text("layout")}};
    if (j.contains("memory_format")) return V{V::MemoryFormat{text("memory_format")}};
    return V{V::Other{j.dump()}};
  }
};

Graph read_twin_graph(std::string_view bytes, const std::string& file) { return GraphLoader(bytes, file).load(); }

}  // namespace twin
