# bug in: layers.0.attention
"""The fast-inference port (examples/llama/variants/fast_style.py) with its mask buffer built
as `torch.ones(n, n, dtype=torch.bool)`, the `torch.tril` forgotten: the mask still hides the
cache's unwritten slots, but every query attends to the keys after it. The masked scores
then hold the reference's scores before its causal mask (and -inf beyond the written slots),
so the first value that differs is the softmax over them. Every layer's attention has the
bug; layers.0.attention is where it first shows."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from variants import fast_style  # noqa: E402


def model():
    m, inputs = fast_style.model()
    n = m.causal_mask.shape[0]
    m.causal_mask = torch.ones(n, n, dtype=torch.bool)  # BUG: should be torch.tril(torch.ones(...))
    return m, inputs
