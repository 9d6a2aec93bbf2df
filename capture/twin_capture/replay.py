"""Re-runs a .graph file with torch.ops.aten and compares with its stored example outputs.

python3 -m twin_capture.replay FILE.graph...  prints each file's max relative error and node
count; exit 1 if a file's outputs do not match (tolerance 1e-6 at f32, 1e-2 at bf16), 2 if a
file cannot be read. A check of the format's self-containedness, independent of the C++
loader.
"""
import json
import sys

import torch

from . import safetensors_writer
from .graph import DTYPES_BY_NAME

_LAYOUTS = {"strided": torch.strided, "sparse_coo": torch.sparse_coo}
_FORMATS = {"contiguous_format": torch.contiguous_format, "preserve_format": torch.preserve_format,
            "channels_last": torch.channels_last, "channels_last_3d": torch.channels_last_3d}


def load(path):
    metadata, tensors = safetensors_writer.read(path)
    if metadata.get("format") != "twin-graph":
        raise ValueError(f"{path}: not a twin-graph file")
    return json.loads(metadata["graph"]), tensors


def run(graph, tensors, inputs=None):
    values = {}
    for kind in ("inputs", "parameters", "buffers", "constants"):
        for entry in graph[kind]:
            if entry["tensor"] is None:
                raise ValueError(f"{entry['name']} has no stored value (captured with --no-weights)")
            values[entry["name"]] = tensors[entry["tensor"]]
    if inputs:
        values.update(inputs)

    def decode(a):
        if isinstance(a, dict):
            if "ref" in a:
                v = values[a["ref"]]
                return v[a["output"]] if "output" in a else v
            if "dtype" in a:
                return DTYPES_BY_NAME[a["dtype"]]
            if "device" in a:
                return torch.device(a["device"])
            if "layout" in a:
                return _LAYOUTS[a["layout"]]
            if "memory_format" in a:
                return _FORMATS[a["memory_format"]]
            if "float" in a:
                return float(a["float"])
            raise ValueError(f"unknown argument {a}")
        if isinstance(a, list):
            return [decode(x) for x in a]
        return a

    with torch.no_grad():
        for node in graph["nodes"]:
            namespace, name = node["op"].split("::", 1)
            packet = getattr(getattr(torch.ops, namespace), name)
            op = getattr(packet, node.get("overload") or "default")
            result = op(*[decode(a) for a in node["args"]], **{k: decode(v) for k, v in node["kwargs"].items()})
            outs = list(result) if isinstance(result, (tuple, list)) else [result]
            for out, expected in zip(outs, node["outputs"]):
                if list(out.shape) != expected["shape"] or DTYPES_BY_NAME[expected["dtype"]] != out.dtype:
                    raise ValueError(f"node {node['name']}: got {list(out.shape)} {out.dtype}, recorded {expected}")
            values[node["name"]] = result if len(outs) == 1 and not isinstance(result, (tuple, list)) else outs
    return [decode(r) for r in graph["outputs"]]


def relative_error(a, b):
    a, b = a.double(), b.double()
    denominator = b.abs().max().item() or 1.0
    return (a - b).abs().max().item() / denominator


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    status = 0
    for path in argv:
        try:
            graph, tensors = load(path)
            outputs = run(graph, tensors)
        except Exception as e:  # noqa: BLE001
            print(f"{path}: error: {type(e).__name__}: {e}", file=sys.stderr)
            status = 2
            continue
        expected = [tensors[name] for name in graph["example_outputs"]]
        error = max(relative_error(a, b) for a, b in zip(outputs, expected))
        tolerance = 1e-2 if graph["capture"]["dtype"] in ("bf16", "f16") else 1e-6
        ok = error <= tolerance
        print(f"{path}: {len(graph['nodes'])} nodes, max_rel_error {error:.3g} {'ok' if ok else 'MISMATCH'}")
        if not ok and status == 0:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
