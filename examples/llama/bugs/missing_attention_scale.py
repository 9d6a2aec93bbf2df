# bug in: layers.1.self_attn
"""The port with the 1/sqrt(head_dim) attention scaling dropped in layer 1 only (a per-layer
attention override that forgot to pre-scale q by 1/sqrt(head_dim))."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import port  # noqa: E402
import reference  # noqa: E402


class LlamaAttention(port.LlamaAttention):
    def attention(self, q, k, v):
        seq = q.shape[2]
        k = k.repeat_interleave(self.num_heads // self.num_kv_heads, dim=1)
        v = v.repeat_interleave(self.num_heads // self.num_kv_heads, dim=1)
        scores = torch.matmul(q, k.transpose(-1, -2))  # BUG: q is not divided by sqrt(head_dim)
        mask = torch.ones(seq, seq, dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        return torch.matmul(probs, v)


def model():
    m = port.port_model()
    m.layers[1].self_attn.__class__ = LlamaAttention
    return m, reference.example_inputs()
