"""The reference's Llama written out by hand, as tutorials and research codebases write one,
over the reference's own modules (its projections, embedding and lm_head are reused as
they are; only the norms are re-made): an RMSNorm dividing by `sqrt(mean(x^2) + eps)`, the
softmax written out (the scores shifted by their row maximum, `exp` over its row sum), SiLU
as `g * sigmoid(g)`, the cos/sin tables computed in forward from `arange`, a `triu` boolean
mask with masked_fill(-inf), and the heads folded into the batch for `torch.bmm`
([batch * heads, seq, head_dim]). Equivalent by the stdlib (`softmax_row_shifted_rank3`)
and synthesis (the folded batch against the reference's [batch, heads, ...])."""
import math
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402


class Norm(nn.Module):
    def __init__(self, w, eps):
        super().__init__()
        self.weight = nn.Parameter(w.clone())
        self.eps = eps
    def forward(self, x):
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

def softmax(s):
    s = s - s.amax(-1, keepdim=True)
    e = s.exp()
    return e / e.sum(-1, keepdim=True)

def rot(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

class HandWritten(nn.Module):
    def __init__(self, ref):
        super().__init__()
        self.r = ref  # the reference's modules, reused
        c = ref.config
        self.norms = nn.ModuleList()
        for l in ref.layers:
            self.norms.append(Norm(l.input_layernorm.weight.data, c.rms_norm_eps))
            self.norms.append(Norm(l.post_attention_layernorm.weight.data, c.rms_norm_eps))
        self.final = Norm(ref.norm.weight.data, c.rms_norm_eps)

    def forward(self, ids):
        r = self.r
        c = r.config
        B, T = ids.shape
        H, KV = c.num_attention_heads, c.num_key_value_heads
        D = c.hidden_size // H
        pos = torch.arange(T)
        inv = 1.0 / (c.rope_theta ** (torch.arange(0, D, 2).float() / D))
        f = pos.float()[:, None] * inv[None, :]
        emb = torch.cat((f, f), -1)
        cos, sin = emb.cos(), emb.sin()
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        x = r.embed_tokens(ids)
        for i, l in enumerate(r.layers):
            a = l.self_attn
            h = self.norms[2 * i](x)
            q = a.q_proj(h).view(B, T, H, D).transpose(1, 2)
            k = a.k_proj(h).view(B, T, KV, D).transpose(1, 2)
            v = a.v_proj(h).view(B, T, KV, D).transpose(1, 2)
            q = q * cos + rot(q) * sin
            k = k * cos + rot(k) * sin
            k = k.repeat_interleave(H // KV, 1)
            v = v.repeat_interleave(H // KV, 1)
            qb, kb, vb = (t.reshape(B * H, T, D) for t in (q, k, v))
            s = torch.bmm(qb, kb.transpose(1, 2)) / math.sqrt(D)
            s = s.masked_fill(mask, float("-inf"))
            p = softmax(s)
            o = torch.bmm(p, vb).view(B, H, T, D).transpose(1, 2).reshape(B, T, H * D)
            x = x + a.o_proj(o)
            h = self.norms[2 * i + 1](x)
            g = l.mlp.gate_proj(h)
            x = x + l.mlp.down_proj(g * torch.sigmoid(g) * l.mlp.up_proj(h))
        return r.lm_head(self.final(x))

def model():
    ref = reference.reference_model()
    return HandWritten(ref).eval(), reference.example_inputs()
