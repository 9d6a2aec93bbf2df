"""Capture into a `.graph` file through torch.export (torch >= 2.1): the exported program
flattened into Twin's JSON. (With torch >= 2.6 a `.pt2` output keeps torch.export's own
archive instead: pt2_capture.py.)

Flattening follows what Twin's C++ reader of `.pt2` archives does: assertion nodes
(`_assert_tensor_metadata` on every `.to()`) are left out, the bodies of higher-order ops that
only scope the computation (`wrap_with_set_grad_enabled`, a disabled `wrap_with_autocast`) are
inlined, and `None` outputs are left out.

Any failure here is reported as a CaptureError; there is no fallback to torch.jit.trace
(the two give different graphs, and a silent switch would hide that). Untested on the
project's Debian torch (1.13); see docs/capture.md.
"""
import operator
import re

import torch

from . import CaptureError, source_location
from .graph import Ref


def _source_line(meta):
    """Where the model's code made the call, "examples/llama/port.py:57": the innermost frame
    of torch.export's recorded stack_trace ("" when none), as Twin's .pt2 reader reads it."""
    frames = re.findall(r'File "([^"]+)", line (\d+)', meta.get("stack_trace") or "")
    if not frames:
        return ""
    return source_location(*frames[-1])


def _module_path(meta, root_types):
    """The innermost module of a node from node.meta['nn_module_stack'] (an ordered dict of
    key -> (path, type)); paths may be dynamo-style (L['self'].layers[0].mlp)."""
    stack = meta.get("nn_module_stack") or {}
    if not stack:
        return "", root_types.get("", "")
    path, module_type = list(stack.values())[-1]
    path = str(path)
    path = re.sub(r"^L\['self'\]\.?", "", path)
    path = re.sub(r"^L__self___", "", path)
    path = re.sub(r"\[(\d+)\]", r".\1", path)
    path = re.sub(r"\['([^']*)'\]", r".\1", path)
    path = path.lstrip(".")
    if path in root_types:
        return path, root_types[path]
    name = getattr(module_type, "__name__", None) or str(module_type).rsplit(".", 1)[-1].strip("'>")
    return path, name


def _val(node):
    v = node.meta.get("val")
    if v is None:
        v = node.meta.get("tensor_meta")
    return v


def capture(builder, module, inputs, input_names):
    if not hasattr(torch, "export") or not hasattr(torch.export, "export"):
        raise CaptureError(f"torch {torch.__version__} has no torch.export.export")
    try:
        exported = torch.export.export(module, tuple(inputs))
    except Exception as e:  # noqa: BLE001
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CaptureError(f"torch.export failed: {type(e).__name__}: {first}") from e

    try:
        return _flatten(builder, module, exported, inputs, input_names)
    except CaptureError:
        raise
    except Exception as e:  # noqa: BLE001
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CaptureError(f"flattening the torch.export graph failed: {type(e).__name__}: {first}") from e


def _flatten(builder, module, exported, inputs, input_names):
    sig = exported.graph_signature
    to_param = dict(getattr(sig, "inputs_to_parameters", {}) or {})
    to_buffer = dict(getattr(sig, "inputs_to_buffers", {}) or {})
    to_constant = dict(getattr(sig, "inputs_to_lifted_tensor_constants", {}) or {})
    user_inputs = list(getattr(sig, "user_inputs", []) or [])
    state = exported.state_dict
    constants = getattr(exported, "constants", {}) or {}
    root_types = {name: type(m).__name__ for name, m in module.named_modules()}

    refs = {}
    for name, p in module.named_parameters():
        builder.add_parameter(name, p)
    for name, b in module.named_buffers():
        builder.add_buffer(name, b)
    known = {n for n, _ in module.named_parameters()} | {n for n, _ in module.named_buffers()}

    graph = exported.graph_module.graph
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    user_index = 0
    for node in placeholders:
        if node.name in to_param or node.name in to_buffer:
            target = to_param.get(node.name) or to_buffer.get(node.name)
            if target in known:
                refs[node.name] = Ref(target)
            else:
                refs[node.name] = builder.add_constant(state[target])
        elif node.name in to_constant:
            refs[node.name] = builder.add_constant(constants[to_constant[node.name]])
        elif node.name in user_inputs:
            if user_index >= len(inputs):
                raise CaptureError("torch.export's graph has more user inputs than the example inputs")
            refs[node.name] = builder.add_input(input_names[user_index], inputs[user_index])
            user_index += 1
        else:
            raise CaptureError(f"torch.export placeholder '{node.name}' is neither an input, a parameter, a buffer nor a constant")

    def arg(value):
        if isinstance(value, torch.fx.Node):
            if value.name not in refs:
                raise CaptureError(f"node '{value.name}' is used before it is defined")
            return refs[value.name]
        if isinstance(value, (list, tuple)):
            return [arg(v) for v in value]
        if isinstance(value, torch.SymInt):
            raise CaptureError("a symbolic size remained in the exported graph (dynamic shapes are not supported)")
        return value

    outputs = []
    _flatten_graph(builder, exported.graph_module, graph, refs, arg, root_types, outputs)
    user_outputs = list(getattr(sig, "user_outputs", []) or [])
    if user_outputs and len(outputs) > len(user_outputs):
        outputs = outputs[len(outputs) - len(user_outputs):]  # mutated buffers come first
    return outputs


def _is_assertion(target):
    name = getattr(target, "__name__", "") or str(target)
    return any(part in name for part in ("_assert_tensor_metadata", "_assert_scalar", "_assert_async",
                                         "sym_constrain_range", "_functional_assert"))


def _inlined_body(node, graph_module):
    """The body GraphModule and the values it receives, when `node` is a higher-order op Twin
    inlines; else None."""
    name = getattr(node.target, "__name__", str(node.target))
    args = list(node.args)
    if name == "wrap_with_set_grad_enabled":
        body, passed = args[1], args[2:]
    elif name == "wrap_with_autocast":
        if len(args) > 2 and args[2]:
            raise CaptureError(f"torch.export node '{node.name}' is an enabled autocast region; Twin does not apply "
                               "autocast's casts (capture without torch.autocast)")
        body, passed = args[4], args[5:]
    else:
        return None
    if not isinstance(body, torch.fx.Node) or body.op != "get_attr":
        raise CaptureError(f"torch.export node '{node.name}' ({name}) has no body graph")
    return getattr(graph_module, body.target), passed


def _flatten_graph(builder, graph_module, graph, refs, arg, root_types, outputs):
    """Adds `graph`'s call_function nodes to the builder (refs: fx node name -> Ref); the
    graph's outputs are appended to `outputs` (None left out)."""
    for node in graph.nodes:
        if node.op in ("placeholder", "get_attr"):
            continue
        if node.op == "output":
            for v in node.args[0] if isinstance(node.args[0], (list, tuple)) else [node.args[0]]:
                if v is not None:
                    outputs.append(arg(v))
            continue
        if node.op != "call_function":
            raise CaptureError(f"torch.export node '{node.name}' is a {node.op}; only call_function is supported")
        if node.target is operator.getitem:
            source, index = node.args
            source_ref = refs[source.name]
            refs[node.name] = source_ref[index] if isinstance(source_ref, list) else Ref(source_ref.name, index)
            continue
        if _is_assertion(node.target):
            continue
        inlined = _inlined_body(node, graph_module)
        if inlined is not None:
            body, passed = inlined
            placeholders = [n for n in body.graph.nodes if n.op == "placeholder"]
            if len(placeholders) != len(passed):
                raise CaptureError(f"torch.export node '{node.name}': its body takes {len(placeholders)} inputs, "
                                   f"the call passes {len(passed)}")
            inner = dict(refs)
            for p, v in zip(placeholders, passed):
                inner[p.name] = arg(v)
            body_outputs = []

            def inner_arg(value, inner=inner):
                if isinstance(value, torch.fx.Node):
                    if value.name not in inner:
                        raise CaptureError(f"node '{value.name}' is used before it is defined")
                    return inner[value.name]
                if isinstance(value, (list, tuple)):
                    return [inner_arg(v) for v in value]
                return arg(value)

            _flatten_graph(builder, body, body.graph, inner, inner_arg, root_types, body_outputs)
            refs[node.name] = body_outputs if len(body_outputs) != 1 else body_outputs[0]
            continue
        target = node.target
        if not isinstance(target, torch._ops.OpOverload):
            raise CaptureError(f"torch.export node '{node.name}' calls {target}, which is not an ATen operator")
        schema = target._schema
        # Normalise fx's Python-style args/kwargs to the schema: positional, then kwarg-only.
        positional, kw_only = [], {}
        supplied = list(node.args)
        for i, a in enumerate(schema.arguments):
            if i < len(supplied):
                value = supplied[i]
            elif a.name in node.kwargs:
                value = node.kwargs[a.name]
            else:
                continue  # left at its default
            if a.kwarg_only:
                kw_only[a.name] = arg(value)
            else:
                positional.append(arg(value))
        val = _val(node)
        values = list(val) if isinstance(val, (list, tuple)) else [val]
        if any(v is None or not hasattr(v, "dtype") for v in values):
            raise CaptureError(f"torch.export node '{node.name}' ({target}) has no recorded tensor type")
        path, module_type = _module_path(node.meta, root_types)
        name = builder.add_node(schema.name, schema.overload_name, positional, kw_only,
                                [torch.empty(tuple(int(s) for s in v.shape), dtype=v.dtype, device="meta")
                                 for v in values], path, module_type, _source_line(node.meta))
        refs[node.name] = Ref(name)
