"""The graph being written: names, tensors and the JSON of docs/graph-format.md."""
import json
import math

import torch

from . import FORMAT, VERSION, CaptureError, safetensors_writer

DTYPE_NAMES = {
    torch.float32: "f32",
    torch.float16: "f16",
    torch.bfloat16: "bf16",
    torch.float64: "f64",
    torch.int64: "i64",
    torch.int32: "i32",
    torch.int16: "i16",
    torch.int8: "i8",
    torch.uint8: "u8",
    torch.bool: "bool",
}
DTYPES_BY_NAME = {v: k for k, v in DTYPE_NAMES.items()}

LAYOUT_NAMES = {torch.strided: "strided", torch.sparse_coo: "sparse_coo"}
MEMORY_FORMAT_NAMES = {
    torch.contiguous_format: "contiguous_format",
    torch.preserve_format: "preserve_format",
    torch.channels_last: "channels_last",
    torch.channels_last_3d: "channels_last_3d",
}


def dtype_name(dtype):
    if dtype not in DTYPE_NAMES:
        raise ValueError(f"dtype {dtype} has no name in the graph format")
    return DTYPE_NAMES[dtype]


def tensor_type(t):
    if t.is_complex():  # recorded as real pairs (complex_pairs.py): shape + [2]
        return {"dtype": dtype_name(t.real.dtype), "shape": list(t.shape) + [2]}
    return {"dtype": dtype_name(t.dtype), "shape": list(t.shape)}


class Ref:
    """A tensor value in the graph: a named value, or output `output` of a multi-output node."""

    __slots__ = ("name", "output")

    def __init__(self, name, output=None):
        self.name = name
        self.output = output

    def to_json(self):
        if self.output is None:
            return {"ref": self.name}
        return {"ref": self.name, "output": self.output}


def encode(value):
    """A Python argument value (already concrete, refs as Ref) as graph JSON."""
    if isinstance(value, Ref):
        return value.to_json()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return {"float": "nan"}
        if math.isinf(value):
            return {"float": "inf" if value > 0 else "-inf"}
        return value
    if isinstance(value, torch.dtype):
        return {"dtype": dtype_name(value)}
    if isinstance(value, torch.device):
        # A model traced on the meta device (captured without weights) runs on the CPU.
        return {"device": "cpu" if value.type == "meta" else str(value)}
    if isinstance(value, torch.layout):
        return {"layout": LAYOUT_NAMES.get(value, str(value).replace("torch.", ""))}
    if isinstance(value, torch.memory_format):
        return {"memory_format": MEMORY_FORMAT_NAMES.get(value, str(value).replace("torch.", ""))}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, complex):
        raise ValueError(f"complex argument {value} has no representation in the graph format")
    raise ValueError(f"argument {value!r} of type {type(value).__name__} has no representation in the graph format")


class GraphBuilder:
    def __init__(self, torch_version, method, dtype, source, with_weights=True):
        self.torch_version = torch_version
        self.capture = {"method": method, "dtype": dtype, "source": source}
        self.with_weights = with_weights
        self.names = set()
        self.inputs = []
        self.parameters = []
        self.buffers = []
        self.constants = []
        self.nodes = []
        self.outputs = []
        self.example_outputs = []
        self.tensors = []  # (safetensors name, tensor)
        # Values for tensors traced on the meta device, by safetensors name ("buffer/NAME",
        # "input/NAME"): what the model had before it was moved there.
        self.stored_values = {}
        self.op_counts = {}

    def _claim(self, name):
        base, k = name, 1
        while name in self.names:
            name = f"{base}_{k}"
            k += 1
        self.names.add(name)
        return name

    def _store(self, kind, name, t, keep=True):
        if not keep:
            return None
        key = f"{kind}/{name}"
        if t.is_meta:
            t = self.stored_values.get(key)
            if t is None:
                if kind in ("parameter", "buffer", "output"):
                    return None  # no value to record: the type is still there
                raise CaptureError(f"{kind} {name} was computed on the meta device and has no value to record")
        self.tensors.append((key, torch.view_as_real(t.detach()).contiguous() if t.is_complex() else t.detach()))
        return key

    def add_input(self, name, t):
        name = self._claim(name)
        self.inputs.append({"name": name, **tensor_type(t), "tensor": self._store("input", name, t)})
        return Ref(name)

    def add_parameter(self, name, t):
        self._claim(name)
        self.parameters.append(
            {"name": name, **tensor_type(t), "tensor": self._store("parameter", name, t, self.with_weights)})
        return Ref(name)

    def add_buffer(self, name, t):
        self._claim(name)
        # Buffers keep their values even without weights: RoPE caches and the like are small,
        # and the port's are its own constants, not converted weights.
        self.buffers.append({"name": name, **tensor_type(t), "tensor": self._store("buffer", name, t)})
        return Ref(name)

    def add_constant(self, t):
        name = self._claim(f"constant_{len(self.constants)}")
        self.constants.append({"name": name, **tensor_type(t), "tensor": self._store("constant", name, t)})
        return Ref(name)

    def add_node(self, op, overload, args, kwargs, outputs, module, module_type, source=""):
        """outputs: the concrete output tensors; source: where the model's code made the call
        ("examples/llama/port.py:57", "" when unknown). Returns the node's name."""
        short = op.split("::", 1)[-1]
        k = self.op_counts.get(short, 0)
        self.op_counts[short] = k + 1
        name = self._claim(f"{short}_{k}")
        self.nodes.append({
            "name": name,
            "op": op,
            "overload": overload,
            "args": [encode(a) for a in args],
            "kwargs": {key: encode(v) for key, v in kwargs.items()},
            "outputs": [tensor_type(t) for t in outputs],
            "module": module,
            "module_type": module_type,
            **({"source": source} if source else {}),
        })
        return name

    def set_outputs(self, refs, example_outputs):
        self.outputs = [r.to_json() for r in refs]
        self.example_outputs = []
        for i, t in enumerate(example_outputs):
            self.example_outputs.append(self._store("output", str(i), t))

    def to_json(self):
        return {
            "format": FORMAT,
            "version": VERSION,
            "torch_version": self.torch_version,
            "capture": self.capture,
            "inputs": self.inputs,
            "parameters": self.parameters,
            "buffers": self.buffers,
            "constants": self.constants,
            "nodes": self.nodes,
            "outputs": self.outputs,
            "example_outputs": self.example_outputs,
        }

    def write(self, path):
        graph_text = json.dumps(self.to_json(), separators=(",", ":"), allow_nan=False)
        metadata = {"format": FORMAT, "version": str(VERSION), "graph": graph_text}
        safetensors_writer.write(path, self.tensors, metadata)
