# bug in: layers.0.self_attn.rotary_emb
"""The port with its neox RoPE rotating the wrong way: the signs of the sin terms are
swapped (x1*cos + x2*sin, x2*cos - x1*sin), i.e. it rotates by -theta. Every layer's
rotary_emb has the bug; layers.0 is where it first shows."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import port  # noqa: E402
import reference  # noqa: E402


class RotaryEmbedding(port.RotaryEmbedding):
    def _rotate(self, x, cos, sin):
        x1, x2 = torch.chunk(x, 2, dim=-1)
        o1 = x1 * cos + x2 * sin  # BUG: should be x1 * cos - x2 * sin
        o2 = x2 * cos - x1 * sin  # BUG: should be x2 * cos + x1 * sin
        return torch.cat((o1, o2), dim=-1)


def model():
    m = port.port_model()
    for layer in m.layers:
        layer.self_attn.rotary_emb.__class__ = RotaryEmbedding
    return m, reference.example_inputs()
