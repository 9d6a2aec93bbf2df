#include "interp/lib/stages_library.h"

#include "check/divergence.h"
#include "check/port_inputs.h"
#include "interp/lib/graph_library.h"
#include "interp/lib/json_values.h"
#include "interp/value.h"
#include "stages/plots.h"
#include "stages/stages.h"
#include "util/error.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>

namespace twin {
namespace {

using namespace twin::stages;

Value strings(const std::vector<std::string>& items) {
  auto list = make_list();
  for (const auto& s : items) list->items.emplace_back(s);
  return Value(list);
}

Value doubles(const std::vector<double>& items) {
  auto list = make_list();
  for (double d : items) list->items.emplace_back(d);
  return Value(list);
}

// A chart as a script value: {"title", "x_label", "y_label", "log_y", "diagonal", "x_ticks",
// "hlines": [{"y", "label"}], "series": [{"name", "x", "y", "style", "color"}]}.
Value chart_value(const Chart& c) {
  auto m = make_map();
  m->set(Value("title"), Value(c.title));
  m->set(Value("x_label"), Value(c.x_label));
  m->set(Value("y_label"), Value(c.y_label));
  m->set(Value("log_y"), Value(c.log_y));
  m->set(Value("diagonal"), Value(c.diagonal));
  m->set(Value("x_ticks"), strings(c.x_ticks));
  auto hlines = make_list();
  for (const auto& [y, label] : c.hlines) {
    auto h = make_map();
    h->set(Value("y"), Value(y));
    h->set(Value("label"), Value(label));
    hlines->items.emplace_back(h);
  }
  m->set(Value("hlines"), Value(hlines));
  auto series = make_list();
  for (const auto& s : c.series) {
    auto e = make_map();
    e->set(Value("name"), Value(s.name));
    e->set(Value("x"), doubles(s.x));
    e->set(Value("y"), doubles(s.y));
    e->set(Value("style"), Value(s.style));
    e->set(Value("color"), Value(s.color));
    series->items.emplace_back(e);
  }
  m->set(Value("series"), Value(series));
  return Value(m);
}

// The fields of a chart map a script wrote; every field but "series" may be left out.
Chart chart_from(const Value& v, const std::string& function, const SourceLocation& at) {
  if (!v.is_map()) throw Error(ErrorKind::Type, function + ": a chart is a map {\"title\", \"series\", ...}, not a " + v.type_name(), at);
  const Map& m = *v.as_map();
  auto text = [&](const Map& from, const char* key, const std::string& fallback = "") {
    const Value* x = from.find(Value(key));
    return x && !x->is_nil() ? args::string(*x, function + ": \"" + key + "\"", at) : fallback;
  };
  auto flag = [&](const char* key) {
    const Value* x = m.find(Value(key));
    return x && x->truthy();
  };
  auto list_of = [&](const Map& from, const char* key) -> std::vector<Value> {
    const Value* x = from.find(Value(key));
    if (!x || x->is_nil()) return {};
    if (!x->is_list()) throw Error(ErrorKind::Type, function + ": \"" + key + "\" must be a list, not a " + x->type_name(), at);
    return x->as_list()->items;
  };
  auto numbers = [&](const Map& from, const char* key) {
    std::vector<double> out;
    for (const auto& x : list_of(from, key)) out.push_back(args::number(x, function + ": an element of \"" + key + "\"", at));
    return out;
  };
  Chart c;
  c.title = text(m, "title");
  c.x_label = text(m, "x_label");
  c.y_label = text(m, "y_label");
  c.log_y = flag("log_y");
  c.diagonal = flag("diagonal");
  for (const auto& t : list_of(m, "x_ticks")) c.x_ticks.push_back(t.to_display());
  for (const auto& h : list_of(m, "hlines")) {
    if (!h.is_map()) throw Error(ErrorKind::Type, function + ": an element of \"hlines\" is a map {\"y\", \"label\"}", at);
    const Value* y = h.as_map()->find(Value("y"));
    if (!y) throw Error(ErrorKind::Value, function + ": an element of \"hlines\" has no \"y\"", at);
    c.hlines.emplace_back(args::number(*y, function + ": \"y\" of a line", at), text(*h.as_map(), "label"));
  }
  const Value* series = m.find(Value("series"));
  if (!series) throw Error(ErrorKind::Value, function + ": the chart has no \"series\"", at);
  for (const auto& s : list_of(m, "series")) {
    if (!s.is_map()) throw Error(ErrorKind::Type, function + ": a series is a map {\"name\", \"x\", \"y\", \"style\", \"color\"}", at);
    const Map& e = *s.as_map();
    Series out{text(e, "name"), numbers(e, "x"), numbers(e, "y"), text(e, "style", "line"), text(e, "color", "#1f77b4")};
    if (out.x.size() != out.y.size())
      throw Error(ErrorKind::Value, function + ": series \"" + out.name + "\" has " + std::to_string(out.x.size()) + " x and " +
                                        std::to_string(out.y.size()) + " y values", at);
    if (out.style != "line" && out.style != "points" && out.style != "bars")
      throw Error(ErrorKind::Value, function + ": a series' style is \"line\", \"points\" or \"bars\", not \"" + out.style + "\"", at);
    c.series.push_back(std::move(out));
  }
  return c;
}

// What one stages_pair() holds between calls: the graphs, and what each stage computed that a
// later one reads (the value matches, the mapping, stage 2's per-element errors).
struct PairState {
  Graph reference, port;
  std::optional<check::DivergenceReport> matches;
  std::optional<ComponentMapping> mapping;
  std::optional<Stage2> stage2;
};

// Stage options whose progress reaches the host as the interpreter's diagnostics.
StageOptions options_for(Interpreter& host) {
  StageOptions options;
  options.progress = [&host](const std::string& text) { host.diagnose({Diagnostic::Kind::Progress, "stages", text}); };
  return options;
}

const check::DivergenceReport& matches_of(PairState& s, Interpreter& host) {
  if (!s.matches) {
    host.diagnose({Diagnostic::Kind::Progress, "stages", "value matching (the reference and port runs)"});
    s.matches = check::localize_divergence(s.reference, s.port);
  }
  return *s.matches;
}

const ComponentMapping& mapping_of(PairState& s, Interpreter& host) {
  if (!s.mapping) s.mapping = map_components(s.reference, s.port, matches_of(s, host));
  return *s.mapping;
}

Value json_value(const std::string& text) { return value_from_json(nlohmann::ordered_json::parse(text)); }

class StagesPairValue : public Object {
 public:
  explicit StagesPairValue(std::shared_ptr<PairState> state) : state_(std::move(state)) {}
  std::string type_name() const override { return "stages_pair"; }
  std::string to_string() const override { return "<stages_pair " + state_->reference.file() + " / " + state_->port.file() + ">"; }
  std::vector<std::string> member_names() const override {
    return {"reference_file", "port_file",      "reference_dtype", "port_dtype",  "model_trees",
            "map_components", "component_tests", "error_charts",   "divergences", "teacher_forced"};
  }

  std::optional<Value> member(const std::string& name) override {
    auto state = state_;
    auto method = [&](auto body) {
      return Value(std::make_shared<NativeFunction>("stages_pair." + name, [state, body, name](CallContext& c, CallArgs& a) {
        try {
          return body(*state, c, a);
        } catch (const Error& e) {
          if (e.location().file) throw;
          throw Error(e.kind(), name + ": " + e.message(), a.location);
        }
      }));
    };
    if (name == "reference_file") return Value(state_->reference.file());
    if (name == "port_file") return Value(state_->port.file());
    if (name == "reference_dtype") return Value(std::string(ops::dtype_name(state_->reference.capture_dtype())));
    if (name == "port_dtype") return Value(std::string(ops::dtype_name(state_->port.capture_dtype())));
    if (name == "model_trees")
      return method([](PairState& s, CallContext&, CallArgs& a) {
        args::expect_count(a, 0, 0, "model_trees");
        args::allow_named(a, {}, "model_trees");
        auto out = make_map();
        for (auto [graph, role] : {std::pair{&s.reference, "source"}, {&s.port, "target"}}) {
          auto t = make_map();
          t->set(Value("file"), Value(graph->file()));
          t->set(Value("modules"), Value(graph->module_paths().size()));
          t->set(Value("compressed"), Value(tree_json(*graph, true)));
          t->set(Value("full"), Value(tree_json(*graph, false)));
          t->set(Value("pretty"), Value(graph->module_tree()));
          t->set(Value("flat_paths"), Value(flat_paths(*graph)));
          out->set(Value(role), Value(t));
        }
        auto diff = make_list();
        for (const auto& d : structural_diff(s.reference, s.port)) {
          auto e = make_map();
          e->set(Value("kind"), Value(d.kind));
          e->set(Value("side"), Value(d.side));
          e->set(Value("module"), Value(d.module));
          e->set(Value("expected"), Value(d.expected));
          e->set(Value("reason"), Value(d.reason));
          diff->items.emplace_back(e);
        }
        out->set(Value("diff"), Value(diff));
        return Value(out);
      });
    if (name == "map_components")
      return method([](PairState& s, CallContext& c, CallArgs& a) {
        args::expect_count(a, 0, 0, "map_components");
        args::allow_named(a, {"mapping"}, "map_components");
        ComponentMapping mapping = map_components(s.reference, s.port, matches_of(s, c.interpreter));
        if (const Value* file = a.find_named("mapping"); file && !file->is_nil()) {
          const auto path = c.interpreter.resolve_script_path(args::string(*file, "mapping", a.location), a.location);
          mapping = merge_mapping(s.reference, s.port, std::move(mapping), c.interpreter.read_text(path, a.location), path.string());
        }
        s.mapping = std::move(mapping);
        s.stage2.reset();
        auto out = make_map();
        out->set(Value("entries"), json_value(mapping_json(*s.mapping)));
        auto components = make_list();
        for (const auto& comp : s.mapping->components) {
          auto e = make_map();
          e->set(Value("name"), Value(comp.name));
          e->set(Value("source_modules"), strings(comp.source_modules));
          e->set(Value("target_modules"), strings(comp.target_modules));
          e->set(Value("mapped_by"), Value(comp.how));
          e->set(Value("reason"), Value(comp.reason));
          components->items.emplace_back(e);
        }
        out->set(Value("components"), Value(components));
        return Value(out);
      });
    if (name == "component_tests")
      return method([](PairState& s, CallContext& c, CallArgs& a) {
        args::expect_count(a, 0, 0, "component_tests");
        args::allow_named(a, {"tau_r"}, "component_tests");
        StageOptions options = options_for(c.interpreter);
        if (const Value* t = a.find_named("tau_r")) options.tau_r = args::number(*t, "tau_r", a.location);
        const ComponentMapping& mapping = mapping_of(s, c.interpreter);
        s.stage2 = test_components(s.reference, s.port, mapping, options);
        c.interpreter.diagnose({Diagnostic::Kind::ProgressDone, "stages", ""});
        return json_value(stage2_json(*s.stage2));
      });
    if (name == "error_charts")
      return method([](PairState& s, CallContext&, CallArgs& a) {
        args::expect_count(a, 1, 1, "error_charts");
        args::allow_named(a, {"bins"}, "error_charts");
        if (!s.stage2) throw Error(ErrorKind::Value, "call component_tests() first: the errors are its", a.location);
        const std::string& component = args::string(a.positional[0], "the component name", a.location);
        int bins = 40;
        if (const Value* b = a.find_named("bins")) bins = int(args::integer(*b, "bins", a.location));
        if (bins < 1 || bins > 1000) throw Error(ErrorKind::Value, "bins must be 1 to 1000", a.location);
        for (const auto& r : s.stage2->components) {
          if (r.component->name != component) continue;
          if (r.port_error.empty()) return Value();
          auto out = make_map();
          out->set(Value("qq"), chart_value(qq_chart(component, r.port_error, r.baseline_error)));
          out->set(Value("histogram"), chart_value(histogram_chart(component, r.port_error, r.baseline_error, bins)));
          return Value(out);
        }
        throw Error(ErrorKind::Value, "no component named \"" + component + "\" was tested", a.location);
      });
    if (name == "divergences")
      return method([](PairState& s, CallContext& c, CallArgs& a) {
        args::expect_count(a, 0, 0, "divergences");
        args::allow_named(a, {}, "divergences");
        auto out = make_list();
        for (const auto* d : matches_of(s, c.interpreter).first_per_module()) {
          auto e = make_map();
          e->set(Value("module"), Value(d->module));
          e->set(Value("node"), Value(d->node));
          e->set(Value("op"), Value(d->op));
          e->set(Value("source"), Value(d->source));
          e->set(Value("closest_reference"), Value(d->closest_reference));
          e->set(Value("closest_reference_module"), Value(d->closest_reference_module));
          e->set(Value("rel_error"), Value(d->rel_error));
          e->set(Value("differences"), strings(d->differences));
          out->items.emplace_back(e);
        }
        return Value(out);
      });
    if (name == "teacher_forced")
      return method([](PairState& s, CallContext& c, CallArgs& a) {
        args::expect_count(a, 0, 0, "teacher_forced");
        args::allow_named(a, {"prompt_length", "sequences"}, "teacher_forced");
        int prompt_length = 1;
        if (const Value* p = a.find_named("prompt_length")) prompt_length = int(args::integer(*p, "prompt_length", a.location));
        if (prompt_length < 1) throw Error(ErrorKind::Value, "prompt_length must be at least 1", a.location);
        StageOptions options = options_for(c.interpreter);
        if (const Value* n = a.find_named("sequences")) {
          const long long count = args::integer(*n, "sequences", a.location);
          if (count < 1 || count > kMaxTeacherForcedSequences)
            throw Error(ErrorKind::Value, "sequences must be from 1 to " + std::to_string(kMaxTeacherForcedSequences), a.location);
          options.sequences = int(count);
        }
        const TeacherForced tf = teacher_forced(s.reference, s.port, options, prompt_length);
        c.interpreter.diagnose({Diagnostic::Kind::ProgressDone, "stages", ""});
        // The measurements; whether they pass is the script's decision (its thresholds).
        auto out = make_map();
        out->set(Value("applicable"), Value(tf.applicable));
        out->set(Value("note"), Value(tf.note));
        out->set(Value("length"), Value(tf.length));
        out->set(Value("prompt_length"), Value(tf.prompt_length));
        out->set(Value("causal"), Value(tf.causal));
        auto tokens = make_list();
        for (auto t : tf.tokens) tokens->items.emplace_back(static_cast<long long>(t));
        out->set(Value("tokens"), Value(tokens));
        auto sequences = make_list();
        for (const auto& seq : tf.sequences) {
          auto one = make_list();
          for (auto t : seq) one->items.emplace_back(static_cast<long long>(t));
          sequences->items.emplace_back(one);
        }
        out->set(Value("sequences"), Value(sequences));
        auto positions = make_list();
        for (const auto& p : tf.positions) {
          auto e = make_map();
          e->set(Value("sequence"), Value(p.sequence));
          e->set(Value("position"), Value(p.position));
          e->set(Value("token"), Value(static_cast<long long>(p.token)));
          e->set(Value("r_ratio"), Value(p.r_ratio));
          e->set(Value("cosine"), Value(p.cosine));
          e->set(Value("kl"), Value(p.kl));
          e->set(Value("top1"), Value(p.top1));
          positions->items.emplace_back(e);
        }
        out->set(Value("positions"), Value(positions));
        return Value(out);
      });
    return std::nullopt;
  }

 private:
  std::shared_ptr<PairState> state_;
};

}  // namespace

void open_stages_library(Interpreter& interpreter) {
  interpreter.register_function("stages_pair", [](CallContext& c, CallArgs& a) {
    args::expect_count(a, 2, 2, "stages_pair");
    args::allow_named(a, {}, "stages_pair");
    auto load = [&](const Value& v, const char* what) {
      return read_graph_file(c.interpreter, c.interpreter.resolve_script_path(args::string(v, what, a.location), a.location), a.location);
    };
    Graph reference = load(a.positional[0], "the reference graph's path");
    // A port input the reference computes inside (vLLM's positions) runs at its example value.
    Graph port = check::port_for(reference, load(a.positional[1], "the port graph's path"));
    auto state = std::make_shared<PairState>(PairState{std::move(reference), std::move(port), {}, {}, {}});
    return Value(std::make_shared<StagesPairValue>(std::move(state)));
  });
  interpreter.register_function("svg_chart", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "svg_chart");
    args::allow_named(a, {}, "svg_chart");
    return Value(svg(chart_from(a.positional[0], "svg_chart", a.location)));
  });
  interpreter.register_function("csv_chart", [](CallContext&, CallArgs& a) {
    args::expect_count(a, 1, 1, "csv_chart");
    args::allow_named(a, {}, "csv_chart");
    return Value(csv(chart_from(a.positional[0], "csv_chart", a.location)));
  });
}

}  // namespace twin
