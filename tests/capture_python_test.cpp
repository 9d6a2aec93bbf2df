// `twin capture` (cli/capture_command.cpp + capture/twin_capture): the shipped capture tool
// captures examples/llama/reference.py into a .graph file whose JSON names the model's
// modules, and the committed example graphs replay (re-run with torch.ops) to their stored
// outputs. Skipped, with a message, where no Python interpreter imports torch.
#include "tests/support.h"

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace fs = std::filesystem;

namespace {

const std::string kTwin = TWIN_BINARY_DIR "/twin";
const std::string kSource = TWIN_SOURCE_DIR;

using twin::testing::Outcome;
using twin::testing::shell;

std::string python_with_torch() {
  for (const char* python : {"/usr/bin/python3", "python3"})
    if (shell(std::string(python) + " -c 'import torch'").status == 0) return python;
  return "";
}

const char* kCheckGraph = R"PY(
import json, struct, sys
path, committed = sys.argv[1], sys.argv[2]
def graph(p):
    with open(p, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    assert header["__metadata__"]["format"] == "twin-graph", header["__metadata__"].keys()
    return header, json.loads(header["__metadata__"]["graph"])
header, g = graph(path)
assert g["format"] == "twin-graph" and g["version"] == 1
assert g["torch_version"], "no torch_version"
assert g["capture"]["dtype"] == "f32" and g["capture"]["method"] in ("jit.trace", "export")
modules = {n["module"] for n in g["nodes"]}
for want in ("layers.0.self_attn.q_proj", "layers.0.mlp", "norm", "lm_head"):
    assert any(m == want or m.startswith(want + ".") for m in modules), (want, sorted(modules))
ops = {n["op"] for n in g["nodes"]}
for want in ("aten::linear", "aten::softmax", "aten::silu", "aten::embedding"):
    assert want in ops, (want, sorted(ops))
assert [i["name"] for i in g["inputs"]] == ["input_ids"], g["inputs"]
assert any(p["name"] == "layers.0.self_attn.q_proj.weight" for p in g["parameters"])
for entry in g["inputs"] + g["parameters"] + g["buffers"] + g["constants"]:
    assert entry["tensor"] in header, entry
assert len(g["outputs"]) == 1 and len(g["example_outputs"]) == 1
assert header[g["example_outputs"][0]]["shape"] == [1, 8, 100]
# Each node records where reference.py made the call (the innermost frame outside torch).
sources = [n.get("source", "") for n in g["nodes"]]
assert any(s.startswith("examples/llama/reference.py:") for s in sources), sources[:5]
assert not any("torch/" in s for s in sources), [s for s in sources if "torch/" in s][:3]
_, c = graph(committed)
assert len(c["nodes"]) == len(g["nodes"]), ("re-captured", len(g["nodes"]), "committed", len(c["nodes"]))
print("nodes", len(g["nodes"]))
)PY";

// What `python3 SCRIPT file.graph` prints: `body` run with the graph's JSON as `g` (the script
// is named so that it shadows no module of Python's).
fs::path write_graph_query(twin::testing::TempDir& dir, const std::string& body) {
  return dir.write("graph_query.py",
                   "import json, struct, sys\n"
                   "with open(sys.argv[1], 'rb') as f:\n"
                   "    n = struct.unpack('<Q', f.read(8))[0]\n"
                   "    g = json.loads(json.loads(f.read(n))['__metadata__']['graph'])\n" +
                       body);
}

}  // namespace

TEST_CASE("twin capture: examples/llama/reference.py at f32, and the committed graphs replay") {
  std::string python = python_with_torch();
  if (python.empty()) {
    MESSAGE("skipped: no Python interpreter here imports torch");
    return;
  }
  REQUIRE_MESSAGE(fs::exists(kTwin), "the twin binary is not built: build the twin_cli target first");
  twin::testing::TempDir dir;
  fs::path out = dir.path / "reference.graph";
  Outcome captured = shell("cd '" + kSource + "' && '" + kTwin + "' capture examples/llama/reference.py:model -o '" +
                           out.string() + "' --dtype f32");
  INFO(captured.output);
  REQUIRE(captured.status == 0);
  REQUIRE(fs::exists(out));

  fs::path checker = dir.write("check.py", kCheckGraph);
  Outcome checked = shell(python + " '" + checker.string() + "' '" + out.string() + "' '" + kSource +
                          "/examples/llama/reference.graph'");
  INFO(checked.output);
  CHECK(checked.status == 0);

  Outcome replayed = shell("cd '" + kSource + "' && PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=capture " + python +
                           " -m twin_capture.replay '" + out.string() +
                           "' examples/llama/*.graph examples/llama/bugs/*.graph examples/llama/precision/*.graph"
                           " examples/llama/variants/*.graph examples/gpt2/*.graph examples/gpt2/variants/*.graph"
                           " examples/gpt2/bugs/*.graph");
  INFO(replayed.output);
  CHECK(replayed.status == 0);
}

TEST_CASE("twin capture: a bad FACTORY exits 2 with a one-line message") {
  if (python_with_torch().empty()) {
    MESSAGE("skipped: no Python interpreter here imports torch");
    return;
  }
  twin::testing::TempDir dir;
  dir.write("m.py", "import torch\ndef model():\n    raise ValueError('no weights here')\n");
  Outcome raised = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' capture m.py:model -o out.graph");
  CHECK(raised.status == 2);
  // The user's frame is named: the file and line that raised, and the function.
  CHECK(raised.output.find("factory raised ValueError at m.py:3 (in model): no weights here") != std::string::npos);
  Outcome missing = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' capture m.py:other -o out.graph");
  CHECK(missing.status == 2);
  CHECK(missing.output.find("defines no 'other'") != std::string::npos);
  Outcome spec = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' capture m.py -o out.graph");
  CHECK(spec.status == 2);
  CHECK(!fs::exists(dir.path / "out.graph"));
}

TEST_CASE("twin capture: an error inside the model names the user's file and line, not torch's") {
  if (python_with_torch().empty()) {
    MESSAGE("skipped: no Python interpreter here imports torch");
    return;
  }
  twin::testing::TempDir dir;
  dir.write("m.py",
            "import torch\n"
            "class M(torch.nn.Module):\n"
            "    def forward(self, x):\n"
            "        return torch.matmul(x, x)\n"
            "def model():\n"
            "    return M(), (torch.randn(2, 3),)\n");
  Outcome raised = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' capture m.py:model -o out.graph");
  CHECK(raised.status == 2);
  CHECK_MESSAGE(raised.output.find("raised RuntimeError at m.py:4 (in forward): ") != std::string::npos, raised.output);
  CHECK(!fs::exists(dir.path / "out.graph"));
}

TEST_CASE("twin capture --dtype bf16: weights and saved buffers become bf16; buffers a module computes keep their dtype") {
  // As loading a checkpoint in bf16 leaves a model (from_pretrained(torch_dtype=...), vLLM):
  // RoPE's inv_freq (persistent=False) stays f32, so a reference and a port round their RoPE
  // tables where the code casts them, not where module.to() would.
  std::string python = python_with_torch();
  if (python.empty()) {
    MESSAGE("skipped: no Python interpreter here imports torch");
    return;
  }
  twin::testing::TempDir dir;
  dir.write("m.py",
            "import torch\n"
            "class M(torch.nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.lin = torch.nn.Linear(4, 4, bias=False)\n"
            "        self.register_buffer('computed', torch.arange(4, dtype=torch.float32) / 3, persistent=False)\n"
            "        self.register_buffer('saved', torch.full((4,), 1 / 3))\n"
            "    def forward(self, x):\n"
            "        return self.lin(x) * self.computed.to(x.dtype) + self.saved\n"
            "def model():\n"
            "    torch.manual_seed(0)\n"
            "    return M(), (torch.randn(2, 4),)\n");
  Outcome captured = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' capture m.py:model -o out.graph --dtype bf16");
  INFO(captured.output);
  REQUIRE(captured.status == 0);
  fs::path reader = write_graph_query(dir, "for e in g['parameters'] + g['buffers']:\n    print(e['name'], e['dtype'])\n");
  Outcome dtypes = shell(python + " '" + reader.string() + "' '" + (dir.path / "out.graph").string() + "'");
  INFO(dtypes.output);
  CHECK(dtypes.output.find("lin.weight bf16") != std::string::npos);
  CHECK(dtypes.output.find("saved bf16") != std::string::npos);
  CHECK(dtypes.output.find("computed f32") != std::string::npos);
}

TEST_CASE("twin capture: complex RoPE (Meta's reference style) is recorded as real pairs and replays; other complex ops are refused") {
  if (python_with_torch().empty()) {
    MESSAGE("skipped: no Python interpreter here imports torch");
    return;
  }
  twin::testing::TempDir dir;
  const std::string rope =
      "import torch\n"
      "def freqs_cis(dim, end):\n"
      "    freqs = 1.0 / (10000.0 ** (torch.arange(0, dim, 2).float() / dim))\n"
      "    angles = torch.outer(torch.arange(end).float(), freqs)\n"
      "    return torch.polar(torch.ones_like(angles), angles)\n"
      "class M(torch.nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.wq = torch.nn.Linear(32, 32, bias=False)\n"
      "        self.register_buffer('freqs_cis', freqs_cis(8, 12), persistent=False)\n"
      "    def forward(self, x):\n"
      "        q = self.wq(x).view(1, 6, 4, 8)\n"
      "        q_ = torch.view_as_complex(q.float().reshape(1, 6, 4, -1, 2))\n"
      "        out = torch.view_as_real(q_ * self.freqs_cis[:6].view(1, 6, 1, 4)).flatten(3)\n"
      "        return OUT\n"
      "def model():\n"
      "    torch.manual_seed(0)\n"
      "    return M(), (torch.randn(1, 6, 32),)\n";
  auto with = [&](const std::string& out) {
    std::string text = rope;
    text.replace(text.find("OUT"), 3, out);
    return text;
  };
  dir.write("meta.py", with("out.type_as(q)"));
  Outcome captured = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' capture meta.py:model -o meta.graph");
  INFO(captured.output);
  REQUIRE(captured.status == 0);
  dir.write("replay.twin", "let g = load_graph(args[0])\nlet r = g.replay()\nprint(r.max_rel_error)\nassert r.ok\n");
  Outcome replayed = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' run replay.twin meta.graph");
  INFO(replayed.output);
  CHECK(replayed.status == 0);
  // No complex dtype in the file: the buffer is its real pairs, f32[12, 4, 2] (sliced to the
  // sequence as Meta's `freqs_cis[:seqlen]` does: a slice of the pairs).
  fs::path reader = write_graph_query(dir,
                                      "print([(b['name'], b['dtype'], b['shape']) for b in g['buffers']])\n"
                                      "print(sorted({o['dtype'] for n in g['nodes'] for o in n['outputs']}))\n");
  Outcome types = shell(python_with_torch() + " '" + reader.string() + "' '" + (dir.path / "meta.graph").string() + "'");
  INFO(types.output);
  CHECK(types.output.find("('freqs_cis', 'f32', [12, 4, 2])") != std::string::npos);
  CHECK(types.output.find("complex") == std::string::npos);
  // At --dtype bf16 the complex buffer keeps its imaginary parts (module.to(bf16) would drop
  // them, with only a warning), and the capture still replays.
  Outcome bf16 = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' capture meta.py:model -o meta16.graph --dtype bf16 2>&1" +
                       " && '" + kTwin + "' run replay.twin meta16.graph");
  INFO(bf16.output);
  CHECK(bf16.status == 0);
  CHECK(bf16.output.find("discards the imaginary part") == std::string::npos);
  // An op on complex values the capture does not rewrite is refused, by name, with the line.
  dir.write("abs.py", with("q_.abs()"));
  Outcome refused = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' capture abs.py:model -o abs.graph");
  CHECK(refused.status == 2);
  CHECK_MESSAGE(refused.output.find("aten::abs on a complex tensor at abs.py:") != std::string::npos, refused.output);
  CHECK(!fs::exists(dir.path / "abs.graph"));
}

TEST_CASE("twin capture: in-place writes through views (a KV cache) reach the viewed tensor; a view it cannot write back is refused") {
  if (python_with_torch().empty()) {
    MESSAGE("skipped: no Python interpreter here imports torch");
    return;
  }
  // The graph is pure dataflow: `out[:, :, pos] = k` on a clone of a cache buffer must make
  // later reads of `out` (and of views of it taken before the write) see the write, as eager
  // PyTorch does. Twin's own evaluation of the captured graph (replay) is the judge.
  twin::testing::TempDir dir;
  const std::string cache =
      "import torch\n"
      "class M(torch.nn.Module):\n"
      "    def __init__(self):\n"
      "        super().__init__()\n"
      "        self.register_buffer('cache', torch.zeros(1, 2, 10, 4), persistent=False)\n"
      "        self.w = torch.nn.Linear(4, 4, bias=False)\n"
      "    def forward(self, x):\n"
      "        out = self.cache.clone()\n"
      "        out[:, :, torch.arange(6)] = self.w(x)\n"
      "        out[:, 1, 7:9] = 1.5\n"
      "        t = out.transpose(2, 3)\n"
      "        t[:, :, 0].add_(1.0)\n"
      "        out.mul_(2.0)\n"
      "        EXTRA\n"
      "        return out.sum(-1) + t.sum(-2)\n"
      "def model():\n"
      "    torch.manual_seed(0)\n"
      "    return M(), (torch.randn(1, 2, 6, 4),)\n";
  auto with = [&](const std::string& extra) {
    std::string text = cache;
    text.replace(text.find("EXTRA"), 5, extra);
    return text;
  };
  dir.write("cache.py", with("pass"));
  Outcome captured = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' capture cache.py:model -o cache.graph 2>&1");
  INFO(captured.output);
  REQUIRE(captured.status == 0);
  CHECK(captured.output.find("differs") == std::string::npos);
  dir.write("replay.twin", "let g = load_graph(args[0])\nlet r = g.replay()\nprint(r.max_rel_error)\nassert r.ok\n");
  Outcome replayed = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' run replay.twin cache.graph 2>&1");
  INFO(replayed.output);
  CHECK(replayed.status == 0);
  // A write through a view with no functional inverse here (a diagonal) is refused, by line.
  dir.write("diagonal.py", with("out.diagonal(dim1=2, dim2=3).fill_(3.0)"));
  Outcome refused = shell("cd '" + dir.path.string() + "' && '" + kTwin + "' capture diagonal.py:model -o diagonal.graph 2>&1");
  CHECK(refused.status == 2);
  CHECK_MESSAGE(refused.output.find("writes through a view the capture cannot write back") != std::string::npos, refused.output);
  CHECK_MESSAGE(refused.output.find("diagonal.py:") != std::string::npos, refused.output);
  CHECK(!fs::exists(dir.path / "diagonal.graph"));
}
