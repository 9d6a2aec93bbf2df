# bug in: model.layers.0.self_attn.rotary_emb
"""The vLLM-style port (../variants/vllm_rotary.py) with its RotaryEmbedding built with
`is_neox_style=False`, a real configuration mistake for a Llama checkpoint: GPT-J's rotation
of adjacent pairs (x[..., ::2], x[..., 1::2], stacked back) where the weights expect neox's
rotation of the two halves. Every layer's rotary_emb has the bug; layers.0 shows it first."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "variants"))
import vllm_rotary  # noqa: E402


def rotate_gptj(x, cos, sin):
    x1, x2 = x[..., ::2], x[..., 1::2]  # BUG: a Llama checkpoint rotates halves (neox style)
    return torch.stack((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1).flatten(-2)


def model():
    port, inputs = vllm_rotary.model()
    for layer in port.model.layers:
        layer.self_attn.rotary_emb.rotate_neox = rotate_gptj
    return port, inputs
