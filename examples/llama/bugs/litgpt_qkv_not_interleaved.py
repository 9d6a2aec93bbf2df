# bug in: transformer.h.0.attn
"""The litgpt-style port (../variants/litgpt_style.py) loaded by a converter that concatenates
HF's q, k and v weights as they are (`cat([wq, wk, wv])`, the layout of gpt-fast's `wqkv`),
where litgpt's attention reads the rows interleaved per KV group: the fused projection's
output matches HF's, but the per-group view reads heads from the wrong places. Every layer's
attention has the bug; transformer.h.0.attn is where it first shows."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "variants"))
import litgpt_style  # noqa: E402


def not_interleaved(wq, wk, wv, n_head, n_groups):
    return torch.cat([wq, wk, wv])  # BUG: litgpt's attention expects the rows per KV group


def model():
    litgpt_style.qkv_interleave = not_interleaved
    return litgpt_style.model()
