// load_graph() and the graph, module, replay and tensor values of scripts (docs/graphs.md).
// Reading a graph file goes through Interpreter::read_text, so the same permission model as
// read_text and `use` applies; relative paths resolve against the calling script's directory.
#include "interp/lib/graph_library.h"

#include "capture/graph.h"
#include "capture/graph_runner.h"
#include "util/error.h"
#include "interp/script_budget.h"

#include <functional>
#include <sstream>

namespace twin {

namespace {

Value dims_value(const std::vector<std::int64_t>& shape) {
  auto list = make_list();
  for (auto d : shape) list->items.emplace_back(static_cast<long long>(d));
  return Value(list);
}

class TensorValue : public Object {
 public:
  explicit TensorValue(ops::Tensor t) : tensor_(std::move(t)) {}
  std::string type_name() const override { return "tensor"; }
  std::string to_string() const override { return "tensor " + tensor_.to_string(8); }
  std::vector<std::string> member_names() const override { return {"shape", "dtype", "numel", "to_list"}; }
  std::optional<Value> member(const std::string& name) override {
    if (name == "shape") return dims_value(tensor_.shape());
    if (name == "dtype") return Value(std::string(ops::dtype_name(tensor_.dtype())));
    if (name == "numel") return Value(static_cast<long long>(tensor_.numel()));
    if (name == "to_list") {
      ops::Tensor t = tensor_;
      return Value(std::make_shared<NativeFunction>("tensor.to_list", [t](CallContext&, CallArgs& a) {
        args::expect_count(a, 0, 0, "to_list");
        reserve_memory(bytes_for(static_cast<std::size_t>(t.numel()), sizeof(Value) + sizeof(double)), a.location);
        std::vector<double> values = t.to_doubles();
        bool integral = !ops::is_floating(t.dtype());
        auto shape = t.shape();
        std::size_t at = 0;
        std::function<Value(std::size_t)> build = [&](std::size_t dim) -> Value {
          if (dim == shape.size()) {
            double v = values[at++];
            if (t.dtype() == ops::DType::Bool) return Value(v != 0);
            if (integral) return Value(static_cast<long long>(v));
            return Value(v);
          }
          auto list = make_list();
          for (std::int64_t i = 0; i < shape[dim]; ++i) list->items.push_back(build(dim + 1));
          return Value(list);
        };
        return build(0);
      }));
    }
    return std::nullopt;
  }
  const ops::Tensor& tensor() const { return tensor_; }

 private:
  ops::Tensor tensor_;
};

class ModuleValue : public Object {
 public:
  ModuleValue(std::shared_ptr<const Graph> graph, const GraphModule* module) : graph_(std::move(graph)), module_(module) {}
  std::string type_name() const override { return "module"; }
  std::string to_string() const override {
    if (module_->path.empty()) return graph_->module_tree();
    return "module " + module_->path + (module_->type.empty() ? "" : ": " + module_->type);
  }
  std::vector<std::string> member_names() const override {
    return {"name", "path", "type", "children", "parameters", "node_count", "tree", "find"};
  }
  std::optional<Value> member(const std::string& name) override {
    if (name == "name") return Value(module_->name);
    if (name == "path") return Value(module_->path);
    if (name == "type") return Value(module_->type);
    if (name == "node_count") return Value(module_->node_count);
    if (name == "tree") return Value(graph_->module_tree());
    if (name == "parameters") {
      auto list = make_list();
      for (const auto& p : module_->parameters) list->items.emplace_back(p);
      return Value(list);
    }
    if (name == "children") {
      auto list = make_list();
      for (const auto& c : module_->children) list->items.emplace_back(std::make_shared<ModuleValue>(graph_, c.get()));
      return Value(list);
    }
    if (name == "find") {
      auto graph = graph_;
      const GraphModule* m = module_;
      return Value(std::make_shared<NativeFunction>("module.find", [graph, m](CallContext&, CallArgs& a) {
        args::expect_count(a, 1, 1, "find");
        const GraphModule* found = m->find(args::string(a.positional[0], "the module path", a.location));
        return found ? Value(std::make_shared<ModuleValue>(graph, found)) : Value();
      }));
    }
    return std::nullopt;
  }

 private:
  std::shared_ptr<const Graph> graph_;
  const GraphModule* module_;
};

Value tensor_entry(const GraphTensor& t) {
  auto m = make_map();
  m->set(Value("name"), Value(t.name));
  m->set(Value("dtype"), Value(std::string(ops::dtype_name(t.type.dtype))));
  m->set(Value("shape"), dims_value(t.type.shape));
  m->set(Value("stored"), Value(t.value.has_value()));
  return Value(m);
}

Value node_entry(const GraphNode& n) {
  auto m = make_map();
  m->set(Value("name"), Value(n.name));
  m->set(Value("op"), Value(n.aten_op));
  m->set(Value("twin_op"), Value(n.twin_op()));
  m->set(Value("module"), Value(n.module));
  m->set(Value("module_type"), Value(n.module_type));
  m->set(Value("dtype"), n.outputs.empty() ? Value() : Value(std::string(ops::dtype_name(n.outputs[0].dtype))));
  m->set(Value("shape"), n.outputs.empty() ? Value() : dims_value(n.outputs[0].shape));
  auto types = make_list();
  for (const auto& o : n.outputs) types->items.emplace_back(o.to_string());
  m->set(Value("outputs"), Value(types));
  auto reads = make_list();
  for (const auto& r : n.reads) reads->items.emplace_back(r);
  m->set(Value("inputs"), Value(reads));
  m->set(Value("args"), Value(n.args_json));
  m->set(Value("source"), Value(n.source));
  m->set(Value("opaque"), Value(n.opaque));
  if (n.opaque) m->set(Value("opaque_reason"), Value(n.opaque_reason));
  return Value(m);
}

class ReplayValue : public Object {
 public:
  ReplayValue(ReplayResult r, std::string file) : r_(std::move(r)), file_(std::move(file)) {}
  std::string type_name() const override { return "replay"; }
  std::string to_string() const override {
    std::ostringstream out;
    out << "replay " << file_ << ": " << (r_.ok ? "ok" : "MISMATCH") << ", max_rel_error " << format_double(r_.max_rel_error)
        << " (tolerance " << format_double(r_.tolerance) << ")";
    for (const auto& o : r_.outputs)
      out << "\n  " << o.name << ": rel " << format_double(o.rel_error) << ", max abs " << format_double(o.max_abs_error)
          << (o.ok ? "" : "  MISMATCH");
    return out.str();
  }
  std::vector<std::string> member_names() const override { return {"ok", "max_rel_error", "tolerance", "outputs"}; }
  std::optional<Value> member(const std::string& name) override {
    if (name == "ok") return Value(r_.ok);
    if (name == "max_rel_error") return Value(r_.max_rel_error);
    if (name == "tolerance") return Value(r_.tolerance);
    if (name == "outputs") {
      auto list = make_list();
      for (const auto& o : r_.outputs) {
        auto m = make_map();
        m->set(Value("name"), Value(o.name));
        m->set(Value("rel_error"), Value(o.rel_error));
        m->set(Value("max_abs_error"), Value(o.max_abs_error));
        m->set(Value("max_abs_reference"), Value(o.max_abs_reference));
        m->set(Value("ok"), Value(o.ok));
        list->items.emplace_back(m);
      }
      return Value(list);
    }
    return std::nullopt;
  }

 private:
  ReplayResult r_;
  std::string file_;
};

// A script value as an input tensor: a tensor value, or nested lists of numbers in the
// input's recorded shape.
ops::Tensor input_tensor(const Value& v, const GraphTensor& input, const SourceLocation& at) {
  if (auto t = v.as<TensorValue>()) return t->tensor();
  if (!v.is_list()) throw Error(ErrorKind::Type, "run: input " + input.name + " must be a tensor or a list, not a " + v.type_name(), at);
  std::vector<double> values;
  std::vector<std::int64_t> shape;
  std::function<void(const Value&, std::size_t)> walk = [&](const Value& x, std::size_t depth) {
    if (x.is_list()) {
      // Deeper than the input's rank is wrong anyway; stopping there also ends a list that
      // contains itself.
      if (depth >= input.type.shape.size())
        throw Error(ErrorKind::Value, "run: input " + input.name + " nests lists deeper than its " +
                                          std::to_string(input.type.shape.size()) + " dimensions (" +
                                          input.type.to_string() + ")",
                    at);
      if (shape.size() <= depth) shape.push_back(static_cast<std::int64_t>(x.as_list()->items.size()));
      else if (shape[depth] != static_cast<std::int64_t>(x.as_list()->items.size()))
        throw Error(ErrorKind::Value, "run: input " + input.name + " is a ragged list", at);
      for (const auto& item : x.as_list()->items) walk(item, depth + 1);
    } else if (x.is_bool()) {
      values.push_back(x.as_bool() ? 1 : 0);
    } else {
      values.push_back(args::number(x, "an element of input " + input.name, at));
    }
  };
  walk(v, 0);
  if (shape != input.type.shape)
    throw Error(ErrorKind::Value, "run: input " + input.name + " has shape " + ops::TensorType{input.type.dtype, shape}.to_string() +
                                      ", the graph expects " + input.type.to_string(), at);
  return ops::Tensor::from_doubles(values, shape, input.type.dtype);
}

class GraphValue : public Object {
 public:
  explicit GraphValue(std::shared_ptr<const Graph> g) : graph_(std::move(g)) {}
  std::string type_name() const override { return "graph"; }
  std::string to_string() const override { return graph_->summary(); }
  std::vector<std::string> member_names() const override {
    return {"file",    "torch_version", "capture_dtype", "capture_method", "nodes", "node",
            "modules", "module_paths",  "module_tree",   "parameters",     "buffers", "constants",
            "inputs",  "outputs",       "opaque_ops",    "unknown_ops",    "replay",  "run",
            "format",  "example_source"};
  }
  std::optional<Value> member(const std::string& name) override {
    const Graph& g = *graph_;
    auto graph = graph_;
    auto method = [&](auto body) {
      return Value(std::make_shared<NativeFunction>("graph." + name, [graph, body](CallContext& c, CallArgs& a) {
        return body(*graph, c, a);
      }));
    };
    auto tensors = [](const std::vector<GraphTensor>& list) {
      auto out = make_list();
      for (const auto& t : list) out->items.push_back(tensor_entry(t));
      return Value(out);
    };
    if (name == "file") return Value(g.file());
    if (name == "torch_version") return Value(g.torch_version());
    if (name == "capture_dtype") return Value(std::string(ops::dtype_name(g.capture_dtype())));
    if (name == "capture_method") return Value(g.capture_method());
    if (name == "parameters") return tensors(g.parameters());
    if (name == "buffers") return tensors(g.buffers());
    if (name == "constants") return tensors(g.constants());
    if (name == "inputs") return tensors(g.inputs());
    if (name == "outputs") {
      auto out = make_list();
      for (const auto& o : g.outputs()) out->items.emplace_back(o.to_string());
      return Value(out);
    }
    if (name == "nodes") {
      auto out = make_list();
      for (const auto& n : g.nodes()) out->items.push_back(node_entry(n));
      return Value(out);
    }
    if (name == "node")
      return method([](const Graph& g, CallContext&, CallArgs& a) {
        args::expect_count(a, 1, 1, "node");
        const GraphNode* n = g.find_node(args::string(a.positional[0], "the node name", a.location));
        return n ? node_entry(*n) : Value();
      });
    if (name == "opaque_ops") {
      auto out = make_list();
      for (const auto& o : g.opaque_ops()) out->items.emplace_back(o);
      return Value(out);
    }
    if (name == "unknown_ops") {
      auto out = make_list();
      for (const auto& o : g.opaque_summary()) {
        auto m = make_map();
        m->set(Value("op"), Value(o.op));
        m->set(Value("count"), Value(static_cast<long long>(o.count)));
        auto modules = make_list();
        for (const auto& path : o.modules) modules->items.emplace_back(path);
        m->set(Value("modules"), Value(modules));
        m->set(Value("reason"), Value(o.reason));
        out->items.emplace_back(m);
      }
      return Value(out);
    }
    if (name == "format") return Value(g.format());
    if (name == "example_source") return Value(std::string(example_source_name(g.example_source())));
    if (name == "modules") return Value(std::make_shared<ModuleValue>(graph_, &g.modules()));
    if (name == "module_tree") return Value(g.module_tree());
    if (name == "module_paths") {
      auto out = make_list();
      for (const auto& p : g.module_paths()) out->items.emplace_back(p);
      return Value(out);
    }
    if (name == "replay")
      return method([](const Graph& g, CallContext&, CallArgs& a) {
        args::expect_count(a, 0, 0, "replay");
        args::allow_named(a, {}, "replay");
        try {
          return Value(std::make_shared<ReplayValue>(replay_graph(g), g.file()));
        } catch (const Error& e) {
          throw Error(e.kind(), e.message(), a.location);
        }
      });
    if (name == "run")
      return method([](const Graph& g, CallContext&, CallArgs& a) {
        args::expect_count(a, 0, 1, "run");
        args::allow_named(a, {"inputs", "dtype", "keep"}, "run");
        const Value* inputs = a.positional.empty() ? a.find_named("inputs") : &a.positional[0];
        RunOptions options;
        if (auto d = a.find_named("dtype")) {
          if (!d->is_nil()) {
            auto mode = parse_run_mode(args::string(*d, "dtype", a.location));
            if (!mode)
              throw Error(ErrorKind::Value, "run: dtype must be \"captured\", \"f32\" or \"bf16\", not \"" + d->as_string() + "\"",
                          a.location);
            options.mode = *mode;
          }
        }
        if (auto k = a.find_named("keep"); k && !k->is_nil()) {
          if (!k->is_list()) throw Error(ErrorKind::Type, "run: keep must be a list of names", a.location);
          options.keep = std::vector<std::string>{};
          for (const auto& item : k->as_list()->items) options.keep->push_back(args::string(item, "a name in keep", a.location));
        }
        std::map<std::string, ops::Tensor> given;
        if (inputs && !inputs->is_nil()) {
          if (!inputs->is_map()) throw Error(ErrorKind::Type, "run: inputs must be a map from input names to tensors", a.location);
          for (const auto& [key, v] : inputs->as_map()->entries) {
            const std::string& n = args::string(key, "an input name", a.location);
            const GraphTensor* in = nullptr;
            for (const auto& i : g.inputs())
              if (i.name == n) in = &i;
            if (!in) throw Error(ErrorKind::Value, "run: the graph has no input '" + n + "'", a.location);
            given[n] = input_tensor(v, *in, a.location);
          }
        }
        RunResult r;
        try {
          r = run_graph(g, given, options);
        } catch (const Error& e) {
          throw Error(e.kind(), e.message(), a.location);
        }
        auto out = make_map();
        for (auto& [n, tensors] : r.values) {
          if (tensors.size() == 1 && !(g.find_node(n) && g.find_node(n)->outputs.size() > 1)) {
            out->set(Value(n), make_tensor_value(tensors[0]));
          } else {
            auto list = make_list();
            for (auto& t : tensors) list->items.push_back(make_tensor_value(t));
            out->set(Value(n), Value(list));
          }
        }
        return Value(out);
      });
    return std::nullopt;
  }

 private:
  std::shared_ptr<const Graph> graph_;
};

}  // namespace

Graph read_graph_file(Interpreter& interpreter, const std::filesystem::path& path, const SourceLocation& where,
                      GraphLoadOptions options) {
  std::string bytes = interpreter.read_text(path, where);  // permission and existence checks
  // A torch.export archive's inputs and outputs: NAME.io.safetensors beside it, read with the
  // same permission check.
  std::filesystem::path sidecar = Graph::io_sidecar_path(path);
  std::error_code ec;
  if (!options.io_sidecar && bytes.rfind("PK", 0) == 0 && std::filesystem::is_regular_file(sidecar, ec)) {
    options.io_sidecar = interpreter.read_text(sidecar, where);
    options.io_sidecar_file = sidecar.string();
  }
  return Graph::parse(bytes, path.string(), options);
}

Value make_tensor_value(ops::Tensor tensor) { return Value(std::make_shared<TensorValue>(std::move(tensor))); }

void open_graph_library(Interpreter& interpreter) {
  interpreter.register_function("load_graph", [](CallContext& c, CallArgs& a) {
    args::expect_count(a, 1, 1, "load_graph");
    args::allow_named(a, {"inputs"}, "load_graph");
    std::filesystem::path path = c.interpreter.resolve_script_path(args::string(a.positional[0], "the path", a.location), a.location);
    GraphLoadOptions options;
    if (auto inputs = a.find_named("inputs"); inputs && !inputs->is_nil()) {
      if (!inputs->is_map()) throw Error(ErrorKind::Type, "load_graph: inputs must be a map from input names to tensors", a.location);
      for (const auto& [key, v] : inputs->as_map()->entries) {
        const std::string& input = args::string(key, "an input name", a.location);
        auto t = v.as<TensorValue>();
        if (!t) throw Error(ErrorKind::Type, "load_graph: the example input given for '" + input + "' is not a tensor", a.location);
        options.inputs[input] = t->tensor();
      }
    }
    try {
      return Value(std::make_shared<GraphValue>(std::make_shared<const Graph>(read_graph_file(c.interpreter, path, a.location, options))));
    } catch (const Error& e) {
      throw Error(e.kind() == ErrorKind::Assertion ? ErrorKind::Value : e.kind(), "load_graph: " + e.message(), a.location);
    }
  });
}

}  // namespace twin
