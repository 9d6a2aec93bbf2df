"""The port masking with masked_fill(finfo(dtype).min), as many HuggingFace models (and ports
copied from them) write it, instead of masked_fill(-inf). The same function wherever a row
keeps a score, which a causal mask always does (the diagonal)."""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import port  # noqa: E402


class LlamaAttention(port.LlamaAttention):
    def attention(self, q, k, v):
        seq = q.shape[2]
        k = k.repeat_interleave(self.num_heads // self.num_kv_heads, dim=1)
        v = v.repeat_interleave(self.num_heads // self.num_kv_heads, dim=1)
        scores = torch.matmul(q / math.sqrt(self.head_dim), k.transpose(-1, -2))
        mask = torch.ones(seq, seq, dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(mask, torch.finfo(scores.dtype).min)
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        return torch.matmul(probs, v)


def model():
    m, inputs = port.model()
    for module in m.modules():
        if isinstance(module, port.LlamaAttention):
            module.__class__ = LlamaAttention
    return m, inputs
