# bug in: blocks.0.ln_1
"""The hand-written GPT-2 (../variants/hand_written.py) with its LayerNorm's variance taken with
`x.var(-1, keepdim=True)`: PyTorch's default divides by n - 1 (Bessel's correction), where
LayerNorm divides by n. Every norm has the bug; blocks.0.ln_1 is where it first shows."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "variants"))
import hand_written  # noqa: E402


class LayerNorm(hand_written.LayerNorm):
    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        var = x.var(-1, keepdim=True)  # BUG: unbiased (n - 1); LayerNorm uses the biased variance
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


def model():
    hand_written.LayerNorm = LayerNorm
    return hand_written.model()
