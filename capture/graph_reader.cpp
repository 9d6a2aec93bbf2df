// Reading a `.graph` file (docs/graph-format.md): the graph JSON in the metadata of a
// safetensors file (capture/safetensors.h): the capture record, the values and their stored
// tensors, the nodes, references, the module tree, and (for now) the mapping of ATen ops onto
// Twin's op vocabulary. Every check names the file and, inside the graph, the node.
#include "capture/graph.h"

#include "capture/safetensors.h"
#include "util/error.h"
#include "ops/op_spec.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

namespace twin {

using json = nlohmann::json;

namespace {

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

// A readable twin dtype name from the graph JSON: Twin's names, torch's, and the narrow
// integer types (widened to i32, as their tensors are).
std::optional<ops::DType> graph_dtype(const json& j) {
  if (!j.is_string()) return std::nullopt;
  std::string s = j.get<std::string>();
  if (s == "i16" || s == "i8" || s == "u8" || s == "int16" || s == "int8" || s == "uint8") return ops::DType::I32;
  return ops::parse_dtype(s);
}

// PyTorch's ScalarType codes, as a traced graph may write a dtype argument.
std::optional<ops::DType> scalar_type_code(std::int64_t code) {
  switch (code) {
    case 0: case 1: case 2: case 3: return ops::DType::I32;  // u8 i8 i16 widened; i32
    case 4: return ops::DType::I64;
    case 5: return ops::DType::F16;
    case 6: return ops::DType::F32;
    case 7: return ops::DType::F64;
    case 11: return ops::DType::Bool;
    case 15: return ops::DType::BF16;
    default: return std::nullopt;
  }
}

}  // namespace

// ---- the loader ---------------------------------------------------------------------------

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
    graph_text_ = graph->second;
    read_graph();
    return std::move(graph_);
  }

 private:
  std::string_view bytes_;
  capture::SafetensorsFile storage_;
  Graph graph_;
  std::string graph_text_;
  std::string where_;  // "node linear_0 (aten::linear)" while reading a node

  [[noreturn]] void bad(const std::string& what) const {
    throw Error(ErrorKind::Value, graph_.file_ + ": " + (where_.empty() ? "" : where_ + ": ") + what);
  }

  // ---- the graph JSON ----

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
    if (!d) bad(what + ": unknown dtype " + j["dtype"].dump());
    type.dtype = *d;
    const json& shape = field(j, "shape", what);
    if (!shape.is_array()) bad(what + ": shape is not a list");
    for (const auto& s : shape) {
      if (!s.is_number_integer() || s.get<std::int64_t>() < 0) bad(what + ": shape " + shape.dump() + " is not a list of sizes");
      type.shape.push_back(s.get<std::int64_t>());
    }
    return type;
  }

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

  void read_graph() {
    json g = json::parse(graph_text_, nullptr, false);
    if (g.is_discarded()) bad("the graph in __metadata__ is not valid JSON");
    if (!g.is_object()) bad("the graph in __metadata__ is not a JSON object");
    if (g.contains("format") && g["format"] != "twin-graph") bad("graph format is " + g["format"].dump() + ", not twin-graph");
    if (g.contains("version") && !(g["version"] == 1 || g["version"] == "1"))
      bad("graph version " + g["version"].dump() + " is not supported (this Twin reads version 1)");
    graph_.torch_version_ = string_field(g, "torch_version", "the graph", false);
    std::optional<ops::DType> capture_dtype;
    if (g.contains("capture") && g["capture"].is_object()) {
      const json& c = g["capture"];
      graph_.capture_method_ = string_field(c, "method", "capture", false);
      graph_.capture_source_ = string_field(c, "source", "capture", false);
      if (c.contains("dtype") && !c["dtype"].is_null()) {
        capture_dtype = graph_dtype(c["dtype"]);
        if (!capture_dtype) bad("capture: unknown dtype " + c["dtype"].dump());
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
    if (g.contains("example_outputs") && !g["example_outputs"].is_null()) {
      const json& ex = g["example_outputs"];
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
        graph_.example_outputs_.push_back(
            storage_.load(ex[i].get<std::string>(), *type, "example output " + std::to_string(i) + " (of " +
                                                           graph_.outputs_[i].to_string() + ")"));
      }
    }
    build_modules();
  }

  // A {"ref": NAME, "output": i} argument, checked against the values defined so far.
  GraphRef ref_of(const json& j, const std::string& what) {
    if (!j.is_object() || !j.contains("ref") || !j["ref"].is_string()) bad(what + " is not a reference: " + j.dump());
    GraphRef ref{j["ref"].get<std::string>(), 0};
    if (j.contains("output")) {
      if (!j["output"].is_number_integer() || j["output"].get<std::int64_t>() < 0 || j["output"].get<std::int64_t>() > 1 << 20)
        bad(what + ": bad output index " + j["output"].dump());
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

  // Checks every reference inside an argument (lists included) and records it.
  void check_refs(const json& j, GraphNode& node, int depth = 0) {
    if (depth > 16) bad("arguments nest too deep");
    if (j.is_object() && j.contains("ref")) {
      GraphRef r = ref_of(j, "argument");
      if (std::find(node.reads.begin(), node.reads.end(), r.name) == node.reads.end()) node.reads.push_back(r.name);
    } else if (j.is_array()) {
      for (const auto& x : j) check_refs(x, node, depth + 1);
    } else if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) check_refs(it.value(), node, depth + 1);
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
    json args = j.contains("args") && !j["args"].is_null() ? j["args"] : json::array();
    json kwargs = j.contains("kwargs") && !j["kwargs"].is_null() ? j["kwargs"] : json::object();
    if (!args.is_array()) bad("'args' is not a list");
    if (!kwargs.is_object()) bad("'kwargs' is not an object");
    check_refs(args, node);
    check_refs(kwargs, node);
    const json& outs = field(j, "outputs", "node");
    if (!outs.is_array()) bad("'outputs' is not a list");
    for (std::size_t k = 0; k < outs.size(); ++k) node.outputs.push_back(type_field(outs[k], "output " + std::to_string(k)));
    node.args_json = args.dump();
    if (!kwargs.empty()) node.args_json += " " + kwargs.dump();
    map_node(node, args, kwargs);
    if (graph_.tensor_index_.count(node.name) || graph_.node_index_.count(node.name))
      bad("the name " + q(node.name) + " is defined twice");
    graph_.node_index_[node.name] = graph_.nodes_.size();
    graph_.nodes_.push_back(std::move(node));
  }

  // ---- the ATen -> Twin mapping ----

  struct Args {
    const json& args;
    const json& kwargs;
    // Positional argument i, or keyword `name`; nullptr when absent or null.
    const json* get(std::size_t i, const char* name) const {
      if (i < args.size() && !args[i].is_null()) return &args[i];
      if (kwargs.contains(name) && !kwargs[name].is_null()) return &kwargs[name];
      return nullptr;
    }
  };

  struct Unmappable {
    std::string reason;
  };

  static bool is_ref(const json* j) { return j && j->is_object() && j->contains("ref"); }
  // {"float": "-inf"}: how the capture tool writes a non-finite number.
  static const json* unwrap_float(const json* j) {
    if (j && j->is_object() && j->size() == 1 && j->contains("float")) return &(*j)["float"];
    return j;
  }
  static bool is_number(const json* j) {
    j = unwrap_float(j);
    if (!j) return false;
    if (j->is_number()) return true;
    if (j->is_string()) {
      auto s = j->get<std::string>();
      return s == "inf" || s == "-inf" || s == "nan" || s == "Infinity" || s == "-Infinity" || s == "NaN";
    }
    return false;
  }
  static double number_of(const json& jj) {
    const json& j = *unwrap_float(&jj);
    if (j.is_number()) return j.get<double>();
    auto s = j.get<std::string>();
    if (s == "nan" || s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    return s[0] == '-' ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  static ops::AttrValue number_attr(const json& jj) {
    const json& j = *unwrap_float(&jj);
    if (j.is_number_integer()) return ops::AttrValue::of_int(j.get<std::int64_t>());
    if (j.is_number_unsigned()) return ops::AttrValue::of_int(std::numeric_limits<std::int64_t>::max());
    if (j.is_string()) return ops::AttrValue{j.get<std::string>() == "NaN" ? std::string("nan")
                                                 : j.get<std::string>() == "Infinity" ? std::string("inf")
                                                 : j.get<std::string>() == "-Infinity" ? std::string("-inf")
                                                                                      : j.get<std::string>()};
    double d = j.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9e15) {
      // A float that happens to be integral stays a float value: Rational keeps it exact.
    }
    if (!std::isfinite(d)) throw Unmappable{"a non-finite number"};
    return ops::AttrValue{Rational(d)};
  }
  static std::int64_t int_of(const json* j, const char* what) {
    if (!j || !(j->is_number_integer())) throw Unmappable{std::string(what) + " is not an integer"};
    if (j->is_number_unsigned() && j->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::numeric_limits<std::int64_t>::max();
    return j->get<std::int64_t>();
  }
  static std::vector<std::int64_t> ints_of(const json* j, const char* what) {
    if (j && j->is_number_integer()) return {int_of(j, what)};
    if (!j || !j->is_array()) throw Unmappable{std::string(what) + " is not a list of integers"};
    std::vector<std::int64_t> out;
    for (const auto& x : *j) out.push_back(int_of(&x, what));
    return out;
  }
  static std::optional<ops::DType> dtype_of(const json* j) {
    if (!j) return std::nullopt;
    if (j->is_object() && j->contains("dtype")) {
      auto d = graph_dtype((*j)["dtype"]);
      if (!d) throw Unmappable{"unknown dtype " + j->dump()};
      return d;
    }
    if (j->is_number_integer()) {
      auto d = scalar_type_code(j->get<std::int64_t>());
      if (!d) throw Unmappable{"unknown ScalarType code " + j->dump()};
      return d;
    }
    if (j->is_string()) {
      auto d = graph_dtype(*j);
      if (d) return d;
    }
    throw Unmappable{"not a dtype: " + j->dump()};
  }

  GraphOperand operand_of(const json* j, const char* what) {
    GraphOperand o;
    if (is_ref(j)) {
      o.kind = GraphOperand::Kind::Value;
      o.ref = ref_of(*j, what);
      return o;
    }
    if (j && j->is_boolean()) {
      o.kind = GraphOperand::Kind::Scalar;
      o.scalar = j->get<bool>() ? 1 : 0;
      o.integral = true;
      return o;
    }
    if (is_number(j)) {
      o.kind = GraphOperand::Kind::Scalar;
      o.scalar = number_of(*j);
      o.integral = unwrap_float(j)->is_number_integer();
      return o;
    }
    throw Unmappable{std::string(what) + " is neither a tensor nor a number"};
  }
  GraphOperand tensor_operand(const json* j, const char* what) {
    if (!is_ref(j)) throw Unmappable{std::string(what) + " is not a tensor reference"};
    return operand_of(j, what);
  }
  const ops::TensorType& type_of_operand(const GraphOperand& o) {
    return *graph_.type_of(o.ref);
  }

  static GraphOperand step_result(int step, int output = 0) {
    GraphOperand o;
    o.kind = GraphOperand::Kind::Step;
    o.step = step;
    o.output = output;
    return o;
  }

  void map_node(GraphNode& node, const json& args, const json& kwargs) {
    std::string op = node.aten_op;
    if (op.rfind("aten::", 0) != 0) {
      node.opaque = true;
      node.opaque_reason = "not an ATen op";
      return;
    }
    op = op.substr(6);
    auto dot = op.find('.');  // an overload name, should one appear
    if (dot != std::string::npos) op = op.substr(0, dot);
    if (op.size() > 1 && op.back() == '_' && op[op.size() - 2] != '_') op.pop_back();  // in-place: add_ -> add
    try {
      Args a{args, kwargs};
      map_op(node, op, a);
      // Every output of the node must come from the lowering.
      std::size_t produced = node.results.empty() ? 1 : node.results.size();
      if (node.results.empty() && (op == "chunk" || op == "split")) produced = node.outputs.size();
      if (produced != node.outputs.size() && !(op == "chunk" || op == "split"))
        throw Unmappable{"records " + std::to_string(node.outputs.size()) + " outputs, the mapping gives " +
                         std::to_string(produced)};
    } catch (const Unmappable& u) {
      node.steps.clear();
      node.results.clear();
      node.opaque = true;
      node.opaque_reason = u.reason;
    }
  }

  void map_op(GraphNode& node, const std::string& op, const Args& a) {
    auto& steps = node.steps;
    auto step = [&](std::string name, std::vector<GraphOperand> operands, ops::Attributes attrs = {}) {
      steps.push_back(GraphStep{std::move(name), std::move(operands), std::move(attrs), -1});
      return static_cast<int>(steps.size()) - 1;
    };
    auto x = [&](std::size_t i = 0, const char* name = "self") { return tensor_operand(a.get(i, name), name); };
    auto I = [](std::int64_t v) { return ops::AttrValue::of_int(v); };
    auto Is = [](std::vector<std::int64_t> v) { return ops::AttrValue{std::move(v)}; };
    auto D = [](ops::DType d) { return ops::AttrValue{d}; };
    auto out_shape = [&]() {
      if (node.outputs.size() != 1) throw Unmappable{"expects one recorded output"};
      return node.outputs[0].shape;
    };
    auto out_dtype = [&]() {
      if (node.outputs.empty()) throw Unmappable{"records no output"};
      return node.outputs[0].dtype;
    };

    static const std::set<std::string> unary = {"neg", "sqrt", "rsqrt", "exp", "log", "tanh", "sigmoid",
                                                "sin", "cos", "silu", "relu", "contiguous", "clone", "detach"};
    if (unary.count(op)) {
      step(op, {x()});
      return;
    }
    if (op == "alias" || op == "lift_fresh" || op == "dropout" || op == "feature_dropout" || op == "lift_fresh_copy") {
      step("clone", {x(0, "input")});
      return;
    }
    if (op == "gelu") {
      ops::Attributes at;
      if (auto j = a.get(1, "approximate"); j && j->is_string()) at["approximate"] = ops::AttrValue{j->get<std::string>()};
      step("gelu", {x()}, at);
      return;
    }
    if (op == "mul" || op == "div" || op == "pow" || op == "true_divide" || op == "multiply" || op == "divide") {
      std::string name = op == "true_divide" || op == "divide" ? "div" : op == "multiply" ? "mul" : op;
      if (name == "div")
        if (auto r = a.get(2, "rounding_mode"); r) throw Unmappable{"div with rounding_mode " + r->dump()};
      step(name, {operand_of(a.get(0, "self"), "self"), operand_of(a.get(1, "other"), "other")});
      return;
    }
    if (op == "add" || op == "sub" || op == "rsub" || op == "subtract") {
      GraphOperand lhs = operand_of(a.get(0, "self"), "self"), rhs = operand_of(a.get(1, "other"), "other");
      if (op == "rsub") std::swap(lhs, rhs);
      const json* alpha = a.get(2, "alpha");
      // x + alpha * y: PyTorch fuses the product into the kernel; Twin multiplies first.
      if (alpha && !(is_number(alpha) && number_of(*alpha) == 1.0)) {
        GraphOperand al = operand_of(alpha, "alpha");
        GraphOperand& scaled = op == "rsub" ? lhs : rhs;
        int s = step("mul", {scaled, al});
        scaled = step_result(s);
      }
      step(op == "add" ? "add" : "sub", {lhs, rhs});
      return;
    }
    if (op == "linear") {
      std::vector<GraphOperand> o{x(0, "input"), x(1, "weight")};
      if (is_ref(a.get(2, "bias"))) o.push_back(x(2, "bias"));
      step("linear", o);
      return;
    }
    if (op == "matmul" || op == "mm" || op == "bmm") {
      step(op == "bmm" ? "bmm" : "matmul", {x(0, "self"), x(1, "other")});
      return;
    }
    if (op == "softmax" || op == "log_softmax" || op == "_softmax") {
      ops::Attributes at{{"dim", I(int_of(a.get(1, "dim"), "dim"))}};
      const json* d = a.get(2, "dtype");
      if (op == "_softmax") d = nullptr;  // half_to_float
      if (auto dt = dtype_of(d)) at["dtype"] = D(*dt);
      step(op == "_softmax" ? "softmax" : op, {x()}, at);
      return;
    }
    if (op == "to" || op == "type" || op == "_to_copy") {
      // to(self, dtype, ...), to(self, device, dtype, ...), to(self, other, ...), _to_copy(self, dtype=...).
      if (op != "_to_copy" && is_ref(a.get(1, "other"))) {
        steps.push_back(GraphStep{"cast", {x(), x(1, "other")}, {}, 1});
        return;
      }
      std::optional<ops::DType> dt;
      if (a.kwargs.contains("dtype") && !a.kwargs["dtype"].is_null()) dt = dtype_of(&a.kwargs["dtype"]);
      for (std::size_t i = 1; !dt && i < a.args.size(); ++i) {
        const json& v = a.args[i];
        if (v.is_object() && v.contains("dtype")) dt = dtype_of(&v);
      }
      if (!dt && op == "to" && a.args.size() >= 2) {
        // ScalarType codes: to(self, dtype, non_blocking, copy, memory_format) or with a device first.
        const json* cand = &a.args[1];
        if (cand->is_object() && cand->contains("device") && a.args.size() >= 3) cand = &a.args[2];
        if (cand->is_number_integer()) dt = dtype_of(cand);
        else if (cand->is_string()) dt = graph_dtype(*cand);
      }
      if (!dt) dt = out_dtype();  // a device move: the recorded dtype (unchanged)
      step("cast", {x()}, {{"dtype", D(*dt)}});
      return;
    }
    if (op == "type_as") {
      steps.push_back(GraphStep{"cast", {x(), x(1, "other")}, {}, 1});
      return;
    }
    static const std::map<std::string, ops::DType> cast_methods = {
        {"float", ops::DType::F32}, {"double", ops::DType::F64}, {"half", ops::DType::F16}, {"bfloat16", ops::DType::BF16},
        {"long", ops::DType::I64},  {"int", ops::DType::I32},    {"bool", ops::DType::Bool}};
    if (auto it = cast_methods.find(op); it != cast_methods.end() && is_ref(a.get(0, "self"))) {
      step("cast", {x()}, {{"dtype", D(it->second)}});
      return;
    }
    if (op == "view" || op == "reshape" || op == "_unsafe_view") {
      step("reshape", {x()}, {{"shape", Is(ints_of(a.get(1, "size"), "size"))}});
      return;
    }
    if (op == "view_as" || op == "reshape_as" || op == "flatten" || op == "unflatten") {
      step("reshape", {x()}, {{"shape", Is(out_shape())}});
      return;
    }
    if (op == "transpose" || op == "swapaxes") {
      step("transpose", {x()}, {{"dim0", I(int_of(a.get(1, "dim0"), "dim0"))}, {"dim1", I(int_of(a.get(2, "dim1"), "dim1"))}});
      return;
    }
    if (op == "t") {
      if (type_of_operand(x()).rank() < 2) step("contiguous", {x()});
      else step("transpose", {x()}, {{"dim0", I(0)}, {"dim1", I(1)}});
      return;
    }
    if (op == "permute") {
      step("permute", {x()}, {{"dims", Is(ints_of(a.get(1, "dims"), "dims"))}});
      return;
    }
    if (op == "unsqueeze") {
      step("unsqueeze", {x()}, {{"dim", I(int_of(a.get(1, "dim"), "dim"))}});
      return;
    }
    if (op == "squeeze") {
      ops::Attributes at;
      if (auto d = a.get(1, "dim")) {
        auto dims = ints_of(d, "dim");
        if (dims.size() != 1) throw Unmappable{"squeeze of several dims"};
        at["dim"] = I(dims[0]);
      }
      step("squeeze", {x()}, at);
      return;
    }
    if (op == "slice") {
      ops::Attributes at{{"dim", I(a.get(1, "dim") ? int_of(a.get(1, "dim"), "dim") : 0)},
                         {"step", I(a.get(4, "step") ? int_of(a.get(4, "step"), "step") : 1)}};
      if (auto s = a.get(2, "start")) at["start"] = I(int_of(s, "start"));
      if (auto e = a.get(3, "end")) at["end"] = I(int_of(e, "end"));
      step("slice", {x()}, at);
      return;
    }
    if (op == "select") {
      step("select", {x()}, {{"dim", I(int_of(a.get(1, "dim"), "dim"))}, {"index", I(int_of(a.get(2, "index"), "index"))}});
      return;
    }
    if (op == "index_select") {
      step("index_select", {x(), x(2, "index")}, {{"dim", I(int_of(a.get(1, "dim"), "dim"))}});
      return;
    }
    if (op == "index") {
      // x[idx] with one integer index tensor at dim k (the others none):
      // reshape(index_select(x, k, reshape(idx, [-1])), recorded shape).
      const json* list = a.get(1, "indices");
      if (!list || !list->is_array()) throw Unmappable{"indices is not a list"};
      std::int64_t dim = -1;
      GraphOperand index;
      for (std::size_t k = 0; k < list->size(); ++k) {
        const json& e = (*list)[k];
        if (e.is_null()) continue;
        if (dim >= 0) throw Unmappable{"indexing with several index tensors"};
        index = tensor_operand(&e, "indices");
        if (ops::is_floating(type_of_operand(index).dtype) || type_of_operand(index).dtype == ops::DType::Bool)
          throw Unmappable{"indexing with a boolean or floating index"};
        dim = static_cast<std::int64_t>(k);
      }
      if (dim < 0) throw Unmappable{"indexing with no index tensor"};
      int flat = step("reshape", {index}, {{"shape", Is({-1})}});
      int picked = step("index_select", {x(), step_result(flat)}, {{"dim", I(dim)}});
      step("reshape", {step_result(picked)}, {{"shape", Is(out_shape())}});
      return;
    }
    if (op == "cat" || op == "concat" || op == "concatenate" || op == "stack") {
      const json* list = a.get(0, "tensors");
      if (!list || !list->is_array()) throw Unmappable{"tensors is not a list"};
      std::vector<GraphOperand> o;
      for (const auto& t : *list) o.push_back(tensor_operand(&t, "tensors"));
      const json* d = a.get(1, "dim");
      step(op == "stack" ? "stack" : "cat", o, {{"dim", I(d ? int_of(d, "dim") : 0)}});
      return;
    }
    if (op == "chunk") {
      const json* d = a.get(2, "dim");
      step("chunk", {x()}, {{"chunks", I(int_of(a.get(1, "chunks"), "chunks"))}, {"dim", I(d ? int_of(d, "dim") : 0)}});
      check_multi(node);
      return;
    }
    if (op == "split" || op == "split_with_sizes" || op == "unbind" || op == "unsafe_split") {
      GraphOperand in = x();
      const json* d = a.get(op == "unbind" ? 1 : 2, "dim");
      std::int64_t dim = d ? int_of(d, "dim") : 0;
      const json* sz = op == "unbind" ? nullptr : a.get(1, op == "split_with_sizes" ? "split_sizes" : "split_size");
      if (sz && sz->is_number_integer()) {
        step("split", {in}, {{"split_size", I(int_of(sz, "split_size"))}, {"dim", I(dim)}});
        check_multi(node);
        return;
      }
      if (op == "unbind") {
        for (std::size_t k = 0; k < node.outputs.size(); ++k) {
          int s = step("select", {in}, {{"dim", I(dim)}, {"index", I(static_cast<std::int64_t>(k))}});
          node.results.push_back({s, 0});
        }
        return;
      }
      // Sizes given as a list: one slice per part.
      std::int64_t start = 0;
      for (std::int64_t size : ints_of(sz, "split_sizes")) {
        int s = step("slice", {in}, {{"dim", I(dim)}, {"start", I(start)}, {"end", I(start + size)}, {"step", I(1)}});
        node.results.push_back({s, 0});
        start += size;
      }
      return;
    }
    if (op == "mean" || op == "sum" || op == "amax") {
      ops::Attributes at;
      if (auto d = a.get(1, "dim")) {
        if (d->is_object() && d->contains("dtype")) {  // sum(self, dtype=...)
          at["dtype"] = D(*dtype_of(d));
        } else {
          at["dim"] = Is(ints_of(d, "dim"));
        }
      }
      if (auto k = a.get(2, "keepdim")) {
        if (!k->is_boolean()) throw Unmappable{"keepdim is not a boolean"};
        at["keepdim"] = ops::AttrValue{k->get<bool>()};
      }
      if (op != "amax")
        if (auto dt = dtype_of(a.get(3, "dtype"))) at["dtype"] = D(*dt);
      if (op == "amax" && !at.count("dim")) at["dim"] = Is({});
      step(op, {x()}, at);
      return;
    }
    if (op == "embedding") {
      step("embedding", {x(0, "weight"), x(1, "indices")});
      return;
    }
    if (op == "masked_fill") {
      const json* v = a.get(2, "value");
      if (is_ref(v)) {  // masked_fill.Tensor: where(mask, value, self)
        step("where", {x(1, "mask"), x(2, "value"), x()});
        return;
      }
      if (!is_number(v) && !(v && v->is_boolean())) throw Unmappable{"masked_fill value is not a number"};
      ops::AttrValue value = v->is_boolean() ? I(v->get<bool>() ? 1 : 0) : number_attr(*v);
      step("masked_fill", {x(), x(1, "mask")}, {{"value", value}});
      return;
    }
    if (op == "where") {
      step("where", {x(0, "condition"), operand_of(a.get(1, "self"), "self"), operand_of(a.get(2, "other"), "other")});
      return;
    }
    if (op == "triu" || op == "tril") {
      const json* d = a.get(1, "diagonal");
      step(op, {x()}, {{"diagonal", I(d ? int_of(d, "diagonal") : 0)}});
      return;
    }
    if (op == "full" || op == "zeros" || op == "ones" || op == "full_like" || op == "zeros_like" || op == "ones_like") {
      bool like = op.size() > 5 && op.substr(op.size() - 5) == "_like";
      std::string base = like ? op.substr(0, op.size() - 5) : op;
      ops::Attributes at{{"shape", Is(like ? out_shape() : ints_of(a.get(0, "size"), "size"))}};
      std::size_t dtype_pos = base == "full" ? 2 : 1;
      if (base == "full") {
        const json* f = a.get(1, "fill_value");
        if (!is_number(f) && !(f && f->is_boolean())) throw Unmappable{"fill_value is not a number"};
        at["fill_value"] = f->is_boolean() ? I(f->get<bool>() ? 1 : 0) : number_attr(*f);
      }
      // The recorded dtype decides (it is what PyTorch chose, default dtype included).
      (void)dtype_pos;
      at["dtype"] = D(out_dtype());
      step(base, {}, at);
      return;
    }
    if (op == "arange") {
      std::vector<const json*> numbers;
      for (std::size_t i = 0; i < a.args.size() && i < 3 && is_number(&a.args[i]); ++i) numbers.push_back(&a.args[i]);
      for (const char* k : {"start", "end", "step"})
        if (a.kwargs.contains(k) && is_number(&a.kwargs[k])) numbers.push_back(&a.kwargs[k]);
      ops::Attributes at;
      if (numbers.size() == 1) at = {{"start", I(0)}, {"end", number_attr(*numbers[0])}, {"step", I(1)}};
      else if (numbers.size() == 2) at = {{"start", number_attr(*numbers[0])}, {"end", number_attr(*numbers[1])}, {"step", I(1)}};
      else if (numbers.size() == 3)
        at = {{"start", number_attr(*numbers[0])}, {"end", number_attr(*numbers[1])}, {"step", number_attr(*numbers[2])}};
      else throw Unmappable{"arange with " + std::to_string(numbers.size()) + " bounds"};
      at["dtype"] = D(out_dtype());
      step("arange", {}, at);
      return;
    }
    if (op == "expand") {
      step("expand", {x()}, {{"shape", Is(ints_of(a.get(1, "size"), "size"))}});
      return;
    }
    if (op == "expand_as") {
      step("expand", {x()}, {{"shape", Is(out_shape())}});
      return;
    }
    if (op == "repeat") {
      step("repeat", {x()}, {{"repeats", Is(ints_of(a.get(1, "repeats"), "repeats"))}});
      return;
    }
    if (op == "repeat_interleave") {
      const json* r = a.get(1, "repeats");
      if (!r || !r->is_number_integer()) throw Unmappable{"repeat_interleave with tensor repeats"};
      ops::Attributes at{{"repeats", I(int_of(r, "repeats"))}};
      if (auto d = a.get(2, "dim")) at["dim"] = I(int_of(d, "dim"));
      step("repeat_interleave", {x()}, at);
      return;
    }
    if (op == "layer_norm") {
      std::vector<GraphOperand> o{x(0, "input")};
      bool has_weight = is_ref(a.get(2, "weight")), has_bias = is_ref(a.get(3, "bias"));
      if (has_bias && !has_weight) throw Unmappable{"layer_norm with a bias but no weight"};
      if (has_weight) o.push_back(x(2, "weight"));
      if (has_bias) o.push_back(x(3, "bias"));
      ops::Attributes at{{"normalized_shape", Is(ints_of(a.get(1, "normalized_shape"), "normalized_shape"))}};
      if (auto e = a.get(4, "eps"); is_number(e)) at["eps"] = number_attr(*e);
      step("layer_norm", o, at);
      return;
    }
    if (op == "scaled_dot_product_attention") {
      std::vector<GraphOperand> o{x(0, "query"), x(1, "key"), x(2, "value")};
      if (is_ref(a.get(3, "attn_mask"))) o.push_back(x(3, "attn_mask"));
      if (auto p = a.get(4, "dropout_p"); p && !(is_number(p) && number_of(*p) == 0)) throw Unmappable{"attention dropout"};
      ops::Attributes at;
      if (auto c = a.get(5, "is_causal"); c && c->is_boolean()) at["is_causal"] = ops::AttrValue{c->get<bool>()};
      if (auto s = a.get(6, "scale"); is_number(s)) at["scale"] = number_attr(*s);
      step("scaled_dot_product_attention", o, at);
      return;
    }
    throw Unmappable{"Twin has no mapping for this op"};
  }

  static void check_multi(const GraphNode& node) {
    if (node.outputs.empty()) throw Unmappable{"a multi-output op with no recorded outputs"};
  }

  // ---- the module tree ----

  GraphModule& module_at(const std::string& path) {
    GraphModule* m = graph_.root_.get();
    if (path.empty()) return *m;
    std::size_t start = 0;
    while (start <= path.size()) {
      std::size_t end = path.find('.', start);
      if (end == std::string::npos) end = path.size();
      std::string sub = path.substr(0, end);
      GraphModule* next = nullptr;
      for (auto& c : m->children)
        if (c->path == sub) next = c.get();
      if (!next) {
        auto child = std::make_unique<GraphModule>();
        child->name = path.substr(start, end - start);
        child->path = sub;
        next = child.get();
        m->children.push_back(std::move(child));
      }
      m = next;
      start = end + 1;
    }
    return *m;
  }

  void build_modules() {
    for (const auto& n : graph_.nodes_) {
      GraphModule& m = module_at(n.module);
      ++m.node_count;
      if (m.type.empty()) m.type = n.module_type;
    }
    for (const auto* list : {&graph_.parameters_, &graph_.buffers_}) {
      for (const auto& p : *list) {
        auto dot = p.name.rfind('.');
        GraphModule& m = module_at(dot == std::string::npos ? "" : p.name.substr(0, dot));
        m.parameters.push_back(p.name);
      }
    }
  }
};

Graph Graph::load(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw Error(ErrorKind::Io, path.string() + ": is a directory, not a graph file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path.string() + ": cannot read the graph file: no such file or not readable");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::string data = bytes.str();
  return parse(data, path.string());
}

Graph Graph::parse(std::string_view bytes, const std::string& file) {
  try {
    return GraphLoader(bytes, file).load();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {  // a bug or an allocation failure: still name the file
    throw Error(ErrorKind::Value, file + ": cannot load the graph: " + e.what());
  }
}

}  // namespace twin
