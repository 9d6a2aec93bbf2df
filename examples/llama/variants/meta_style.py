"""The reference written as Meta's llama/model.py writes it (a port from the other side):
complex, interleaved RoPE through view_as_complex over pairs of adjacent dims on
[batch, seq, heads, head_dim], repeat_kv before the heads are transposed, and q/k weights in
Meta's row order (HF's convert_llama_weights_to_hf permutes them to halves; `unpermute` is
its inverse). Equivalent to the reference by the stdlib: docs/synthesis.md lists the rules."""
import math
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402


def precompute_freqs_cis(dim, end, theta=10000.0):
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2)[: (dim // 2)].float() / dim))
    t = torch.arange(end, device=freqs.device)
    freqs = torch.outer(t, freqs).float()
    return torch.polar(torch.ones_like(freqs), freqs)


def apply_rotary_emb(xq, xk, freqs_cis):
    xq_ = torch.view_as_complex(xq.float().reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(xk.float().reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = freqs_cis.view(1, xq_.shape[1], 1, xq_.shape[-1])
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads, self.n_kv = c.num_attention_heads, c.num_key_value_heads
        self.head_dim = c.hidden_size // self.n_heads
        self.wq = nn.Linear(c.hidden_size, self.n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(c.hidden_size, self.n_kv * self.head_dim, bias=False)
        self.wv = nn.Linear(c.hidden_size, self.n_kv * self.head_dim, bias=False)
        self.wo = nn.Linear(self.n_heads * self.head_dim, c.hidden_size, bias=False)

    def forward(self, x, freqs_cis, mask):
        b, s, _ = x.shape
        xq = self.wq(x).view(b, s, self.n_heads, self.head_dim)
        xk = self.wk(x).view(b, s, self.n_kv, self.head_dim)
        xv = self.wv(x).view(b, s, self.n_kv, self.head_dim)
        xq, xk = apply_rotary_emb(xq, xk, freqs_cis)
        rep = self.n_heads // self.n_kv
        xk = xk[:, :, :, None, :].expand(b, s, self.n_kv, rep, self.head_dim).reshape(b, s, self.n_heads, self.head_dim)
        xv = xv[:, :, :, None, :].expand(b, s, self.n_kv, rep, self.head_dim).reshape(b, s, self.n_heads, self.head_dim)
        xq, xk, xv = xq.transpose(1, 2), xk.transpose(1, 2), xv.transpose(1, 2)
        scores = torch.matmul(xq, xk.transpose(2, 3)) / math.sqrt(self.head_dim)
        scores = scores + mask
        scores = torch.softmax(scores.float(), dim=-1).type_as(xq)
        out = torch.matmul(scores, xv).transpose(1, 2).contiguous().view(b, s, -1)
        return self.wo(out)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        out = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return out.type_as(x) * self.weight


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.w1 = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.w2 = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)
        self.w3 = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)

    def forward(self, x):
        return self.w2(nn.functional.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.feed_forward = FeedForward(c)
        self.attention_norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.ffn_norm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, freqs_cis, mask):
        h = x + self.attention(self.attention_norm(x), freqs_cis, mask)
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.tok_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Block(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.output = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.register_buffer("freqs_cis", precompute_freqs_cis(c.hidden_size // c.num_attention_heads, c.max_position_embeddings * 2, c.rope_theta), persistent=False)

    def forward(self, tokens):
        b, s = tokens.shape
        h = self.tok_embeddings(tokens)
        freqs_cis = self.freqs_cis[:s]
        mask = torch.full((s, s), float("-inf"), device=tokens.device).triu(1)
        for layer in self.layers:
            h = layer(h, freqs_cis, mask)
        return self.output(self.norm(h))


def unpermute(w, n_heads):
    dim1, dim2 = w.shape
    return w.view(n_heads, 2, dim1 // n_heads // 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def model():
    c = reference.LlamaConfig
    ref = reference.reference_model(c).state_dict()
    m = Transformer(c)
    sd = {"tok_embeddings.weight": ref["embed_tokens.weight"], "norm.weight": ref["norm.weight"], "output.weight": ref["lm_head.weight"]}
    for i in range(c.num_hidden_layers):
        p, q = f"layers.{i}.", f"layers.{i}."
        sd[q + "attention.wq.weight"] = unpermute(ref[p + "self_attn.q_proj.weight"], c.num_attention_heads)
        sd[q + "attention.wk.weight"] = unpermute(ref[p + "self_attn.k_proj.weight"], c.num_key_value_heads)
        sd[q + "attention.wv.weight"] = ref[p + "self_attn.v_proj.weight"]
        sd[q + "attention.wo.weight"] = ref[p + "self_attn.o_proj.weight"]
        sd[q + "feed_forward.w1.weight"] = ref[p + "mlp.gate_proj.weight"]
        sd[q + "feed_forward.w2.weight"] = ref[p + "mlp.down_proj.weight"]
        sd[q + "feed_forward.w3.weight"] = ref[p + "mlp.up_proj.weight"]
        sd[q + "attention_norm.weight"] = ref[p + "input_layernorm.weight"]
        sd[q + "ffn_norm.weight"] = ref[p + "post_attention_layernorm.weight"]
    m.load_state_dict(sd, strict=True)
    return m.eval(), reference.example_inputs(c)
