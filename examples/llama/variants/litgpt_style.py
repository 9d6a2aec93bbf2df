"""The reference ported the way litgpt (Lightning AI's lit-gpt) writes a Llama, by a hand other
than port.py's: one fused `attn` projection whose rows interleave the KV groups (each group's
q heads, then its k head, then its v head, as litgpt's convert_hf_checkpoint lays them out),
viewed as [batch, seq, groups, q_per_kv + 2, head_size], permuted and split along the group
slot; the KV heads expanded to every query head *before* RoPE is applied; full-width cos/sin
tables from `torch.outer(...).repeat(1, 2)` sliced at the sequence length; an RMSNorm in f32
with the weight on the left; a `tril` boolean mask applied with masked_fill(~mask, -inf); the
scale multiplied into q; module names under `transformer.` (wte, h, ln_f). Equivalent by
synthesis (docs/synthesis.md): no hand-written rule relates the interleaved fused weight."""
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402


def build_rope_cache(seq_len, n_elem, base=10000.0):
    theta = 1.0 / (base ** (torch.arange(0, n_elem, 2).float() / n_elem))
    seq_idx = torch.arange(seq_len).float()
    idx_theta = torch.outer(seq_idx, theta).repeat(1, 2)
    return torch.cos(idx_theta), torch.sin(idx_theta)


def apply_rope(x, cos, sin):
    head_size = x.size(-1)
    x1 = x[..., : head_size // 2]
    x2 = x[..., head_size // 2 :]
    rotated = torch.cat((-x2, x1), dim=-1)
    roped = (x * cos) + (rotated * sin)
    return roped.to(dtype=x.dtype)


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        norm_x = torch.mean(x * x, dim=-1, keepdim=True)
        x_normed = x * torch.rsqrt(norm_x + self.eps)
        return (self.weight * x_normed).to(dtype=dtype)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head = c.num_attention_heads
        self.n_query_groups = c.num_key_value_heads
        self.head_size = c.hidden_size // self.n_head
        self.n_embd = c.hidden_size
        shape = (self.n_head + 2 * self.n_query_groups) * self.head_size
        self.attn = nn.Linear(c.hidden_size, shape, bias=False)
        self.proj = nn.Linear(c.hidden_size, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, C = x.size()
        qkv = self.attn(x)
        q_per_kv = self.n_head // self.n_query_groups
        total_qkv = q_per_kv + 2
        qkv = qkv.view(B, T, self.n_query_groups, total_qkv, self.head_size)
        qkv = qkv.permute(0, 2, 3, 1, 4)
        q, k, v = qkv.split((q_per_kv, 1, 1), dim=2)
        k = k.expand(B, self.n_query_groups, q_per_kv, T, self.head_size)
        v = v.expand(B, self.n_query_groups, q_per_kv, T, self.head_size)
        q = q.reshape(B, -1, T, self.head_size)
        k = k.reshape(B, -1, T, self.head_size)
        v = v.reshape(B, -1, T, self.head_size)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        scale = 1.0 / math.sqrt(self.head_size)
        att = torch.matmul(q * scale, k.transpose(-2, -1))
        att = att.masked_fill(~mask, float("-inf"))
        att = F.softmax(att, dim=-1, dtype=torch.float).to(dtype=q.dtype)
        y = att @ v
        y = y.transpose(1, 2).reshape(B, T, self.n_embd)
        return self.proj(y)


class LLaMAMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc_1 = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.fc_2 = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.proj(F.silu(self.fc_1(x)) * self.fc_2(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm_1 = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.attn = CausalSelfAttention(c)
        self.norm_2 = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = LLaMAMLP(c)

    def forward(self, x, cos, sin, mask):
        x = self.attn(self.norm_1(x), cos, sin, mask) + x
        return self.mlp(self.norm_2(x)) + x


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c.vocab_size, c.hidden_size),
            h=nn.ModuleList(Block(c) for _ in range(c.num_hidden_layers)),
            ln_f=RMSNorm(c.hidden_size, c.rms_norm_eps),
        ))
        cos, sin = build_rope_cache(c.max_position_embeddings, c.hidden_size // c.num_attention_heads, c.rope_theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        n = c.max_position_embeddings
        self.register_buffer("mask_cache", torch.ones(n, n, dtype=torch.bool).tril().view(1, 1, n, n), persistent=False)

    def forward(self, idx):
        T = idx.size(1)
        cos = self.cos[:T]
        sin = self.sin[:T]
        mask = self.mask_cache[:, :, :T, :T]
        x = self.transformer.wte(idx)
        for block in self.transformer.h:
            x = block(x, cos, sin, mask)
        x = self.transformer.ln_f(x)
        return self.lm_head(x)


def qkv_interleave(wq, wk, wv, n_head, n_groups):
    """litgpt's convert_hf_checkpoint: per group, the group's q heads, then its k head, then v."""
    hs = wq.shape[0] // n_head
    q_per_kv = n_head // n_groups
    qs = wq.split(hs * q_per_kv)
    ks = wk.split(hs)
    vs = wv.split(hs)
    return torch.cat([t for g in range(n_groups) for t in (qs[g], ks[g], vs[g])])


def model():
    c = reference.LlamaConfig
    ref = reference.reference_model(c).state_dict()
    m = GPT(c)
    sd = {"transformer.wte.weight": ref["embed_tokens.weight"], "transformer.ln_f.weight": ref["norm.weight"], "lm_head.weight": ref["lm_head.weight"]}
    for i in range(c.num_hidden_layers):
        p, q = f"layers.{i}.", f"transformer.h.{i}."
        sd[q + "attn.attn.weight"] = qkv_interleave(ref[p + "self_attn.q_proj.weight"], ref[p + "self_attn.k_proj.weight"], ref[p + "self_attn.v_proj.weight"], c.num_attention_heads, c.num_key_value_heads)
        sd[q + "attn.proj.weight"] = ref[p + "self_attn.o_proj.weight"]
        sd[q + "mlp.fc_1.weight"] = ref[p + "mlp.gate_proj.weight"]
        sd[q + "mlp.fc_2.weight"] = ref[p + "mlp.up_proj.weight"]
        sd[q + "mlp.proj.weight"] = ref[p + "mlp.down_proj.weight"]
        sd[q + "norm_1.weight"] = ref[p + "input_layernorm.weight"]
        sd[q + "norm_2.weight"] = ref[p + "post_attention_layernorm.weight"]
    m.load_state_dict(sd, strict=True)
    return m.eval(), reference.example_inputs(c)
