# bug in: layers.0.mlp.act_fn
"""The port's SiluAndMul applying SiLU to the up half of gate_up_proj's output instead of the
gate half (the halves' order swapped). Every layer's MLP has the bug."""
import os
import sys

from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import port  # noqa: E402
import reference  # noqa: E402


class SiluAndMul(port.SiluAndMul):
    def forward(self, x):
        d = x.shape[-1] // 2
        return x[..., :d] * nn.functional.silu(x[..., d:])  # BUG: silu on up, not gate


def model():
    m = port.port_model()
    for layer in m.layers:
        layer.mlp.act_fn.__class__ = SiluAndMul
    return m, reference.example_inputs()
