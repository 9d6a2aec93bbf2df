// Reading a torch.export program (the `.pt2` archive of capture/pt2_archive.h) into a Graph.
//
// The program is `models/model.json` in torch's export schema (schema version 8, as torch 2.6
// to 2.11 write it): `graph_module.graph` holds the nodes (each a call of an op overload
// `torch.ops.aten.linear.default`, with typed arguments `as_tensor`, `as_int`, `as_ints`,
// `as_float`, `as_scalar_type`, ..., its outputs, and metadata `nn_module_stack` and
// `stack_trace`), the type of every tensor value (`tensor_values`), and the graph's inputs and
// outputs; `graph_module.signature` says what each input is (a parameter, buffer or constant
// by its fully qualified name, or a user input) and each output (a user output, a buffer
// mutation). This room turns that into Twin's Graph:
//   - each node's arguments are decoded into the neutral ATen call (capture/aten_call.h), so
//     the one ATen mapping (capture/aten_mapping.h) serves both formats;
//   - higher-order ops whose body only scopes the computation are inlined: the nodes of
//     `wrap_with_set_grad_enabled`'s body (HF's rotary embedding), of a disabled
//     `wrap_with_autocast` and of `invoke_subgraph` take the place of the call; any other
//     higher-order op stays opaque, under its name;
//   - assertion nodes (`_assert_tensor_metadata` on every `.to()`, `_assert_scalar`, ...) are
//     left out and counted; they compute nothing;
//   - an in-place op (`masked_fill_`, `index_put_`, `detach_`) gives its mutated operand a new
//     version: every later read of that value reads the op's result, in whatever scope. A write
//     into a view of another value (`cache[:, :, i] = k` as slice + copy_) is not followed: a
//     later read of the viewed value is opaque, saying so, never silently stale;
//   - `None` graph outputs are left out; buffer mutations are recorded, not outputs;
//   - example inputs and outputs come from the sidecar, the caller, or are drawn
//     (export_examples.cpp).
// Names: parameters, buffers and constants by their fully qualified names
// (`model.layers.0.self_attn.q_proj.weight`), user inputs by their placeholder names
// (`input_ids`), nodes by their output names, made unique where inlining repeats one.
#include "capture/aten_call.h"
#include "capture/aten_mapping.h"
#include "capture/aten/complex_pairs.h"
#include "capture/export_examples.h"
#include "capture/graph_formats.h"
#include "capture/pt2_archive.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <limits>
#include <set>

namespace twin {

using json = nlohmann::json;

namespace {

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

// Python's json writes non-finite floats as the bare tokens NaN, Infinity and -Infinity, which
// JSON (and nlohmann) reject: outside strings they become the strings "NaN", "Infinity" and
// "-Infinity", which the argument decoder reads back as floats.
std::string quote_non_finite(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 64);
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) out += text[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool replaced = false;
    for (std::string_view token : {std::string_view("-Infinity"), std::string_view("Infinity"), std::string_view("NaN")}) {
      if (text.compare(i, token.size(), token) == 0) {
        out += '"';
        out += token;
        out += '"';
        i += token.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += c;
  }
  return out;
}

// The innermost frame of a stack_trace: "File \"site-packages/x/y.py\", line 255, in forward"
// -> "x/y.py:255".
std::string innermost_source(const std::string& trace) {
  std::size_t at = trace.rfind("File \"");
  if (at == std::string::npos) return "";
  std::size_t end = trace.find('"', at + 6);
  if (end == std::string::npos) return "";
  std::string file = trace.substr(at + 6, end - at - 6);
  if (auto sp = file.rfind("site-packages/"); sp != std::string::npos) file = file.substr(sp + 14);
  std::size_t line = trace.find("line ", end);
  std::string number;
  if (line != std::string::npos)
    for (std::size_t i = line + 5; i < trace.size() && std::isdigit(static_cast<unsigned char>(trace[i])); ++i) number += trace[i];
  return number.empty() ? file : file + ":" + number;
}

// A module path as torch.export writes it, made a plain dotted path: "model.layers.0" stays;
// older spellings "L['self'].layers[0]" and "getattr(L['self'].layers, '0')" become "layers.0".
std::string module_path(std::string path) {
  for (const std::string prefix : {"L['self'].", "L['self']", "L__self__.", "L__self__"})
    if (path.rfind(prefix, 0) == 0) path = path.substr(prefix.size());
  // getattr(X, 'N') -> X.N
  for (std::size_t at; (at = path.find("getattr(")) != std::string::npos;) {
    std::size_t comma = path.find(", '", at), close = path.find("')", at);
    if (comma == std::string::npos || close == std::string::npos || close < comma) break;
    std::string inner = path.substr(at + 8, comma - at - 8) + "." + path.substr(comma + 3, close - comma - 3);
    path = path.substr(0, at) + inner + path.substr(close + 2);
    if (path.rfind("L['self'].", 0) == 0) path = path.substr(10);
  }
  // X[N] -> X.N
  std::string out;
  for (char c : path) {
    if (c == '[') out += '.';
    else if (c != ']' && c != '\'') out += c;
  }
  return out;
}

// nn_module_stack: "key,path,type;key,path,type" (outermost first; commas inside brackets or
// parentheses belong to the field). The innermost module's path and class name.
std::pair<std::string, std::string> innermost_module(const std::string& stack) {
  std::string last;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= stack.size(); ++i) {
    char c = i < stack.size() ? stack[i] : ';';
    if (c == '(' || c == '[') ++depth;
    else if (c == ')' || c == ']') --depth;
    else if (c == ';' && depth == 0) {
      if (i > start) last = stack.substr(start, i - start);
      start = i + 1;
    }
  }
  std::vector<std::string> fields;
  depth = 0;
  start = 0;
  for (std::size_t i = 0; i <= last.size(); ++i) {
    char c = i < last.size() ? last[i] : ',';
    if (c == '(' || c == '[') ++depth;
    else if (c == ')' || c == ']') --depth;
    else if (c == ',' && depth == 0) {
      fields.push_back(last.substr(start, i - start));
      start = i + 1;
    }
  }
  if (fields.size() < 3) return {"", ""};
  std::string type = fields.back();
  if (auto dot = type.rfind('.'); dot != std::string::npos) type = type.substr(dot + 1);
  return {module_path(fields[1]), type};
}

const char* layout_name(long long code) {
  switch (code) {
    case 7: return "strided";
    case 1: return "sparse_coo";
    case 2: return "sparse_csr";
    case 6: return "mkldnn";
    default: return "unknown";
  }
}

const char* memory_format_name(long long code) {
  switch (code) {
    case 1: return "contiguous_format";
    case 2: return "channels_last";
    case 3: return "channels_last_3d";
    case 4: return "preserve_format";
    default: return "unknown";
  }
}

// Ops that only check what the program already knows: left out of the graph.
bool is_assertion(std::string_view ns, std::string_view name) {
  if (ns != "aten") return false;
  for (std::string_view prefix : {"_assert", "_functional_assert", "sym_constrain_range", "_functional_sym_constrain_range"})
    if (name.substr(0, prefix.size()) == prefix) return true;
  return false;
}

}  // namespace

class ExportLoader {
 public:
  ExportLoader(std::string_view bytes, std::string file, const GraphLoadOptions& options)
      : archive_(capture::Pt2Archive::open(bytes, file)), options_(options) {
    graph_.file_ = std::move(file);
    graph_.format_ = "pt2";
    graph_.capture_method_ = "torch.export";
  }

  Graph load() {
    std::string text = quote_non_finite(archive_.program_json());
    json program = json::parse(text, nullptr, false);
    if (program.is_discarded() || !program.is_object()) bad("models/" + archive_.model_name() + ".json is not a JSON object");
    check_schema(program);
    graph_.torch_version_ = program.value("torch_version", "");
    const json& module = field(program, "graph_module", "the program");
    const json& graph = field(module, "graph", "graph_module");
    const json& signature = field(module, "signature", "graph_module");
    read_inputs(graph, signature);
    Scope top{&field(graph, "tensor_values", "the graph"), {}};
    for (const auto& [name, ref] : placeholders_) top.names[name] = ref;
    read_nodes(field(graph, "nodes", "the graph"), top);
    where_.clear();
    read_outputs(graph, signature, top);
    capture::ExampleValues examples = capture::example_values(graph_, archive_, options_);
    graph_.example_source_ = examples.source;
    if (!examples.capture_source.empty()) graph_.capture_source_ = examples.capture_source;
    for (std::size_t i = 0; i < graph_.inputs_.size(); ++i) graph_.inputs_[i].value = examples.inputs[i];
    graph_.example_outputs_ = std::move(examples.outputs);
    graph_.capture_dtype_ = examples.capture_dtype.value_or(ops::DType::F32);
    if (!examples.capture_dtype)
      for (const auto& p : graph_.parameters_)
        if (p.type.dtype == ops::DType::BF16 || p.type.dtype == ops::DType::F16) graph_.capture_dtype_ = p.type.dtype;
    graph_.build_module_tree();
    return std::move(graph_);
  }

 private:
  // The names of one graph (the program's, or a higher-order op's body) and their types.
  struct Scope {
    const json* tensor_values = nullptr;
    std::map<std::string, GraphRef, std::less<>> names;  // export name -> Twin value
  };

  capture::Pt2Archive archive_;
  const GraphLoadOptions& options_;
  Graph graph_;
  std::string where_;
  std::map<std::string, GraphRef> placeholders_;  // placeholder name -> value
  // In-place writes: a value's latest version (by GraphRef::to_string()).
  std::map<std::string, GraphRef> latest_;
  // Views: the value a view's elements live in (by GraphRef::to_string()), and the values a
  // write through a view made stale, with the reason.
  std::map<std::string, std::string> view_base_;
  std::map<std::string, std::string> stale_;
  int inline_depth_ = 0;

  [[noreturn]] void bad(const std::string& what) const {
    throw Error(ErrorKind::Value, graph_.file_ + ": " + (where_.empty() ? "" : where_ + ": ") + what);
  }
  const json& field(const json& j, const char* key, const std::string& what) const {
    if (!j.is_object() || !j.contains(key)) bad(what + ": missing " + q(key));
    return j[key];
  }

  void check_schema(const json& program) {
    const json& v = field(program, "schema_version", "the program");
    if (!v.is_object() || !v.contains("major") || !v["major"].is_number_integer())
      bad("schema_version is not {major, minor}: " + v.dump());
    long long major = v["major"].get<long long>();
    if (major != 8)
      bad("export schema version " + std::to_string(major) + "." + (v.contains("minor") ? v["minor"].dump() : "?") +
          " is not one Twin reads (it reads schema 8, written by torch 2.6 to 2.11)");
  }

  // ---- types ----

  std::optional<ops::TensorType> tensor_type(const Scope& scope, const std::string& name) const {
    if (!scope.tensor_values || !scope.tensor_values->is_object() || !scope.tensor_values->contains(name)) return std::nullopt;
    const json& meta = (*scope.tensor_values)[name];
    if (!meta.contains("dtype") || !meta["dtype"].is_number_integer()) bad("value " + q(name) + " has no dtype");
    const long long code = meta["dtype"].get<long long>();
    auto d = capture::export_scalar_type(code);
    auto part = capture::export_complex_part_type(code);  // complex: held as real pairs (complex_pairs.h)
    if (!d && !part) bad("value " + q(name) + " has dtype " + capture::export_scalar_type_name(code) + ", which Twin does not read");
    ops::TensorType type;
    type.dtype = d ? *d : *part;
    if (!meta.contains("sizes") || !meta["sizes"].is_array()) bad("value " + q(name) + " has no sizes");
    for (const auto& s : meta["sizes"]) {
      if (s.is_object() && s.contains("as_int") && s["as_int"].is_number_integer() && s["as_int"].get<std::int64_t>() >= 0) {
        type.shape.push_back(s["as_int"].get<std::int64_t>());
        continue;
      }
      bad("value " + q(name) + " has a symbolic size " + s.dump() + ": Twin reads exports with static shapes (no dynamic_shapes)");
    }
    if (part) type.shape.push_back(2);
    return type;
  }

  // Whether the program recorded value `name` as complex (held as real pairs).
  bool is_complex_value(const Scope& scope, const std::string& name) const {
    if (!scope.tensor_values || !scope.tensor_values->is_object() || !scope.tensor_values->contains(name)) return false;
    const json& meta = (*scope.tensor_values)[name];
    return meta.contains("dtype") && meta["dtype"].is_number_integer() &&
           capture::export_complex_part_type(meta["dtype"].get<long long>()).has_value();
  }

  // ---- inputs ----

  void declare(const std::string& name, int kind, std::size_t index) {
    if (graph_.tensor_index_.count(name) || graph_.node_index_.count(name)) bad("the name " + q(name) + " is defined twice");
    graph_.tensor_index_[name] = {kind, index};
  }

  void read_inputs(const json& graph, const json& signature) {
    const json& specs = field(signature, "input_specs", "the signature");
    const json& inputs = field(graph, "inputs", "the graph");
    if (!specs.is_array() || !inputs.is_array()) bad("the graph's inputs are not lists");
    Scope top{&field(graph, "tensor_values", "the graph"), {}};
    for (const auto& spec : specs) {
      if (!spec.is_object() || spec.size() != 1) bad("an input spec is not a one-kind object: " + spec.dump().substr(0, 200));
      const std::string kind = spec.begin().key();
      const json& s = spec.begin().value();
      auto placeholder = [&]() -> std::string {
        const json& arg = field(s, "arg", "input spec " + kind);
        if (arg.contains("name") && arg["name"].is_string()) return arg["name"].get<std::string>();
        if (arg.contains("as_tensor")) return field(arg["as_tensor"], "name", "input spec").get<std::string>();
        return "";
      };
      if (kind == "parameter" || kind == "buffer" || kind == "tensor_constant") {
        const char* key = kind == "parameter" ? "parameter_name" : kind == "buffer" ? "buffer_name" : "tensor_constant_name";
        if (!s.contains(key) || !s[key].is_string()) bad("input spec " + kind + " has no " + key);
        std::string fqn = s[key].get<std::string>(), name = placeholder();
        GraphTensor t;
        t.name = fqn;
        auto type = tensor_type(top, name);
        if (!type) bad(kind + " " + q(fqn) + " (" + name + ") has no recorded type");
        t.type = *type;
        if (archive_.has_tensor(fqn)) {
          t.tensor_key = fqn;
          t.value = archive_.load_tensor(fqn);
          if (t.value->type() != t.type)
            bad(kind + " " + q(fqn) + ": the stored tensor is " + t.value->type().to_string() + ", the graph records " +
                t.type.to_string());
        }
        auto& list = kind == "parameter" ? graph_.parameters_ : kind == "buffer" ? graph_.buffers_ : graph_.constants_;
        declare(fqn, kind == "parameter" ? 1 : kind == "buffer" ? 2 : 3, list.size());
        list.push_back(std::move(t));
        placeholders_[name] = GraphRef{fqn, 0};
      } else if (kind == "user_input") {
        const json& arg = field(s, "arg", "user_input");
        if (!arg.contains("as_tensor")) continue;  // a specialized number, None, ...: not a graph input
        std::string name = field(arg["as_tensor"], "name", "user_input").get<std::string>();
        GraphTensor t;
        t.name = name;
        auto type = tensor_type(top, name);
        if (!type) bad("user input " + q(name) + " has no recorded type");
        t.type = *type;
        declare(name, 0, graph_.inputs_.size());
        graph_.inputs_.push_back(std::move(t));
        placeholders_[name] = GraphRef{name, 0};
      } else if (kind == "constant_input") {
        continue;  // a value the export specialized
      } else {
        bad("an input of kind '" + kind + "' (" + s.dump().substr(0, 120) + "): Twin reads parameters, buffers, tensor "
            "constants and tensor user inputs");
      }
    }
  }

  // ---- values and versions ----

  GraphRef latest(GraphRef ref) const {
    for (int guard = 0; guard < 1 << 20; ++guard) {
      auto it = latest_.find(ref.to_string());
      if (it == latest_.end()) return ref;
      ref = it->second;
    }
    return ref;
  }

  GraphRef resolve(const Scope& scope, const std::string& name) const {
    auto it = scope.names.find(name);
    if (it == scope.names.end()) bad("reads " + q(name) + ", which no earlier node or input defines");
    return latest(it->second);
  }

  std::string base_of(const GraphRef& ref) const {
    std::string key = ref.to_string();
    for (int guard = 0; guard < 1 << 20; ++guard) {
      auto it = view_base_.find(key);
      if (it == view_base_.end()) return key;
      key = it->second;
    }
    return key;
  }

  // ---- arguments ----

  capture::AtenValue decode(const json& arg, const Scope& scope, GraphNode& node, int depth = 0) {
    using V = capture::AtenValue;
    if (depth > 8) bad("arguments nest too deep");
    if (!arg.is_object() || arg.size() != 1) return V{V::Other{arg.dump()}};
    const std::string& kind = arg.begin().key();
    const json& v = arg.begin().value();
    auto tensor = [&](const json& t) -> V {
      if (!t.is_object() || !t.contains("name") || !t["name"].is_string()) bad("a tensor argument without a name");
      GraphRef ref = resolve(scope, t["name"].get<std::string>());
      if (std::find(node.reads.begin(), node.reads.end(), ref.name) == node.reads.end()) node.reads.push_back(ref.name);
      return V{ref};
    };
    auto number = [&](const json& x) -> V {
      if (x.is_number_integer()) return V{x.get<std::int64_t>()};
      if (x.is_number()) return V{x.get<double>()};
      if (x.is_string()) {
        const std::string& s = x.get_ref<const std::string&>();
        if (s == "Infinity") return V{std::numeric_limits<double>::infinity()};
        if (s == "-Infinity") return V{-std::numeric_limits<double>::infinity()};
        if (s == "NaN") return V{std::numeric_limits<double>::quiet_NaN()};
      }
      return V{V::Other{x.dump()}};
    };
    auto list = [&](const json& xs, auto&& each) -> V {
      if (!xs.is_array()) return V{V::Other{xs.dump()}};
      V::List out;
      for (const auto& x : xs) out.push_back(each(x));
      return V{std::move(out)};
    };
    auto sym = [&](const json& x) -> V {  // a SymInt/SymFloat/SymBool: a number unless symbolic
      if (x.is_object() && x.size() == 1) {
        const std::string& k = x.begin().key();
        if (k == "as_int" || k == "as_float") return number(x.begin().value());
        if (k == "as_bool" && x.begin().value().is_boolean()) return V{x.begin().value().get<bool>()};
      }
      return V{V::Other{"symbolic " + x.dump()}};
    };
    if (kind == "as_none") return V{V::None{}};
    if (kind == "as_tensor") return tensor(v);
    if (kind == "as_tensors") return list(v, tensor);
    if (kind == "as_optional_tensors")
      return list(v, [&](const json& x) -> V {
        if (x.is_object() && x.contains("as_tensor")) return tensor(x["as_tensor"]);
        return V{V::None{}};
      });
    if (kind == "as_optional_tensor") return v.is_object() && v.contains("as_tensor") ? tensor(v["as_tensor"]) : V{V::None{}};
    if (kind == "as_int" || kind == "as_float") return number(v);
    if (kind == "as_ints" || kind == "as_floats") return list(v, number);
    if (kind == "as_bool") return v.is_boolean() ? V{v.get<bool>()} : V{V::Other{v.dump()}};
    if (kind == "as_bools") return list(v, [](const json& x) { return x.is_boolean() ? V{x.get<bool>()} : V{V::Other{x.dump()}}; });
    if (kind == "as_string") return v.is_string() ? V{v.get<std::string>()} : V{V::Other{v.dump()}};
    if (kind == "as_strings") return list(v, [](const json& x) { return x.is_string() ? V{x.get<std::string>()} : V{V::Other{x.dump()}}; });
    if (kind == "as_sym_int" || kind == "as_sym_float" || kind == "as_sym_bool") return sym(v);
    if (kind == "as_sym_ints" || kind == "as_sym_floats" || kind == "as_sym_bools") return list(v, sym);
    if (kind == "as_int_lists") return list(v, [&](const json& xs) { return list(xs, number); });
    if (kind == "as_scalar_type" && v.is_number_integer()) {
      long long code = v.get<long long>();
      return V{V::DType{capture::export_scalar_type(code), capture::export_scalar_type_name(code)}};
    }
    if (kind == "as_layout" && v.is_number_integer()) return V{V::Layout{layout_name(v.get<long long>())}};
    if (kind == "as_memory_format" && v.is_number_integer()) return V{V::MemoryFormat{memory_format_name(v.get<long long>())}};
    if (kind == "as_device" && v.is_object()) {
      std::string device = v.value("type", "cpu");
      if (v.contains("index") && v["index"].is_number_integer()) device += ":" + std::to_string(v["index"].get<long long>());
      return V{V::Device{device}};
    }
    return V{V::Other{arg.dump().substr(0, 200)}};
  }

  // ---- nodes ----

  std::string unique_name(const std::string& base) const {
    auto taken = [&](const std::string& n) { return graph_.tensor_index_.count(n) || graph_.node_index_.count(n); };
    if (!taken(base)) return base;
    for (int k = 1;; ++k)
      if (!taken(base + "_" + std::to_string(k))) return base + "_" + std::to_string(k);
  }

  // The export names of a node's tensor outputs, in order (None outputs skipped).
  std::vector<std::string> output_names(const json& node) {
    std::vector<std::string> names;
    const json& outs = field(node, "outputs", "node");
    if (!outs.is_array()) bad("'outputs' is not a list");
    for (const auto& o : outs) {
      if (!o.is_object() || o.size() != 1) continue;
      const std::string& k = o.begin().key();
      const json& v = o.begin().value();
      if (k == "as_tensor") names.push_back(field(v, "name", "output").get<std::string>());
      else if (k == "as_tensors" || k == "as_optional_tensors")
        for (const auto& t : v) {
          if (t.contains("name")) names.push_back(t["name"].get<std::string>());
          else if (t.contains("as_tensor")) names.push_back(field(t["as_tensor"], "name", "output").get<std::string>());
        }
    }
    return names;
  }

  void read_nodes(const json& nodes, Scope& scope) {
    if (!nodes.is_array()) bad("'nodes' is not a list");
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const json& node = nodes[i];
      if (!node.is_object()) bad("node " + std::to_string(i) + " is not an object");
      std::string target = node.contains("target") && node["target"].is_string() ? node["target"].get<std::string>() : "";
      std::string name = node.contains("name") && node["name"].is_string() ? node["name"].get<std::string>() : std::to_string(i);
      where_ = "node " + q(name) + " (" + target + ")";
      read_node(node, target, scope);
    }
  }

  void read_node(const json& node, const std::string& target, Scope& scope) {
    // "torch.ops.aten.linear.default" -> aten, linear, default; "torch.ops.higher_order.cond".
    std::string ns, op, overload;
    constexpr std::string_view prefix = "torch.ops.";
    if (target.rfind(prefix, 0) == 0) {
      std::string rest = target.substr(prefix.size());
      std::size_t a = rest.find('.');
      ns = rest.substr(0, a);
      if (a != std::string::npos) {
        std::size_t b = rest.find('.', a + 1);
        op = rest.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
        if (b != std::string::npos) overload = rest.substr(b + 1);
      }
    }
    if (ns == "higher_order") {
      read_higher_order(node, op, scope);
      return;
    }
    std::vector<std::string> outputs = output_names(node);
    if (is_assertion(ns, op) && outputs.empty()) {
      ++graph_.dropped_assertions_;
      return;
    }
    GraphNode n;
    n.aten_op = ns.empty() ? target : ns + "::" + op;
    fill_metadata(n, node);
    // The call, decoded.
    capture::AtenCall call;
    if (ns == "aten") {
      auto parsed = capture::parse_aten_op_name("aten::" + op);
      call.name = parsed->name;
      call.in_place = parsed->in_place;
    } else {
      call.name = n.aten_op;  // a custom op's table entry carries its namespace
    }
    call.overload = overload == "default" ? "" : overload;
    const json& inputs = field(node, "inputs", "node");
    if (!inputs.is_array()) bad("'inputs' is not a list");
    // The values this call reads that the program recorded as complex: by their names here,
    // since `view_as_real(z)` is z's own pairs, complex as z and real as its view.
    std::set<std::string> complex_reads;
    for (const auto& input : inputs) {
      if (!input.is_object() || !input.contains("arg") || !input["arg"].is_object() || input["arg"].size() != 1) continue;
      const std::string& kind = input["arg"].begin().key();
      const json& v = input["arg"].begin().value();
      auto note = [&](const json& t) {
        if (t.is_object() && t.contains("name") && t["name"].is_string() && is_complex_value(scope, t["name"].get<std::string>()))
          complex_reads.insert(resolve(scope, t["name"].get<std::string>()).to_string());
      };
      if (kind == "as_tensor") note(v);
      if (kind == "as_tensors" && v.is_array())
        for (const auto& t : v) note(t);
    }
    std::string args_text, kwargs_text;
    for (const auto& input : inputs) {
      if (!input.is_object() || !input.contains("arg")) bad("an input without 'arg'");
      capture::AtenValue value = decode(input["arg"], scope, n);
      std::string key = input.value("name", "");
      bool keyword = input.value("kind", 1) == 2;
      if (keyword && !key.empty()) {
        kwargs_text += (kwargs_text.empty() ? "" : ", ") + json(key).dump() + ": " + value.to_string();
        call.kwargs.emplace(key, std::move(value));
      } else {
        args_text += (args_text.empty() ? "" : ", ") + value.to_string();
        call.args.push_back(std::move(value));
      }
    }
    n.args_json = "[" + args_text + "]" + (kwargs_text.empty() ? "" : " {" + kwargs_text + "}");
    for (const auto& o : outputs) {
      auto type = tensor_type(scope, o);
      if (!type) bad("output " + q(o) + " has no recorded type");
      n.outputs.push_back(*type);
    }
    n.name = unique_name(outputs.size() == 1 ? outputs[0] : node.value("name", n.aten_op));

    // A read of a value a write through a view made stale: opaque, with the reason.
    std::string stale;
    for (const auto& r : n.reads)
      if (auto it = stale_.find(r); it != stale_.end()) stale = it->second;
    if (!stale.empty()) {
      n.opaque = true;
      n.opaque_reason = stale;
    } else if (ns.empty()) {
      n.opaque = true;
      n.opaque_reason = "not an op call (" + target + ")";
    } else if (ns == "aten" && (!complex_reads.empty() || (outputs.size() == 1 && is_complex_value(scope, outputs[0])))) {
      // Complex values: the call becomes real calls on their pairs (complex_pairs.h), each a
      // node of its own; the result is the last of them, or the input itself for a view.
      if (outputs.size() != 1) {
        n.opaque = true;
        n.opaque_reason = n.aten_op + " on complex tensors with " + std::to_string(outputs.size()) + " results: not rewritten to real pairs";
      } else {
        capture::PairsContext context;
        context.is_pairs = [&](const GraphRef& ref) { return complex_reads.count(ref.to_string()) > 0; };
        context.type_of = [this](const GraphRef& ref) {
          const ops::TensorType* t = graph_.type_of(ref);
          return t ? *t : ops::TensorType{};
        };
        context.emit = [&](capture::AtenCall c, const ops::TensorType& out) { return emit_pairs_call(std::move(c), out, n, outputs[0], scope); };
        std::string why;
        if (auto value = capture::rewrite_complex_call(call, n.outputs.front(), context, why)) {
          scope.names[outputs[0]] = *value;
          return;
        }
        n.opaque = true;
        n.opaque_reason = why;
      }
    } else {
      capture::lower_into(n, call, graph_);
    }
    add_node(std::move(n), outputs, scope);
    const GraphNode& added = graph_.nodes_.back();

    // Views and in-place writes.
    const capture::AtenMapping* mapping = ns == "aten" ? capture::find_aten_mapping(call.name) : nullptr;
    const capture::AtenValue* self = call.args.empty() ? nullptr : &call.args[0];
    if (mapping && mapping->view && self && self->is_tensor() && !call.in_place)
      for (std::size_t k = 0; k < added.outputs.size(); ++k)
        view_base_[GraphRef{added.name, static_cast<int>(k)}.to_string()] = base_of(self->tensor());
    const capture::AtenValue* mutated = call.in_place ? self : nullptr;
    if (auto out = call.kwargs.find("out"); out != call.kwargs.end() && out->second.is_tensor()) mutated = &out->second;
    if (mutated && mutated->is_tensor() && !added.outputs.empty()) {
      const GraphRef& target_ref = mutated->tensor();
      latest_[target_ref.to_string()] = GraphRef{added.name, 0};
      std::string base = base_of(target_ref);
      bool changes_values = call.name != "detach";
      if (base != target_ref.to_string() && changes_values) {
        // Every other view of the same storage, and the storage itself, is now stale.
        std::string why = "reads a value that node '" + added.name + "' (" + added.aten_op +
                          ") wrote into through a view; Twin does not follow writes through views";
        stale_[base.substr(0, base.find('['))] = why;
        for (const auto& [view, of] : view_base_)
          if (of == base && view != target_ref.to_string()) stale_[view.substr(0, view.find('['))] = why;
      }
    }
  }

  // One real call of a complex op's rewrite, as a node in the place (module, source line) of
  // the call it stands for, named after that call's output.
  GraphRef emit_pairs_call(capture::AtenCall call, const ops::TensorType& out, const GraphNode& like,
                           const std::string& output, Scope& scope) {
    GraphNode e;
    e.aten_op = "aten::" + call.name;
    e.module = like.module;
    e.module_type = like.module_type;
    e.source = like.source;
    e.outputs = {out};
    std::string args_text;
    std::function<void(const capture::AtenValue&)> reads = [&](const capture::AtenValue& v) {
      if (v.is_tensor() && std::find(e.reads.begin(), e.reads.end(), v.tensor().name) == e.reads.end()) e.reads.push_back(v.tensor().name);
      if (v.is_list())
        for (const auto& x : v.list()) reads(x);
    };
    for (const auto& a : call.args) {
      reads(a);
      args_text += (args_text.empty() ? "" : ", ") + a.to_string();
    }
    e.args_json = "[" + args_text + "]";
    e.name = unique_name(output + "_" + call.name);
    capture::lower_into(e, call, graph_);
    const std::string name = e.name;
    add_node(std::move(e), {}, scope);
    return GraphRef{name, 0};
  }

  void fill_metadata(GraphNode& n, const json& node) {
    if (!node.contains("metadata") || !node["metadata"].is_object()) return;
    const json& meta = node["metadata"];
    if (meta.contains("nn_module_stack") && meta["nn_module_stack"].is_string())
      std::tie(n.module, n.module_type) = innermost_module(meta["nn_module_stack"].get<std::string>());
    if (meta.contains("stack_trace") && meta["stack_trace"].is_string()) n.source = innermost_source(meta["stack_trace"].get<std::string>());
  }

  void add_node(GraphNode n, const std::vector<std::string>& outputs, Scope& scope) {
    graph_.node_index_[n.name] = graph_.nodes_.size();
    for (std::size_t k = 0; k < outputs.size(); ++k) scope.names[outputs[k]] = GraphRef{n.name, static_cast<int>(k)};
    graph_.nodes_.push_back(std::move(n));
  }

  // ---- higher-order ops ----

  void read_higher_order(const json& node, const std::string& op, Scope& scope) {
    const json& inputs = field(node, "inputs", "node");
    if (!inputs.is_array()) bad("'inputs' is not a list");
    // The body is the first graph argument; the values it receives follow it.
    std::size_t body_at = inputs.size();
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].contains("arg") && inputs[i]["arg"].contains("as_graph")) {
        body_at = i;
        break;
      }
    std::string keep_opaque;
    if (op == "wrap_with_autocast") {
      // (device_type, dtype, enabled, cache_enabled, body, *args): only a disabled region
      // computes exactly what its body says.
      bool enabled = true;
      if (inputs.size() > 2 && inputs[2].contains("arg") && inputs[2]["arg"].contains("as_bool"))
        enabled = inputs[2]["arg"]["as_bool"].get<bool>();
      if (enabled) keep_opaque = "an enabled autocast region: Twin does not apply autocast's casts";
    } else if (op != "wrap_with_set_grad_enabled" && op != "invoke_subgraph") {
      keep_opaque = "a higher-order op Twin does not inline";
    }
    if (body_at == inputs.size() && keep_opaque.empty()) keep_opaque = "a higher-order op without a body graph";
    if (inline_depth_ > 32) keep_opaque = "higher-order ops nest too deep";
    if (!keep_opaque.empty()) {
      GraphNode n;
      n.aten_op = "higher_order::" + op;
      fill_metadata(n, node);
      for (std::size_t i = 0; i < inputs.size(); ++i)
        if (i != body_at && inputs[i].contains("arg")) decode(inputs[i]["arg"], scope, n);
      std::vector<std::string> outputs = output_names(node);
      for (const auto& o : outputs) {
        auto type = tensor_type(scope, o);
        if (!type) bad("output " + q(o) + " has no recorded type");
        n.outputs.push_back(*type);
      }
      n.name = unique_name(node.value("name", op));
      n.opaque = true;
      n.opaque_reason = keep_opaque;
      add_node(std::move(n), outputs, scope);
      return;
    }
    const json& body = field(field(inputs[body_at]["arg"], "as_graph", "the body"), "graph", "the body");
    if (!body.is_object()) bad("the body is not a graph");
    const json& body_inputs = field(body, "inputs", "the body");
    Scope inner{&field(body, "tensor_values", "the body"), {}};
    std::size_t passed = inputs.size() - body_at - 1;
    if (!body_inputs.is_array() || body_inputs.size() != passed)
      bad("the body takes " + std::to_string(body_inputs.size()) + " inputs, the call passes " + std::to_string(passed));
    for (std::size_t i = 0; i < passed; ++i) {
      const json& param = body_inputs[i];
      const json& arg = inputs[body_at + 1 + i].value("arg", json());
      if (!param.contains("as_tensor")) continue;  // a number the body was specialized on
      if (!arg.contains("as_tensor")) bad("body input " + std::to_string(i) + " is a tensor, the call passes " + arg.dump());
      inner.names[field(param["as_tensor"], "name", "body input").get<std::string>()] =
          resolve(scope, field(arg["as_tensor"], "name", "argument").get<std::string>());
    }
    std::string saved = where_;
    ++inline_depth_;
    read_nodes(field(body, "nodes", "the body"), inner);
    --inline_depth_;
    where_ = saved;
    // The call's outputs are the body's.
    const json& body_outputs = field(body, "outputs", "the body");
    std::vector<std::string> outputs = output_names(node);
    std::vector<std::string> results;
    if (body_outputs.is_array())
      for (const auto& o : body_outputs)
        if (o.contains("as_tensor")) results.push_back(field(o["as_tensor"], "name", "body output").get<std::string>());
    if (results.size() != outputs.size())
      bad("the body returns " + std::to_string(results.size()) + " tensors, the call " + std::to_string(outputs.size()));
    for (std::size_t k = 0; k < outputs.size(); ++k) scope.names[outputs[k]] = resolve(inner, results[k]);
  }

  // ---- outputs ----

  void read_outputs(const json& graph, const json& signature, const Scope& top) {
    const json& specs = field(signature, "output_specs", "the signature");
    if (!specs.is_array()) bad("'output_specs' is not a list");
    for (const auto& spec : specs) {
      if (!spec.is_object() || spec.size() != 1) bad("an output spec is not a one-kind object");
      const std::string kind = spec.begin().key();
      const json& s = spec.begin().value();
      const json& arg = s.contains("arg") ? s["arg"] : json();
      std::string name;
      if (arg.contains("as_tensor")) name = field(arg["as_tensor"], "name", "output").get<std::string>();
      else if (arg.contains("name") && arg["name"].is_string()) name = arg["name"].get<std::string>();
      if (kind == "user_output") {
        if (name.empty()) continue;  // None, or a number: not a tensor output
        graph_.outputs_.push_back(resolve(top, name));
      } else if (kind == "buffer_mutation" || kind == "user_input_mutation" || kind == "parameter_mutation") {
        const char* key = kind == "buffer_mutation" ? "buffer_name" : kind == "parameter_mutation" ? "parameter_name" : "user_input_name";
        if (!name.empty()) graph_.buffer_mutations_.push_back({s.value(key, name), resolve(top, name)});
      } else if (kind == "token") {
        continue;
      } else {
        bad("an output of kind '" + kind + "': Twin reads user outputs and mutations");
      }
    }
    (void)graph;
  }
};

Graph read_pt2(std::string_view bytes, const std::string& file, const GraphLoadOptions& options) {
  return ExportLoader(bytes, file, options).load();
}

}  // namespace twin
