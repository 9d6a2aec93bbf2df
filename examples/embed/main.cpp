// A host program that embeds Twin: the worked example of docs/embedding.md.
//
// It evaluates a string and a file, passes values in and out through globals, registers a
// native C++ function that a script calls, captures what scripts print, shows the
// permission model (a script reads files only under the directories the host allows), and
// loads a captured graph, the first tensor work, which loads libtorch.
// Every step is checked; the program exits 1 if any check fails, so it doubles as a test
// (ctest: embed_example in the main build, embed_find_package against an installed Twin).
//
//   twin_embed_example [EXAMPLE_DIR]    EXAMPLE_DIR holds scripts/ and secret.txt; the graph
//                                       is EXAMPLE_DIR/../llama/reference.graph
#include "interp/interpreter.h"
#include "interp/lib/graph_library.h"
#include "ops/backend_loader.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#ifndef TWIN_EMBED_EXAMPLE_DIR
#define TWIN_EMBED_EXAMPLE_DIR "."
#endif

namespace fs = std::filesystem;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  std::cout << (ok ? "ok    " : "FAIL  ") << what << '\n';
  if (!ok) ++failures;
}

// Runs `f`, which must throw a twin::Error of kind `kind`; returns the error's text.
template <class F>
std::string expect_error(twin::ErrorKind kind, const std::string& what, F&& f) {
  try {
    f();
  } catch (const twin::Error& error) {
    bool ok = error.kind() == kind;
    expect(ok, what + " (got " + twin::error_kind_name(error.kind()) + ")");
    return error.format();
  }
  expect(false, what + " (no error was raised)");
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path example_dir = fs::absolute(argc > 1 ? argv[1] : TWIN_EMBED_EXAMPLE_DIR);
  const fs::path scripts = example_dir / "scripts";  // the one directory scripts may read
  const fs::path secret = example_dir / "secret.txt";  // exists, but outside scripts/

  // 1. Create an interpreter. The host decides what scripts may read and where their
  //    output goes; here everything they print is captured into a string.
  std::string captured;
  twin::Interpreter twin({
      .allowed_read_dirs = {scripts},
      .library_path = {},  // empty: $TWIN_PATH, then the installed standard library
      .output = [&captured](std::string_view text) { captured += text; },
  });

  try {
    // 2. Evaluate a string. The value of a trailing expression statement comes back.
    twin::Value half = twin.eval_string("1/3 + 1/6");
    expect(half.is_rational() && half.to_display() == "1/2", "eval_string: 1/3 + 1/6 is exactly 1/2");

    // 3. Globals in both directions.
    twin.set_global("layers", twin::make_list({"embed", "attn.0", "mlp.0", "attn.1", "mlp.1"}));
    twin.eval_string("let layer_count = len(layers)\nfn square(x) { return x * x }", "setup");
    expect(twin.get_global("layer_count") == twin::Value(5), "get_global: the script saw the host's list");
    expect(twin.get_global("not_defined").is_nil(), "get_global: an undefined name is nil");

    // 4. Call a script function from C++.
    twin::Value squared = twin.call(twin.get_global("square"), {twin::Value(12)});
    expect(squared == twin::Value(144), "call: square(12) == 144");

    // 5. Register a native function. It checks its arguments with twin::args helpers, so a
    //    wrong call becomes a twin::Error that names the script's line.
    std::map<std::string, double> r_ratios = {
        {"embed", 0.0}, {"attn.0", 1.1}, {"mlp.0", 0.9}, {"attn.1", 7.5}, {"mlp.1", 1.0}};
    int measured = 0;
    twin.register_function("measure", [&](twin::CallContext& context, twin::CallArgs& args) -> twin::Value {
      twin::args::expect_count(args, 1, 1, "measure");
      const std::string& name = twin::args::string(args.positional[0], "the layer name", args.location);
      auto it = r_ratios.find(name);
      if (it == r_ratios.end())
        throw twin::Error(twin::ErrorKind::Value, "no measurement for layer " + name, args.location);
      ++measured;
      return twin::Value(it->second);  // an inexact number: measurements are floats
    });
    expect(twin.eval_string("measure(\"attn.1\")").to_double() == 7.5, "register_function: a script calls measure()");

    // 6. Evaluate a file. It uses `layers` and `measure`, `use`s a .rules file beside it,
    //    reads a file in its own directory, prints, and leaves its result in `verdict`.
    captured.clear();
    measured = 0;
    twin.eval_file(scripts / "check.twin");
    expect(measured == 5, "eval_file: the script measured every layer");
    expect(captured == "checked 5 layers; 1 above tolerance 2\n", "set_output: captured \"" + captured.substr(0, captured.find('\n')) + "\"");
    twin::Value verdict = twin.get_global("verdict");
    const twin::Value* failing = verdict.is_map() ? verdict.as_map()->find(twin::Value("failing")) : nullptr;
    expect(failing && failing->is_list() && failing->as_list()->items.size() == 1 &&
               failing->as_list()->items[0] == twin::Value("attn.1"),
           "get_global: verdict.failing == [\"attn.1\"]");
    const twin::Value* notes = verdict.is_map() ? verdict.as_map()->find(twin::Value("notes")) : nullptr;
    expect(notes && notes->is_string() && notes->as_string().rfind("R-ratios", 0) == 0,
           "permissions: the script read notes.txt inside the allowed directory");
    expect(twin.has_global("cleanup"), "use: the ruleset of tolerances.rules is a global");

    // 7. Permissions: reading outside the allowed directories is a Permission error, whether
    //    the script asks (read_text) or the host does (eval_file); the file does exist.
    expect(fs::exists(secret) && !twin.may_read(secret) && twin.may_read(scripts / "notes.txt"),
           "may_read: notes.txt yes, secret.txt no");
    twin.set_global("secret_path", twin::Value(secret.string()));
    std::string message = expect_error(twin::ErrorKind::Permission, "read_text outside the allowed directories is refused",
                                       [&] { twin.eval_string("read_text(secret_path)", "sandbox"); });
    expect(message.find("sandbox:1:") != std::string::npos, "the error names the chunk, line and column");
    expect_error(twin::ErrorKind::Permission, "eval_file outside the allowed directories is refused",
                 [&] { twin.eval_file(secret); });

    // 8. Errors carry a location and the call chain; the interpreter stays usable after one.
    std::string chain = expect_error(twin::ErrorKind::Value, "a runtime error reaches the host as twin::Error",
                                     [&] { twin.eval_string("fn inner(x) { return x / 0 }\nfn outer() { return inner(1) }\nouter()", "chain"); });
    expect(chain.find("chain:1:") != std::string::npos && chain.find("inner") != std::string::npos &&
               chain.find("outer") != std::string::npos,
           "the error shows where and through which calls");
    expect_error(twin::ErrorKind::Value, "a native function's error reaches the host",
                 [&] { twin.eval_string("measure(\"lm_head\")"); });
    expect_error(twin::ErrorKind::Syntax, "a syntax error is a twin::Error too", [&] { twin.eval_string("let = 1"); });
    expect(twin.eval_string("square(3) + 1000") == twin::Value(1009), "the interpreter still works after errors");

    // 9. Tensors. Nothing so far needed one, so libtorch is not loaded yet: Twin loads it
    //    (through its module libtwin_torch.so) the first time a tensor is needed, here the
    //    weights of a captured graph, which the graph library's load_graph() reads. A host
    //    that never needs a tensor never pays for it.
    expect(twin::ops::loaded_tensor_backend().empty(), "no tensor yet: libtorch is not loaded");
    const fs::path llama = example_dir.parent_path() / "llama";
    twin::Interpreter with_graphs({.allowed_read_dirs = {llama}});
    twin::open_graph_library(with_graphs);
    with_graphs.set_global("graph_file", twin::Value((llama / "reference.graph").string()));
    expect(with_graphs.eval_string("len(load_graph(graph_file).parameters)") == twin::Value(21),
           "load_graph: the example Llama's 21 parameters, read through libtorch");
    std::cout << "tensor backend: " << twin::ops::loaded_tensor_backend() << '\n';
  } catch (const twin::Error& error) {
    // Anything a script does wrong arrives here as a twin::Error with file:line:col.
    std::cerr << error.format() << '\n';
    return 1;
  }

  std::cout << (failures == 0 ? "all checks passed\n" : std::to_string(failures) + " check(s) failed\n");
  return failures == 0 ? 0 : 1;
}
