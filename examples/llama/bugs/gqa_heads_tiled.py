# bug in: layers.0.attention
"""The fast-inference port (examples/llama/variants/fast_style.py) with its KV heads repeated
by `repeat` (tiled: kv0, kv1, kv0, kv1) where grouped-query attention needs `repeat_interleave`
(kv0, kv0, kv1, kv1, as HF's repeat_kv): query heads 1 and 2 attend with the other group's
keys and values. The KV cache is written correctly first; the divergence is the repeat after
it. Every layer's attention has the bug; layers.0.attention is where it first shows."""
import math
import os
import sys

import torch
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from variants import fast_style  # noqa: E402


class Attention(fast_style.Attention):
    def forward(self, x, freqs_cis, mask, input_pos):
        bsz, seqlen, _ = x.shape
        kv_size = self.n_local_heads * self.head_dim
        q, k, v = self.wqkv(x).split([self.dim, kv_size, kv_size], dim=-1)
        q = fast_style.apply_rotary_emb(q.view(bsz, seqlen, self.n_head, self.head_dim), freqs_cis)
        k = fast_style.apply_rotary_emb(k.view(bsz, seqlen, self.n_local_heads, self.head_dim), freqs_cis)
        v = v.view(bsz, seqlen, self.n_local_heads, self.head_dim)
        q, k, v = map(lambda t: t.transpose(1, 2), (q, k, v))
        k, v = self.kv_cache.update(input_pos, k, v)
        n_rep = self.n_head // self.n_local_heads
        k = k.repeat(1, n_rep, 1, 1)  # BUG: should be k.repeat_interleave(n_rep, dim=1)
        v = v.repeat(1, n_rep, 1, 1)  # BUG: should be v.repeat_interleave(n_rep, dim=1)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(~mask, float("-inf"))
        y = torch.matmul(F.softmax(scores, dim=-1), v)
        return self.wo(y.transpose(1, 2).contiguous().view(bsz, seqlen, self.dim))


def model():
    m, inputs = fast_style.model()
    for layer in m.layers:
        layer.attention.__class__ = Attention
    return m, inputs
