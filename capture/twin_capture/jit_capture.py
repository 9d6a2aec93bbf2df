"""Capture through torch.jit.trace (torch < 2.1): flattens the inlined TorchScript graph.

Each traced value gets a concrete Python value by executing the graph node by node with
`torch.ops.aten` (so shapes, dtypes and the lengths of tensor lists are exact). Nodes that
compute a tensor are emitted; everything that only computes Python scalars or lists
(`prim::Constant`, `prim::ListConstruct`, `aten::size`, `aten::Int`, arithmetic on sizes that
the tracer turned into 0-dim tensors by `prim::NumToTensor`) is folded into literal
arguments.
"""
import os
import re

import torch

from . import CaptureError, source_location
from . import complex_pairs
from .graph import Ref

_SCALAR_TYPES = {
    0: torch.uint8, 1: torch.int8, 2: torch.int16, 3: torch.int32, 4: torch.int64,
    5: torch.float16, 6: torch.float32, 7: torch.float64, 11: torch.bool, 15: torch.bfloat16,
}
_LAYOUTS = {0: torch.strided, 1: torch.sparse_coo}
_MEMORY_FORMATS = {0: torch.contiguous_format, 1: torch.preserve_format, 2: torch.channels_last,
                   3: torch.channels_last_3d}


def _split_top_level(text):
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    if tail:
        parts.append(tail)
    return parts


def _argument_types(schema_text):
    """The declared type of each argument ('ScalarType?', 'Tensor[]', ...), in order."""
    open_paren = schema_text.index("(")
    depth, close = 0, None
    for i in range(open_paren, len(schema_text)):
        if schema_text[i] == "(":
            depth += 1
        elif schema_text[i] == ")":
            depth -= 1
            if depth == 0:
                close = i
                break
    types = []
    for part in _split_top_level(schema_text[open_paren + 1:close]):
        if part == "*":
            continue
        declaration = part.split("=", 1)[0].strip()
        type_text = declaration.rsplit(" ", 1)[0]
        # Drop alias annotations: Tensor(a!) -> Tensor, Tensor(a -> *)[] -> Tensor[]
        while "(" in type_text:
            a = type_text.index("(")
            b = type_text.index(")", a)
            type_text = type_text[:a] + type_text[b + 1:]
        types.append(type_text.replace(" ", ""))
    return types


def _convert(value, type_text):
    """A traced value as the argument type wants it (ScalarType ints become torch.dtype...)."""
    base = type_text.rstrip("?")
    if value is None:
        return None
    if base == "ScalarType" and isinstance(value, int):
        if value not in _SCALAR_TYPES:
            raise CaptureError(f"unsupported scalar type code {value}")
        return _SCALAR_TYPES[value]
    if base == "Layout" and isinstance(value, int):
        return _LAYOUTS[value]
    if base == "MemoryFormat" and isinstance(value, int):
        return _MEMORY_FORMATS[value]
    if base == "Device" and isinstance(value, str):
        return torch.device(value)
    return value


class _Value:
    """What a TorchScript value became: `concrete` is its value; `graph` how the graph refers
    to it (a Ref, a list of graph values, or a literal); `derived` marks 0-dim tensors that
    only carry sizes (prim::NumToTensor and arithmetic on them)."""

    __slots__ = ("concrete", "graph", "derived", "is_tensor_ref")

    def __init__(self, concrete, graph, derived=False, is_tensor_ref=False):
        self.concrete = concrete
        self.graph = graph
        self.derived = derived
        self.is_tensor_ref = is_tensor_ref


class _View:
    """A value that views another (`parent`): `derive(parent_value)` takes the view again (after
    the parent is written), `scatter(parent_value, new_view_value)` gives the parent with the
    view's elements replaced (None where the capture cannot write back through the view), and
    `parent_version` is the parent's write count the view's current value reflects."""

    __slots__ = ("parent", "derive", "scatter", "parent_version")

    def __init__(self, parent, derive, scatter, parent_version):
        self.parent = parent
        self.derive = derive
        self.scatter = scatter
        self.parent_version = parent_version

    @staticmethod
    def identity(parent, parent_version):
        return _View(parent, lambda value: value, lambda parent_value, new: new, parent_version)


def _is_tensor_type(type_text):
    return "Tensor" in type_text


_TORCH_DIR = os.path.dirname(torch.__file__)


def _source_line(node):
    """Where the user's code made the call, "examples/llama/port.py:57": the innermost frame of
    the node's recorded Python stack outside torch itself ("" when none is recorded). The
    stack is jit.trace's source range, one "FILE(LINE): FUNCTION" per frame, innermost first."""
    try:
        frames = node.sourceRange().splitlines()
    except Exception:  # noqa: BLE001 - a node without a recorded range
        return ""
    for frame in frames:
        m = re.match(r"^(.*)\((\d+)\): ", frame)
        if not m:
            continue
        path = m.group(1)
        if path.startswith(_TORCH_DIR) or path.startswith("<"):
            continue
        return source_location(path, m.group(2))
    return ""


def _module_path(scope):
    if not scope:
        return ""
    last = scope.split("/")[-1]
    if last.startswith("__module."):
        return last[len("__module."):]
    if last == "__module":
        return ""
    return last


class JitFlattener:
    def __init__(self, builder, module, inputs, input_names):
        self.b = builder
        self.module = module
        self.inputs = inputs
        self.input_names = input_names
        self.values = {}  # TorchScript Value.unique() -> _Value
        self.attr_paths = {}  # Value.unique() -> dotted attribute path from the model
        self.tensor_names = {}  # id(tensor) -> canonical parameter/buffer name
        # Functionalization (in-place ops): the graph is pure dataflow, so a write through a
        # view must reach the tensor it views, and views taken before the write must be
        # taken again after it. `views` maps a value to the _View it is of its parent;
        # `versions` counts the writes to each value; `attribute_roots` maps an attribute path
        # to the first value read from it (later reads of a written buffer alias it).
        self.views = {}
        self.versions = {}
        self.attribute_roots = {}
        self.module_types = {}
        for name, sub in module.named_modules():
            self.module_types[name] = type(sub).__name__

    def module_type(self, path):
        if path in self.module_types:
            return self.module_types[path]
        # A scope for a module reached some other way: look it up.
        try:
            return type(self.module.get_submodule(path)).__name__
        except AttributeError:
            return ""

    def trace(self):
        try:
            with torch.no_grad():
                traced = torch.jit.trace(self.module, tuple(self.inputs), check_trace=False, strict=False)
        except Exception as e:  # noqa: BLE001 - any tracer failure is the user's to see
            message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise CaptureError(f"torch.jit.trace failed: {type(e).__name__}: {message}") from e
        return traced.inlined_graph

    def run(self):
        graph = self.trace()
        # Parameters and buffers, under their canonical names.
        params = {}
        for name, p in self.module.named_parameters():
            params[name] = self.b.add_parameter(name, p)
            self.tensor_names[id(p)] = name
        for name, t in self.module.named_buffers():
            params[name] = self.b.add_buffer(name, t)
            self.tensor_names[id(t)] = name
        self.param_refs = params

        graph_inputs = list(graph.inputs())
        self_value, tensor_inputs = graph_inputs[0], graph_inputs[1:]
        self.attr_paths[self_value.unique()] = ""
        if len(tensor_inputs) != len(self.inputs):
            raise CaptureError(f"the traced graph has {len(tensor_inputs)} inputs for {len(self.inputs)} example inputs")
        for v, name, t in zip(tensor_inputs, self.input_names, self.inputs):
            self.values[v.unique()] = _Value(t, self.b.add_input(name, t), is_tensor_ref=True)

        with torch.no_grad():
            for node in graph.nodes():
                self.visit(node)

        outputs = []
        concrete_outputs = []
        for v in graph.outputs():
            self._flatten_output(self._current(v.unique()), outputs, concrete_outputs)
        return outputs, concrete_outputs

    # --- outputs ---------------------------------------------------------------------------
    def _flatten_output(self, value, refs, concrete):
        if isinstance(value.graph, list):
            for g, c in zip(value.graph, value.concrete):
                self._flatten_output(_Value(c, g, is_tensor_ref=isinstance(g, Ref)), refs, concrete)
            return
        refs.append(self.as_ref(value))
        concrete.append(value.concrete)

    # --- values as arguments ---------------------------------------------------------------
    def as_ref(self, value):
        """A tensor argument of an emitted node: a Ref (folded 0-dim tensors become constants)."""
        if isinstance(value.graph, Ref):
            return value.graph
        if isinstance(value.concrete, torch.Tensor):
            ref = self.b.add_constant(value.concrete)
            value.graph = ref
            value.derived = False
            return ref
        raise CaptureError(f"expected a tensor, got {value.concrete!r}")

    def graph_arg(self, value):
        if isinstance(value.graph, Ref):
            return value.graph
        if isinstance(value.concrete, torch.Tensor):
            return self.as_ref(value)
        if isinstance(value.graph, list):
            return [self.graph_arg(_Value(c, g)) if not isinstance(g, Ref) else g
                    for g, c in zip(value.graph, value.concrete)]
        return value.graph

    # --- nodes -----------------------------------------------------------------------------
    def visit(self, node):
        kind = node.kind()
        outs = list(node.outputs())
        ins = [self._current(v.unique()) for v in node.inputs()]

        if kind == "prim::GetAttr":
            owner = node.inputsAt(0).unique()
            if owner not in self.attr_paths:
                raise CaptureError(f"prim::GetAttr on a value that is not the model: {node}")
            base = self.attr_paths[owner]
            path = f"{base}.{node.s('name')}" if base else node.s("name")
            self.attr_paths[outs[0].unique()] = path
            if _is_tensor_type(str(outs[0].type())) or path in self.param_refs:
                t = self._attribute(path)
                if isinstance(t, torch.Tensor):
                    name = self.tensor_names.get(id(t))
                    if name is None:
                        ref = self.b.add_constant(t)  # a plain tensor attribute
                    else:
                        ref = self.param_refs[name]
                    self.values[outs[0].unique()] = _Value(t, ref, is_tensor_ref=True)
                    root = self.attribute_roots.setdefault(path, outs[0].unique())
                    if root != outs[0].unique():  # the same tensor read again: the same (maybe written) value
                        self.views[outs[0].unique()] = _View.identity(root, self.versions.get(root, 0) - 1)
            return
        if kind == "prim::Constant":
            v = outs[0]
            value = v.toIValue()
            if isinstance(value, torch.Tensor):
                # Stored as a graph constant only when an emitted node uses it; a 0-dim one
                # combined with sizes (x.shape[-1] // 2) folds like them.
                self.values[v.unique()] = _Value(value, None, derived=value.dim() == 0)
            else:
                self.values[v.unique()] = _Value(value, value)
            return
        if kind in ("prim::ListConstruct", "prim::TupleConstruct"):
            self._require(node, ins)
            self.values[outs[0].unique()] = _Value([i.concrete for i in ins], [i.graph for i in ins],
                                                   derived=all(i.derived for i in ins) and bool(ins))
            return
        if kind in ("prim::ListUnpack", "prim::TupleUnpack"):
            self._require(node, ins)
            source = ins[0]
            if isinstance(source.graph, Ref) and source.is_tensor_ref and isinstance(source.concrete, (list, tuple)):
                # The outputs of a multi-output node (split, chunk, unbind).
                for i, v in enumerate(outs):
                    self.values[v.unique()] = _Value(source.concrete[i], Ref(source.graph.name, i),
                                                     is_tensor_ref=True)
            else:
                if len(source.concrete) != len(outs):
                    raise CaptureError(f"{kind} of {len(source.concrete)} values into {len(outs)}")
                graphs = source.graph if isinstance(source.graph, list) else list(source.concrete)
                for v, c, g in zip(outs, source.concrete, graphs):
                    self.values[v.unique()] = _Value(c, g, derived=source.derived,
                                                     is_tensor_ref=isinstance(g, Ref))
            return
        if kind == "prim::NumToTensor":
            self._require(node, ins)
            number = ins[0].concrete
            dtype = torch.bool if isinstance(number, bool) else torch.int64 if isinstance(number, int) else torch.float64
            self.values[outs[0].unique()] = _Value(torch.tensor(number, dtype=dtype), number, derived=True)
            return
        if kind in ("prim::CallMethod", "prim::CallFunction", "prim::If", "prim::Loop", "prim::PythonOp"):
            raise CaptureError(f"the traced graph contains {kind}, which cannot be flattened "
                               f"(scripted code inside the model?): {str(node).strip()}")
        self.visit_op(node, ins, outs)

    def _require(self, node, ins):
        if any(i is None for i in ins):
            raise CaptureError(f"{node.kind()} uses a value the capture does not know: {str(node).strip()}")

    def _attribute(self, path):
        obj = self.module
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def visit_op(self, node, ins, outs):
        kind = node.kind()
        self._require(node, ins)
        schema_text = node.schema()
        if schema_text == "(no schema)":
            raise CaptureError(f"operator {kind} has no schema; the capture cannot run it: {str(node).strip()}")
        schema = torch._C.parse_schema(schema_text)
        types = _argument_types(schema_text)
        if len(types) != len(schema.arguments) or len(ins) != len(schema.arguments):
            raise CaptureError(f"cannot match the arguments of {schema_text} in {str(node).strip()}")
        namespace, name = schema.name.split("::", 1)
        try:
            op = getattr(getattr(getattr(torch.ops, namespace), name), schema.overload_name or "default")
        except (AttributeError, RuntimeError) as e:
            raise CaptureError(f"operator {schema.name}.{schema.overload_name} is not available in this torch") from e

        args, kwargs, concrete_args, concrete_kwargs = [], {}, [], {}
        for argument, type_text, value in zip(schema.arguments, types, ins):
            c = _convert(value.concrete, type_text)
            if name.endswith("_") and not concrete_args and isinstance(c, torch.Tensor):
                c = c.clone()  # an in-place op: keep the traced value (maybe a parameter) intact
            if argument.kwarg_only:
                concrete_kwargs[argument.name] = c
            else:
                concrete_args.append(c)
            if argument.kwarg_only:
                kwargs[argument.name] = (value, type_text)
            else:
                args.append((value, type_text))

        try:
            result = op(*concrete_args, **concrete_kwargs)
        except Exception as e:  # noqa: BLE001
            raise CaptureError(f"re-running {kind} failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
        results = list(result) if isinstance(result, tuple) else [result]
        if len(results) != len(outs):
            raise CaptureError(f"{kind} returned {len(results)} values for {len(outs)} outputs")

        out_types = [str(o.type()) for o in outs]
        tensor_inputs = [v for v, t in zip(ins, types) if isinstance(v.concrete, torch.Tensor) or "Tensor" in t]
        computes_tensor = any(_is_tensor_type(t) for t in out_types)
        # Size arithmetic: every tensor operand is a folded 0-dim size tensor or a plain number.
        present = [v for v in tensor_inputs if isinstance(v.concrete, (torch.Tensor, list, tuple))]
        sizes_only = bool(present) and all(v.derived and not v.is_tensor_ref for v in present)
        if not computes_tensor or sizes_only:
            for v, r in zip(outs, results):
                self.values[v.unique()] = _Value(r, r.item() if isinstance(r, torch.Tensor) and r.dim() == 0 else r,
                                                 derived=isinstance(r, torch.Tensor))
            return

        def encode_arg(value, type_text):
            return self._arg(_convert(value.graph, type_text) if not isinstance(value.graph, (Ref, list))
                             else value.graph, value, type_text)

        if complex_pairs.involves_complex(concrete_args + list(concrete_kwargs.values()), results):
            # Complex values are recorded as real pairs (complex_pairs.py): the op becomes real ops.
            if len(results) != 1 or not isinstance(results[0], torch.Tensor) or kwargs:
                raise CaptureError(f"{kind} on complex tensors with several results or keyword arguments: not supported")
            path, source = _module_path(node.scopeName()), _source_line(node)

            def emit(op, overload, emitted_args, concrete):
                return Ref(self.b.add_node(op, overload, emitted_args, {}, [concrete], path, self.module_type(path), source))

            ref = complex_pairs.rewrite(kind, [encode_arg(v, t) for v, t in args], concrete_args, results[0], emit,
                                        f" at {source}" if source else "")
            self.values[outs[0].unique()] = _Value(results[0], ref, is_tensor_ref=True)
            return

        overload = schema.overload_name
        if name in ("fill", "fill_") and overload == "Tensor" and len(args) == 2 and not isinstance(args[1][0].graph, Ref) \
                and isinstance(args[1][0].concrete, torch.Tensor) and args[1][0].concrete.dim() == 0:
            # `x[...] = 1.5` traces as fill_ with a constant 0-dim tensor: record the number.
            args[1] = (args[1][0], "Scalar")
            overload = "Scalar"
        graph_args = [encode_arg(v, t) for v, t in args]
        graph_kwargs = {k: encode_arg(v, t) for k, (v, t) in kwargs.items()}
        output_tensors = []
        for r in results:
            if isinstance(r, torch.Tensor):
                output_tensors.append(r)
            elif isinstance(r, (list, tuple)) and all(isinstance(x, torch.Tensor) for x in r):
                output_tensors.extend(r)  # Tensor[]: one output per element
            else:
                raise CaptureError(f"{kind} returns {type(r).__name__} alongside tensors; not supported")
        path = _module_path(node.scopeName())
        source = _source_line(node)
        node_name = self.b.add_node(kind, overload, graph_args, graph_kwargs, output_tensors,
                                    path, self.module_type(path), source)
        if len(outs) == 1 and isinstance(results[0], torch.Tensor):
            self.values[outs[0].unique()] = _Value(results[0], Ref(node_name), is_tensor_ref=True)
        elif len(outs) == 1:  # Tensor[]
            self.values[outs[0].unique()] = _Value(list(results[0]), Ref(node_name), is_tensor_ref=True)
        else:
            for i, (v, r) in enumerate(zip(outs, results)):
                self.values[v.unique()] = _Value(r, Ref(node_name, i), is_tensor_ref=True)

        first = schema.arguments[0].alias_info if schema.arguments else None
        if first is None or not graph_args:
            return
        written = node.inputsAt(0).unique()
        if first.is_write:
            # An in-place op: its result is the new value of its first operand (and of what
            # that operand views); the op's own output is that same tensor.
            where = f" at {source}" if source else ""
            self._write(written, self.values[outs[0].unique()], f"{kind}{where}")
            self.views[outs[0].unique()] = _View.identity(written, self.versions.get(written, 0))
            return
        returned = [r.alias_info for r in schema.returns]
        if not any(r is not None and set(r.before_set) & set(first.before_set) for r in returned):
            return
        # A view of the first operand: remember how to take it again and how a write through it
        # reaches the operand.
        rest_graph, rest_concrete = graph_args[1:], concrete_args[1:]
        module_type = self.module_type(path)

        def derive(parent, i=0):
            concrete = op(parent.concrete, *rest_concrete, **concrete_kwargs)
            concrete_list = list(concrete) if isinstance(concrete, (list, tuple)) else [concrete]
            name = self.b.add_node(kind, schema.overload_name, [self.as_ref(parent)] + rest_graph, graph_kwargs,
                                   concrete_list, path, module_type, source)
            return _Value(concrete_list[i], Ref(name, i) if len(concrete_list) > 1 else Ref(name), is_tensor_ref=True)

        scatter = None
        if len(outs) == 1 and isinstance(results[0], torch.Tensor):
            scatter = self._scatter_for(name, concrete_args, results[0], path, module_type, source)
        parent_version = self.versions.get(written, 0)
        for i, v in enumerate(outs):
            self.views[v.unique()] = _View(written, lambda parent, i=i: derive(parent, i), scatter, parent_version)

    # --- in-place ops ----------------------------------------------------------------------
    def _current(self, unique):
        """The value of a TorchScript value now: a view of a tensor written since the view was
        taken is taken again (a new node on the written value)."""
        view = self.views.get(unique)
        if view is None:
            return self.values.get(unique)
        parent = self._current(view.parent)
        version = self.versions.get(view.parent, 0)
        if view.parent_version != version and parent is not None:
            self.values[unique] = view.derive(parent)
            view.parent_version = version
            self.versions[unique] = self.versions.get(unique, 0) + 1
        return self.values.get(unique)

    def _write(self, unique, value, what):
        """`value` is the new value of `unique`, written by `what`: it reaches every tensor
        `unique` is a view of, each as the tensor with the view's elements replaced."""
        while True:
            self.values[unique] = value
            self.versions[unique] = self.versions.get(unique, 0) + 1
            view = self.views.get(unique)
            if view is None:
                return
            if view.scatter is None:
                raise CaptureError(f"{what} writes through a view the capture cannot write back "
                                   f"(only slice, select, reshape-like views and transposes): not supported")
            parent = self._current(view.parent)
            value = view.scatter(parent, value)
            view.parent_version = self.versions.get(view.parent, 0) + 1  # consistent with the parent written next
            unique = view.parent

    def _scatter_for(self, name, args, view_value, path, module_type, source):
        """How a new value of a `name` view (of args[0], with these arguments) becomes the new
        value of the viewed tensor; None for views it cannot write back."""
        def emit(op_name, emitted_args, concrete):
            overload = "int" if op_name == "aten::transpose" else ""
            ref = Ref(self.b.add_node(op_name, overload, emitted_args, {}, [concrete], path, module_type, source))
            return _Value(concrete, ref, is_tensor_ref=True)

        base = args[0]
        if name == "slice":
            dim, start, end, step = (list(args[1:]) + [0, None, None, 1][len(args) - 1:])[:4]
            dim = dim % base.dim()
            start = 0 if start is None else start
            if step == 1 and start == 0 and (end is None or end >= base.shape[dim]):
                return lambda parent, new: new
            return lambda parent, new: emit("aten::slice_scatter", [self.as_ref(parent), self.as_ref(new), dim, start, end, step],
                                            torch.slice_scatter(parent.concrete, new.concrete, dim, start, end, step))
        if name == "select":
            dim, index = args[1], args[2]
            return lambda parent, new: emit("aten::select_scatter", [self.as_ref(parent), self.as_ref(new), dim, index],
                                            torch.select_scatter(parent.concrete, new.concrete, dim, index))
        if name in ("view", "reshape", "_unsafe_view", "unsqueeze", "squeeze", "flatten", "unflatten", "view_as",
                    "reshape_as", "alias", "detach", "contiguous", "_reshape_alias"):
            def reshape_back(parent, new):
                if tuple(new.concrete.shape) == tuple(parent.concrete.shape):
                    return new
                shape = list(parent.concrete.shape)
                return emit("aten::reshape", [self.as_ref(new), shape], new.concrete.reshape(shape))
            return reshape_back
        if name in ("transpose", "swapaxes"):
            d0, d1 = args[1], args[2]
            return lambda parent, new: emit("aten::transpose", [self.as_ref(new), d0, d1], new.concrete.transpose(d0, d1))
        if name == "t":
            return lambda parent, new: (new if new.concrete.dim() < 2 else
                                        emit("aten::transpose", [self.as_ref(new), 0, 1], new.concrete.t()))
        if name == "permute":
            dims = [d % base.dim() for d in args[1]]
            inverse = [dims.index(i) for i in range(len(dims))]
            return lambda parent, new: emit("aten::permute", [self.as_ref(new), inverse], new.concrete.permute(inverse))
        return None

    def _arg(self, literal, value, type_text):
        """The graph form of one argument of an emitted node."""
        if isinstance(value.graph, Ref):
            if isinstance(value.concrete, (list, tuple)):  # a whole Tensor[] passed on
                return [Ref(value.graph.name, i) for i in range(len(value.concrete))]
            return value.graph
        if isinstance(value.graph, list):
            items = []
            element_type = type_text.rstrip("?")
            element_type = element_type[:-2] if element_type.endswith("[]") else element_type
            for g, c in zip(value.graph, value.concrete):
                if isinstance(g, Ref):
                    items.append(g)
                elif isinstance(c, torch.Tensor) and "Tensor" in element_type:
                    items.append(self.as_ref(_Value(c, g, derived=True)))
                elif isinstance(c, torch.Tensor):
                    items.append(c.item())
                else:
                    items.append(_convert(g, element_type))
            return items
        if isinstance(value.concrete, torch.Tensor):
            if "Tensor" in type_text:
                return self.as_ref(value)
            return value.concrete.item()  # a 0-dim size tensor passed as a Scalar
        return literal
