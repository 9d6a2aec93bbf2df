"""Complex tensors as pairs of reals, the way Twin's graphs hold them.

Meta's reference Llama (and ports written after it) apply RoPE in complex arithmetic:
`view_as_complex(x.reshape(..., -1, 2)) * freqs_cis`, then `view_as_real(...).flatten(3)`,
with `freqs_cis = polar(ones, angles)` a complex buffer. Twin's graphs have no complex dtype;
a complex tensor of shape S is recorded as its `view_as_real`: a real tensor of shape S + [2]
(real part, imaginary part). The capture rewrites the ops on complex values into real ops on
those pairs, exactly:

  view_as_complex(x), view_as_real(z)  the same pairs (no node)
  view / reshape(z, S)                 reshape(pairs, S + [2])
  slice(z, d, ...), select(z, d, i)    the same on the pairs, a negative dim d counted as d - 1
                                       (`freqs_cis[:seq_len]`)
  mul(z, w)                            stack([a c - b d, a d + b c], -1), a, b, c, d the parts
  polar(r, t)                          stack([r cos t, r sin t], -1)

Any other op on a complex value is refused with a CaptureError naming it, never recorded
wrongly.
"""

import torch

from . import CaptureError


def is_complex(value):
    return isinstance(value, torch.Tensor) and value.is_complex()


def as_pairs(t):
    """The recorded form of a tensor: a complex one as its real pairs."""
    return torch.view_as_real(t).contiguous() if t.is_complex() else t


ALIASES = {"aten::view_as_complex", "aten::view_as_real"}
SUPPORTED = ALIASES | {"aten::view", "aten::reshape", "aten::mul", "aten::polar", "aten::slice", "aten::select"}


def involves_complex(concrete_inputs, results):
    return any(is_complex(v) for v in list(concrete_inputs) + list(results))


def rewrite(kind, graph_args, concrete_args, result, emit, where):
    """The pairs Ref for `result` (a complex or real tensor computed from complex values),
    emitting real nodes through `emit(op, overload, args, concrete_output) -> Ref`.
    `graph_args` are the node's arguments in graph form (Refs for tensors), `concrete_args` their
    values."""
    if kind not in SUPPORTED:
        raise CaptureError(f"{kind} on a complex tensor{where}: Twin records complex tensors as real pairs "
                           f"and rewrites only {', '.join(sorted(SUPPORTED))}")
    if kind in ALIASES:
        return graph_args[0]
    if kind in ("aten::view", "aten::reshape"):
        shape = list(graph_args[1]) + [2]
        return emit("aten::reshape", "", [graph_args[0], shape], as_pairs(result))
    if kind in ("aten::slice", "aten::select"):
        # A dim of the complex tensor is the same dim of its pairs; counted from the end, one
        # further (the pair dim is last).
        dim = concrete_args[1] if len(concrete_args) > 1 else 0
        args = list(graph_args)
        if len(args) > 1:
            args[1] = dim - 1 if dim < 0 else dim
        overload = "Tensor" if kind == "aten::slice" else "int"
        return emit(kind, overload, args, as_pairs(result))
    if kind == "aten::polar":
        r, t = graph_args[0], graph_args[1]
        rc, tc = concrete_args[0], concrete_args[1]
        real = emit("aten::mul", "Tensor", [r, emit("aten::cos", "", [t], torch.cos(tc))], rc * torch.cos(tc))
        imag = emit("aten::mul", "Tensor", [r, emit("aten::sin", "", [t], torch.sin(tc))], rc * torch.sin(tc))
        return emit("aten::stack", "", [[real, imag], -1], as_pairs(result))
    # mul: both complex (a scalar or real factor would need its own form: refused).
    z, w = concrete_args[0], concrete_args[1]
    if not (is_complex(z) and is_complex(w)):
        raise CaptureError(f"aten::mul of a complex and a real tensor{where}: not rewritten to real pairs")
    zp, wp = as_pairs(z), as_pairs(w)
    a, b, c, d = zp[..., 0], zp[..., 1], wp[..., 0], wp[..., 1]

    def part(ref, pairs, index):
        return emit("aten::select", "int", [ref, -1, index], pairs[..., index])

    ra, rb = part(graph_args[0], zp, 0), part(graph_args[0], zp, 1)
    rc, rd = part(graph_args[1], wp, 0), part(graph_args[1], wp, 1)
    ac = emit("aten::mul", "Tensor", [ra, rc], a * c)
    bd = emit("aten::mul", "Tensor", [rb, rd], b * d)
    ad = emit("aten::mul", "Tensor", [ra, rd], a * d)
    bc = emit("aten::mul", "Tensor", [rb, rc], b * c)
    real = emit("aten::sub", "Tensor", [ac, bd], a * c - b * d)
    imag = emit("aten::add", "Tensor", [ad, bc], a * d + b * c)
    return emit("aten::stack", "", [[real, imag], -1], as_pairs(result))
