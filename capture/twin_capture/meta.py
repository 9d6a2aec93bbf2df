"""Building a model without its weights, for `twin capture --no-weights`.

A 7B model's f32 weights are 27 GB; its graph needs none of them. Inside `meta_parameters()`,
every parameter a module creates lives on PyTorch's meta device: it has a dtype and a shape
but no storage, and initializing it costs nothing. Buffers computed in a constructor (RoPE
caches) keep their values.

    from twin_capture.meta import meta_parameters

    def reference_7b():
        with meta_parameters():
            model = LlamaForCausalLM(Llama7BConfig)
        return model, example_inputs(Llama7BConfig)

`twin capture ... --no-weights` then traces the model on the meta device (see docs/capture.md).
"""
import contextlib

import torch
from torch import nn


@contextlib.contextmanager
def meta_parameters():
    """Within this block, parameters are created on the meta device (no memory, no init).

    `torch.empty` without a device allocates on the meta device (what nn.Linear and
    nn.Embedding create their weights with, so their initializers run on nothing), and every
    parameter registered on a module is moved there (`nn.Parameter(torch.ones(n))` in an
    RMSNorm). Other tensors (buffers, constants) are created as usual.
    """
    original_empty = torch.empty
    original_register = nn.Module.register_parameter

    def empty(*args, **kwargs):
        if kwargs.get("device") is None:
            kwargs["device"] = "meta"
        return original_empty(*args, **kwargs)

    def register_parameter(self, name, param):
        if param is not None and not param.is_meta:
            param = nn.Parameter(param.detach().to("meta"), requires_grad=param.requires_grad)
        original_register(self, name, param)

    torch.empty = empty
    nn.Module.register_parameter = register_parameter
    try:
        yield
    finally:
        torch.empty = original_empty
        nn.Module.register_parameter = original_register


def has_meta_tensors(module):
    """True when any parameter or buffer of `module` is on the meta device."""
    return any(p.is_meta for p in module.parameters()) or any(b.is_meta for b in module.buffers())


# Ops whose meta kernels torch 1.13 lacks. `repeat_interleave(x, n, dim)` with an integer n
# decomposes into a data-dependent `repeat_interleave(repeats_tensor)` that cannot run on
# meta tensors; its result's shape is plain, so it gets a kernel here. Registered for the Meta
# and AutogradMeta keys only: nothing changes for real tensors, and the tracer (above both
# keys) still records the op as the model called it.
_LIBRARIES = []


def _repeat_interleave_self_int(self, repeats, dim=None, output_size=None):
    if dim is None:
        return self.new_empty((self.numel() * repeats,))
    shape = list(self.shape)
    shape[dim % self.dim()] *= repeats
    return self.new_empty(shape)


_META_KERNELS = {"repeat_interleave.self_int": _repeat_interleave_self_int}


def install_meta_kernels():
    """Makes the ops of _META_KERNELS run on meta tensors (idempotent; this process only)."""
    if _LIBRARIES:
        return
    for key in ("Meta", "AutogradMeta"):
        library = torch.library.Library("aten", "IMPL", key)
        for name, kernel in _META_KERNELS.items():
            # Library.impl refuses Meta kernels for composite ops; the dispatcher accepts them.
            library.m.impl(name, key, kernel)
        _LIBRARIES.append(library)
