# bug in: layers.0.self_attn.o_proj
"""The zero-bias port (../variants/zero_bias.py) loaded with `strict=False`, so o_proj's bias,
absent from the checkpoint, keeps nn.Linear's random initialization (uniform within ±1/8,
the bound 1/sqrt(in_features) for its 64 inputs) instead of zeros: an offset added after
every attention block."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "variants"))
import nxd_style  # noqa: E402
import zero_bias  # noqa: E402


def model():
    generator = torch.Generator().manual_seed(7)
    port, inputs = nxd_style.model()
    # BUG: the bias is not in the checkpoint; strict=False left it at its (random) init
    fill = lambda bias: bias.copy_((2 * torch.rand(bias.shape, generator=generator) - 1) / 8)  # noqa: E731
    return zero_bias.with_o_proj_bias(port, fill), inputs
