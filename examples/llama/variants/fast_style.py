"""The reference written as fast-inference repositories (gpt-fast, and ports after it) write a
Llama: one fused `wqkv` projection split into q, k, v; interleaved RoPE in real arithmetic
over adjacent pairs (`x.reshape(..., -1, 2)`, `stack([...], -1).flatten(3)`) with a
[seq, head_dim/2, 2] cos/sin cache; a KV cache written at `input_pos` (`k_out[:, :, input_pos]
= k`) and read whole, the causal mask rows taken at `input_pos`; repeat_interleave for the KV
heads. q/k rows are in Meta's order (the converter's `unpermute`), fused with v's."""
import math
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402
from variants.meta_style import unpermute  # noqa: E402


def precompute_freqs_cis(seq_len, n_elem, base=10000.0):
    freqs = 1.0 / (base ** (torch.arange(0, n_elem, 2)[: (n_elem // 2)].float() / n_elem))
    t = torch.arange(seq_len, device=freqs.device)
    freqs = torch.outer(t, freqs)
    freqs_cis = torch.polar(torch.ones_like(freqs), freqs)
    return torch.stack([freqs_cis.real, freqs_cis.imag], dim=-1)


def apply_rotary_emb(x, freqs_cis):
    xshaped = x.float().reshape(*x.shape[:-1], -1, 2)
    freqs_cis = freqs_cis.view(1, xshaped.size(1), 1, xshaped.size(3), 2)
    x_out2 = torch.stack(
        [
            xshaped[..., 0] * freqs_cis[..., 0] - xshaped[..., 1] * freqs_cis[..., 1],
            xshaped[..., 1] * freqs_cis[..., 0] + xshaped[..., 0] * freqs_cis[..., 1],
        ],
        -1,
    )
    x_out2 = x_out2.flatten(3)
    return x_out2.type_as(x)


class KVCache(nn.Module):
    def __init__(self, max_batch_size, max_seq_length, n_heads, head_dim, dtype=torch.float32):
        super().__init__()
        cache_shape = (max_batch_size, n_heads, max_seq_length, head_dim)
        self.register_buffer("k_cache", torch.zeros(cache_shape, dtype=dtype), persistent=False)
        self.register_buffer("v_cache", torch.zeros(cache_shape, dtype=dtype), persistent=False)

    def update(self, input_pos, k_val, v_val):
        k_out = self.k_cache.clone()
        v_out = self.v_cache.clone()
        k_out[:, :, input_pos] = k_val
        v_out[:, :, input_pos] = v_val
        return k_out, v_out


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head, self.n_local_heads = c.num_attention_heads, c.num_key_value_heads
        self.head_dim = c.hidden_size // self.n_head
        self.dim = c.hidden_size
        total_head_dim = (self.n_head + 2 * self.n_local_heads) * self.head_dim
        self.wqkv = nn.Linear(c.hidden_size, total_head_dim, bias=False)
        self.wo = nn.Linear(c.hidden_size, c.hidden_size, bias=False)
        self.kv_cache = KVCache(1, c.max_position_embeddings, self.n_local_heads, self.head_dim)

    def forward(self, x, freqs_cis, mask, input_pos):
        bsz, seqlen, _ = x.shape
        kv_size = self.n_local_heads * self.head_dim
        q, k, v = self.wqkv(x).split([self.dim, kv_size, kv_size], dim=-1)
        q = q.view(bsz, seqlen, self.n_head, self.head_dim)
        k = k.view(bsz, seqlen, self.n_local_heads, self.head_dim)
        v = v.view(bsz, seqlen, self.n_local_heads, self.head_dim)
        q = apply_rotary_emb(q, freqs_cis)
        k = apply_rotary_emb(k, freqs_cis)
        q, k, v = map(lambda t: t.transpose(1, 2), (q, k, v))
        k, v = self.kv_cache.update(input_pos, k, v)
        k = k.repeat_interleave(self.n_head // self.n_local_heads, dim=1)
        v = v.repeat_interleave(self.n_head // self.n_local_heads, dim=1)
        # scaled_dot_product_attention(q, k, v, attn_mask=mask) written out (torch 1.13 has none)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(~mask, float("-inf"))
        y = torch.matmul(F.softmax(scores, dim=-1), v)
        y = y.transpose(1, 2).contiguous().view(bsz, seqlen, self.dim)
        return self.wo(y)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        out = x.float() * torch.rsqrt(torch.mean(x.float() * x.float(), dim=-1, keepdim=True) + self.eps)
        return out.type_as(x) * self.weight


class FeedForward(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.w1 = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.w3 = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.w2 = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.feed_forward = FeedForward(c)
        self.ffn_norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.attention_norm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, input_pos, freqs_cis, mask):
        h = x + self.attention(self.attention_norm(x), freqs_cis, mask, input_pos)
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.tok_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(TransformerBlock(c) for _ in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.output = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        n = c.max_position_embeddings
        self.register_buffer("freqs_cis", precompute_freqs_cis(n, c.hidden_size // c.num_attention_heads, c.rope_theta), persistent=False)
        self.register_buffer("causal_mask", torch.tril(torch.ones(n, n, dtype=torch.bool)), persistent=False)

    def forward(self, idx):
        input_pos = torch.arange(idx.shape[1], device=idx.device)  # prefill from position 0
        mask = self.causal_mask[None, None, input_pos]
        freqs_cis = self.freqs_cis[input_pos]
        x = self.tok_embeddings(idx)
        for layer in self.layers:
            x = layer(x, input_pos, freqs_cis, mask)
        return self.output(self.norm(x))


def model():
    c = reference.LlamaConfig
    ref = reference.reference_model(c).state_dict()
    m = Transformer(c)
    sd = {"tok_embeddings.weight": ref["embed_tokens.weight"], "norm.weight": ref["norm.weight"], "output.weight": ref["lm_head.weight"]}
    for i in range(c.num_hidden_layers):
        p = f"layers.{i}."
        wq = unpermute(ref[p + "self_attn.q_proj.weight"], c.num_attention_heads)
        wk = unpermute(ref[p + "self_attn.k_proj.weight"], c.num_key_value_heads)
        sd[p + "attention.wqkv.weight"] = torch.cat([wq, wk, ref[p + "self_attn.v_proj.weight"]])
        sd[p + "attention.wo.weight"] = ref[p + "self_attn.o_proj.weight"]
        sd[p + "feed_forward.w1.weight"] = ref[p + "mlp.gate_proj.weight"]
        sd[p + "feed_forward.w2.weight"] = ref[p + "mlp.down_proj.weight"]
        sd[p + "feed_forward.w3.weight"] = ref[p + "mlp.up_proj.weight"]
        sd[p + "attention_norm.weight"] = ref[p + "input_layernorm.weight"]
        sd[p + "ffn_norm.weight"] = ref[p + "post_attention_layernorm.weight"]
    m.load_state_dict(sd, strict=True)
    return m.eval(), reference.example_inputs(c)
