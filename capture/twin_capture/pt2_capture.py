"""Capture with torch >= 2.6: torch.export.export, then exactly what torch.export.save writes
(the `.pt2` archive, read by Twin in C++), plus the inputs/outputs sidecar NAME.io.safetensors:
the example inputs `input.K` and the outputs PyTorch computed eagerly `output.K`, with the
capture's dtype, torch version and FILE.py:FACTORY in its metadata (docs/graph-format.md).

Nothing here rewrites the exported program: Twin reads the archive as torch wrote it (no
decompositions, assertion nodes and higher-order ops included), so a `.pt2` captured here and
one saved by hand from the same model load the same way.
"""
import os

import torch

from . import CaptureError, safetensors_writer

# torch.export.save writes the "pt2" archive format (archive_version 0, export schema 8) from
# torch 2.6 on; earlier versions wrote another layout, which Twin does not read.
MIN_VERSION = (2, 6)


def torch_version():
    parts = torch.__version__.split("+")[0].split(".")
    return tuple(int(p) for p in parts[:2] if p.isdigit())


def sidecar_path(output):
    root, _ = os.path.splitext(output)
    return root + ".io.safetensors"


def capture(module, inputs, eager_outputs, output, dtype, spec):
    """Exports `module` on `inputs`, saves the archive at `output` and the sidecar beside it.
    Returns the exported program's node count."""
    if torch_version() < MIN_VERSION:
        raise CaptureError(f"torch {torch.__version__} writes an older .pt2 layout than Twin reads "
                           f"(torch >= {MIN_VERSION[0]}.{MIN_VERSION[1]}); capture to a .graph file instead")
    try:
        with torch.no_grad():
            exported = torch.export.export(module, tuple(inputs))
    except Exception as e:  # noqa: BLE001
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CaptureError(f"torch.export failed: {type(e).__name__}: {first}") from e
    try:
        torch.export.save(exported, output)
    except OSError as e:
        raise CaptureError(f"{output}: {e.strerror}") from e
    except Exception as e:  # noqa: BLE001
        raise CaptureError(f"torch.export.save failed: {type(e).__name__}: {e}") from e

    # The graph's tensor inputs are the example inputs, in order; its tensor outputs are the
    # model's tensor outputs, flattened as torch's pytree flattens them (None left out).
    tensors = [(f"input.{k}", t) for k, t in enumerate(inputs)]
    tensors += [(f"output.{k}", t) for k, t in enumerate(eager_outputs)]
    metadata = {"dtype": dtype, "torch": torch.__version__, "spec": spec, "format": "twin-io", "version": "1"}
    path = sidecar_path(output)
    try:
        safetensors_writer.write(path, tensors, metadata)
    except OSError as e:
        raise CaptureError(f"{path}: {e.strerror}") from e
    except ValueError as e:
        raise CaptureError(f"{path}: {e}") from e
    return sum(1 for n in exported.graph_module.graph.nodes if n.op == "call_function")
