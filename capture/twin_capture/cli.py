"""python3 -m twin_capture FILE.py:FACTORY -o OUT.graph|OUT.pt2 [--dtype bf16|f32] [--no-weights]

The output's extension picks the format: `.pt2` is torch.export's archive plus the sidecar
OUT.io.safetensors (torch >= 2.6), `.graph` Twin's own format (torch.jit.trace on torch < 2.1,
torch.export flattened on torch 2.1 to 2.x). See docs/capture.md."""
import argparse
import importlib.util
import inspect
import os
import sys

from . import CaptureError, source_location
from .meta import has_meta_tensors, install_meta_kernels

USAGE = "python3 -m twin_capture FILE.py:FACTORY -o OUT.graph|OUT.pt2 [--dtype bf16|f32] [--no-weights]"
# The most the flattened graph, re-run op by op, may differ from the model (relative to the
# output's largest magnitude). The same kernels run in the same order, so a faithful capture
# differs by nothing or by last-bit rounding; a graph that misses a write differs by O(1).
REPLAY_TOLERANCE = 1e-3


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CaptureError(f"{message} (usage: {USAGE})")


def _parse(argv):
    parser = _Parser(prog="twin capture", description="Capture a PyTorch model as a Twin .graph file.")
    parser.add_argument("spec", metavar="FILE.py:FACTORY")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.graph|OUT.pt2")
    parser.add_argument("--dtype", choices=["f32", "bf16"], default=None,
                        help="convert the module and its floating inputs before tracing")
    parser.add_argument("--no-weights", action="store_true",
                        help="record parameters' and buffers' types but not their values")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def load_factory(spec):
    path, sep, factory = spec.rpartition(":")
    if not sep or not path or not factory:
        raise CaptureError(f"'{spec}' is not FILE.py:FACTORY")
    if not factory.isidentifier():
        raise CaptureError(f"'{factory}' in '{spec}' is not a Python function name")
    if not os.path.isfile(path):
        raise CaptureError(f"{path}: no such file")
    module_name = "_twin_capture_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    directory = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, directory)  # the model's own helper modules import as they do there
    try:
        spec_obj = importlib.util.spec_from_file_location(module_name, path)
        if spec_obj is None or spec_obj.loader is None:
            raise CaptureError(f"{path}: cannot be imported as Python")
        mod = importlib.util.module_from_spec(spec_obj)
        sys.modules[module_name] = mod
        try:
            spec_obj.loader.exec_module(mod)
        except Exception as e:  # noqa: BLE001
            raise CaptureError(f"{path}: importing it raised {type(e).__name__}{_user_frame(e)}: {_first_line(e)}") from e
    finally:
        pass
    if not hasattr(mod, factory):
        raise CaptureError(f"{path} defines no '{factory}'")
    fn = getattr(mod, factory)
    if not callable(fn):
        raise CaptureError(f"{path}: '{factory}' is not callable")
    return fn


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0] if text else "(no message)"


def _user_frame(e):
    """ " at examples/llama/port.py:57 (in forward)": the innermost frame of the exception's
    traceback in the user's code (not torch's, not this package's), "" when there is none."""
    import traceback

    package = os.path.dirname(os.path.abspath(__file__))
    try:
        import torch
        torch_dir = os.path.dirname(os.path.abspath(torch.__file__))
    except Exception:  # noqa: BLE001 - no torch: every frame is the user's or Python's
        torch_dir = None
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        path = os.path.abspath(frame.filename)
        if frame.filename.startswith("<") or path.startswith(package) or (torch_dir and path.startswith(torch_dir)):
            continue
        return f" at {source_location(path, frame.lineno)} (in {frame.name})"
    return ""


def _call_factory(fn, spec):
    import torch

    try:
        result = fn()
    except Exception as e:  # noqa: BLE001
        raise CaptureError(f"{spec}: the factory raised {type(e).__name__}{_user_frame(e)}: {_first_line(e)}") from e
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CaptureError(f"{spec}: the factory must return (module, example_inputs), got {type(result).__name__}")
    module, inputs = result
    if not isinstance(module, torch.nn.Module):
        raise CaptureError(f"{spec}: the factory's module is a {type(module).__name__}, not a torch.nn.Module")
    if isinstance(inputs, torch.Tensor):
        inputs = (inputs,)
    if not isinstance(inputs, (tuple, list)) or not all(isinstance(t, torch.Tensor) for t in inputs):
        raise CaptureError(f"{spec}: example_inputs must be a tensor or a tuple of tensors")
    return module, list(inputs)


def convert_like_a_checkpoint_load(module, dtype):
    """The module in `dtype` as loading a checkpoint in that dtype leaves it
    (transformers' from_pretrained(torch_dtype=...), vLLM's model loader): parameters and
    persistent buffers converted; buffers the module computes itself and does not save
    (register_buffer(..., persistent=False): RoPE's inv_freq, cos/sin caches) keep the dtype
    they were computed in. `module.to(dtype)` would round those too, which deployments do
    not do, and two ports would then differ by where each rounded its RoPE tables. Complex
    buffers (Meta's `freqs_cis`) are kept whatever their kind: `to(a real dtype)` would drop
    their imaginary parts."""
    kept = []
    for owner in module.modules():
        for name, buffer in owner._buffers.items():
            if buffer is None:
                continue
            computed = name in getattr(owner, "_non_persistent_buffers_set", ())
            if (computed and buffer.is_floating_point()) or buffer.is_complex():
                kept.append((owner, name, buffer.detach().clone()))
    for owner, name, _ in kept:
        owner._buffers[name] = None  # out of module.to's way (it warns on complex buffers)
    module = module.to(dtype)
    for owner, name, buffer in kept:
        owner._buffers[name] = buffer
    return module


def _input_names(module, count):
    try:
        parameters = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = names[:count]
    while len(names) < count:
        names.append(f"input_{len(names)}")
    return names


def _flatten_outputs(value, out):
    import torch

    if isinstance(value, torch.Tensor):
        out.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _flatten_outputs(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _flatten_outputs(v, out)
    elif value is None:
        pass
    else:
        raise CaptureError(f"the model returns a {type(value).__name__}; only tensors and tuples of them are supported")
    return out


def capture(spec, output, dtype=None, with_weights=True):
    """Captures FILE.py:FACTORY into `output`. Returns a one-line summary."""
    import torch

    from .graph import GraphBuilder

    as_pt2 = output.endswith(".pt2")
    major_minor = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2] if x.isdigit())
    if as_pt2 and major_minor < (2, 6):
        raise CaptureError(f"{output}: torch {torch.__version__} cannot write the .pt2 archive Twin reads (torch >= 2.6); "
                           "capture to a .graph file")
    if as_pt2 and not with_weights:
        raise CaptureError(f"{output}: --no-weights writes .graph files only")
    fn = load_factory(spec)
    module, inputs = _call_factory(fn, spec)
    module.eval()
    on_meta = has_meta_tensors(module)
    if on_meta and with_weights:
        raise CaptureError(f"{spec}: the model has parameters or buffers on the meta device (no values); "
                           "capture it with --no-weights")
    if dtype in ("bf16", "f32"):
        target = torch.bfloat16 if dtype == "bf16" else torch.float32
        module = convert_like_a_checkpoint_load(module, target)
        inputs = [t.to(target) if t.is_floating_point() else t for t in inputs]
    if dtype is None:
        floating = [p.dtype for p in module.parameters() if p.is_floating_point()]
        dtype = {torch.bfloat16: "bf16", torch.float16: "f16", torch.float64: "f64"}.get(
            floating[0] if floating else torch.float32, "f32")
    names = _input_names(module, len(inputs))

    stored_values = {}
    if on_meta:
        # Trace on the meta device: every op computes only dtypes and shapes. The buffers that
        # have values (RoPE caches) and the example inputs are recorded with them.
        stored_values = {f"buffer/{name}": b.detach().clone() for name, b in module.named_buffers() if not b.is_meta}
        stored_values.update({f"input/{name}": t for name, t in zip(names, inputs)})
        module = module.to("meta")
        inputs = [t.to("meta") for t in inputs]
        install_meta_kernels()

    try:
        with torch.no_grad():
            eager = _flatten_outputs(module(*inputs), [])
    except CaptureError:
        raise
    except Exception as e:  # noqa: BLE001
        raise CaptureError(f"{spec}: running the model on its example inputs raised {type(e).__name__}{_user_frame(e)}: "
                           f"{_first_line(e)}") from e

    version = torch.__version__
    if as_pt2:
        from . import pt2_capture

        count = pt2_capture.capture(module, inputs, eager, output, dtype, spec)
        return (f"captured {spec} (torch.export, {dtype}, torch {version}): {count} nodes -> {output} "
                f"and {pt2_capture.sidecar_path(output)}")
    use_export = major_minor >= (2, 1)
    builder = GraphBuilder(version, "export" if use_export else "jit.trace", dtype, spec, with_weights)
    builder.stored_values = stored_values
    if use_export:
        from . import export_capture

        refs = export_capture.capture(builder, module, inputs, names)
        concrete = None
    else:
        from .jit_capture import JitFlattener

        refs, concrete = JitFlattener(builder, module, inputs, names).run()
    if len(refs) != len(eager):
        raise CaptureError(f"the captured graph has {len(refs)} outputs, the model returned {len(eager)}")
    builder.set_outputs(refs, eager)
    worst = 0.0
    if concrete is not None and not on_meta:
        for a, b in zip(concrete, eager):
            if a.shape != b.shape or a.dtype != b.dtype:
                raise CaptureError(f"the flattened graph computes {tuple(a.shape)} {a.dtype}, the model {tuple(b.shape)} {b.dtype}")
            if a.is_floating_point():
                denominator = b.double().abs().max().item() or 1.0
                worst = max(worst, (a.double() - b.double()).abs().max().item() / denominator)
            elif not torch.equal(a, b):
                worst = max(worst, 1.0)
    if worst > REPLAY_TOLERANCE:
        # The graph would not be the model's function (an in-place write it did not follow, a
        # value the trace froze): writing it would let a check prove the wrong function.
        raise CaptureError(f"re-running the flattened graph differs from the model by {worst:.3g} (relative, more "
                           f"than {REPLAY_TOLERANCE:g}): the capture does not compute what the model does; "
                           "nothing written")
    try:
        builder.write(output)
    except OSError as e:
        raise CaptureError(f"{output}: {e.strerror}") from e
    method = builder.capture["method"]
    return (f"captured {spec} ({method}, {dtype}{', on the meta device' if on_meta else ''}, torch {version}): "
            f"{len(builder.nodes)} nodes, {len(builder.parameters)} parameters"
            f"{'' if with_weights else ' (without their values)'} -> {output}"
            + (f"; re-running the flattened graph differs from eager by {worst:.3g} (relative)" if worst > 0 else ""))


def main(argv=None):
    try:
        args = _parse(sys.argv[1:] if argv is None else argv)
        try:
            import torch  # noqa: F401
        except ImportError as e:
            raise CaptureError(f"{sys.executable} cannot import torch ({e})") from e
        summary = capture(args.spec, args.output, args.dtype, not args.no_weights)
    except CaptureError as e:
        print(f"twin capture: error: {e}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(summary)
    return 0
