// twin capture FILE.py:FACTORY -o OUT.graph|OUT.pt2 [--dtype bf16|f32] [--no-weights]
//
// Runs the Python capture package (capture/twin_capture, docs/capture.md) with an interpreter
// that imports torch. The package lives in the source tree (capture/, found from this file's
// path) or, installed, in <prefix>/share/twin/capture next to bin/twin; $TWIN_CAPTURE_DIR
// overrides both, $TWIN_PYTHON the interpreter.
#include "cli/command.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>

namespace twin::cli {

namespace {

namespace fs = std::filesystem;

bool has_package(const fs::path& dir) {
  std::error_code ec;
  return !dir.empty() && fs::is_regular_file(dir / "twin_capture" / "__main__.py", ec);
}

std::optional<fs::path> capture_package_dir() {
  if (const char* env = std::getenv("TWIN_CAPTURE_DIR"); env && *env) {
    if (has_package(env)) return fs::path(env);
    return std::nullopt;
  }
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "twin" / "capture";
    if (has_package(installed)) return installed;
  }
  // A build tree: the source tree this Twin was configured from (not __FILE__, which a
  // compiler cache may make relative).
  fs::path source = fs::path(TWIN_SOURCE_DIR) / "capture";
  if (has_package(source)) return source;
  return std::nullopt;
}

// Runs argv (argv[0] looked up on PATH) with `pythonpath` prepended to $PYTHONPATH; returns
// its exit status, or -1 if it could not be started or was killed.
int spawn(const std::vector<std::string>& argv, const std::string& pythonpath, bool quiet) {
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::string path = pythonpath;
    if (const char* old = std::getenv("PYTHONPATH"); old && *old) path += ":" + std::string(old);
    setenv("PYTHONPATH", path.c_str(), 1);
    setenv("PYTHONDONTWRITEBYTECODE", "1", 1);  // no __pycache__ beside the user's model
    if (quiet) {
      FILE* null = std::fopen("/dev/null", "w");
      if (null) {
        dup2(fileno(null), 1);
        dup2(fileno(null), 2);
      }
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return -1;
}

// The first interpreter that imports torch: $TWIN_PYTHON, then Debian's /usr/bin/python3
// (the python3 first on PATH may be a separate install without python3-torch), then python3.
std::optional<std::string> find_python(std::vector<std::string>& tried) {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("TWIN_PYTHON"); env && *env) candidates.emplace_back(env);
  candidates.emplace_back("/usr/bin/python3");
  candidates.emplace_back("python3");
  for (const std::string& python : candidates) {
    tried.push_back(python);
    if (spawn({python, "-c", "import torch"}, "", true) == 0) return python;
  }
  return std::nullopt;
}

int capture_main(const Arguments& arguments) {
  std::vector<std::string> forwarded;
  bool have_spec = false, have_output = false;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const std::string& a = arguments[i];
    if (a == "-o" || a == "--output" || a == "--dtype") {
      if (i + 1 >= arguments.size()) throw UsageError(a + " needs a value");
      if (a == "--dtype" && arguments[i + 1] != "bf16" && arguments[i + 1] != "f32")
        throw UsageError("--dtype is bf16 or f32, not '" + arguments[i + 1] + "'");
      if (a != "--dtype") have_output = true;
      forwarded.push_back(a);
      forwarded.push_back(arguments[++i]);
    } else if (a.starts_with("--dtype=")) {
      std::string value = a.substr(8);
      if (value != "bf16" && value != "f32") throw UsageError("--dtype is bf16 or f32, not '" + value + "'");
      forwarded.push_back(a);
    } else if (a.starts_with("--output=")) {
      have_output = true;
      forwarded.push_back(a);
    } else if (a == "--no-weights" || a == "--quiet") {
      forwarded.push_back(a);
    } else if (a.starts_with("-")) {
      unknown_option(a);
    } else {
      if (have_spec) throw UsageError("more than one FILE.py:FACTORY ('" + a + "')");
      have_spec = true;
      forwarded.push_back(a);
    }
  }
  if (!have_spec) throw UsageError("no FILE.py:FACTORY to capture");
  if (!have_output) throw UsageError("no output file (-o OUT.graph or -o OUT.pt2)");

  std::optional<fs::path> package = capture_package_dir();
  if (!package) {
    std::cerr << "twin capture: error: the capture package (twin_capture) is not installed: looked in "
                 "$TWIN_CAPTURE_DIR, <prefix>/share/twin/capture and the source tree\n";
    return kExitBadInput;
  }
  std::vector<std::string> tried;
  std::optional<std::string> python = find_python(tried);
  if (!python) {
    std::string list;
    for (const std::string& t : tried) list += (list.empty() ? "" : ", ") + t;
    std::cerr << "twin capture: error: no Python interpreter here imports torch (tried " << list
              << "); install python3-torch or set TWIN_PYTHON\n";
    return kExitBadInput;
  }
  std::vector<std::string> argv = {*python, "-m", "twin_capture"};
  argv.insert(argv.end(), forwarded.begin(), forwarded.end());
  int status = spawn(argv, package->string(), false);
  if (status < 0) {
    std::cerr << "twin capture: error: running " << *python << " failed\n";
    return kExitBadInput;
  }
  return status == 0 ? kExitSuccess : kExitBadInput;
}

}  // namespace

const CommandSpec kCaptureCommand{
    .name = "capture",
    .usage = "capture FILE.py:FACTORY -o OUT.graph|OUT.pt2 [--dtype bf16|f32] [--no-weights]",
    .summary = "capture a PyTorch model as a .graph or .pt2 file",
    .details = R"(Imports FILE.py, calls FACTORY() for (module, example_inputs), traces the module
(torch.jit.trace on torch < 2.1, torch.export from 2.1) and writes OUT.graph: the ATen graph
with dtypes, shapes and module paths, the parameters, buffers and constants, the example
inputs and the outputs PyTorch computed from them (docs/graph-format.md, docs/capture.md).
With torch >= 2.6, -o OUT.pt2 writes what torch.export.save writes instead, plus the inputs
and outputs beside it in OUT.io.safetensors; Twin reads both the same way.

Options:
  -o, --output FILE        the file to write: OUT.graph, or OUT.pt2 (torch >= 2.6)
  --dtype bf16|f32         convert the module and its floating inputs first (capture in the
                           deployment dtype so that its casts stay in the graph)
  --no-weights             record the parameters' types but not their values (buffers keep
                           theirs); a model whose parameters are on the meta device is
                           traced there, so 7B-sized models capture in seconds
  --quiet                  print nothing on success

Python: $TWIN_PYTHON, then /usr/bin/python3, then python3 on PATH: the first that imports
torch. The package: $TWIN_CAPTURE_DIR, <prefix>/share/twin/capture, the source tree.

Exit status: 0 captured; 2 bad usage, a bad FACTORY, a model that fails to run or trace, or
no Python with torch.)",
    .main = capture_main,
};

}  // namespace twin::cli
