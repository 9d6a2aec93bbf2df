# bug in: layers.0.ffn_norm
"""The gpt-fast-style port (../variants/fast_style.py) whose checkpoint converter loads layer
0's attention_norm weight into its ffn_norm as well (a name-mapping slip: both are RMSNorm
weights of the same shape). The norm computes the right formula with the wrong scale."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "variants"))
import fast_style  # noqa: E402


def model():
    port, inputs = fast_style.model()
    with torch.no_grad():
        layer = port.layers[0]
        layer.ffn_norm.weight.copy_(layer.attention_norm.weight)  # BUG: should be post_attention_layernorm's
    return port, inputs
