"""The reference ported the way NxD Inference's Llama writes it, by another hand than port.py:
a `CustomRMSNorm` that multiplies the weight on the left, cos/sin caches of the full head width
looked up by advanced indexing at `position_ids`, HF's rotate_half, repeat_kv by expand and
reshape, the scores divided by `math.sqrt(head_dim)` and masked with
`torch.where(mask, QK, torch.finfo(QK.dtype).min)` (a Python number, not a tensor), an f32
softmax, and the reference's own module and parameter names (the checkpoint loads as is)."""
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402

class CustomRMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.variance_epsilon = eps
    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)

class RotaryEmbedding(nn.Module):
    def __init__(self, dim, max_pos, base):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        t = torch.arange(max_pos).float()
        freqs = torch.outer(t, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", emb.cos(), persistent=False)
        self.register_buffer("sin_cached", emb.sin(), persistent=False)
    def forward(self, x, position_ids):
        return self.cos_cached[position_ids].to(x.dtype), self.sin_cached[position_ids].to(x.dtype)

def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)

class Attn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h, self.kvh = c.num_attention_heads, c.num_key_value_heads
        self.d = c.hidden_size // self.h
        self.q_proj = nn.Linear(c.hidden_size, self.h * self.d, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, self.kvh * self.d, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, self.kvh * self.d, bias=False)
        self.o_proj = nn.Linear(self.h * self.d, c.hidden_size, bias=False)
        self.rotary_emb = RotaryEmbedding(self.d, c.max_position_embeddings, c.rope_theta)
    def forward(self, x, position_ids, attention_mask):
        b, s, _ = x.size()
        Q = self.q_proj(x).view(b, s, self.h, self.d).transpose(1, 2)
        K = self.k_proj(x).view(b, s, self.kvh, self.d).transpose(1, 2)
        V = self.v_proj(x).view(b, s, self.kvh, self.d).transpose(1, 2)
        cos, sin = self.rotary_emb(V, position_ids)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        Q = Q * cos + rotate_half(Q) * sin
        K = K * cos + rotate_half(K) * sin
        n_rep = self.h // self.kvh
        K = K[:, :, None, :, :].expand(b, self.kvh, n_rep, s, self.d).reshape(b, self.h, s, self.d)
        V = V[:, :, None, :, :].expand(b, self.kvh, n_rep, s, self.d).reshape(b, self.h, s, self.d)
        QK = torch.matmul(Q, K.transpose(2, 3)) / math.sqrt(self.d)
        QK = torch.where(attention_mask, QK, torch.finfo(QK.dtype).min)
        P = F.softmax(QK, dim=-1, dtype=torch.float32).to(Q.dtype)
        out = torch.matmul(P, V).transpose(1, 2).contiguous().view(b, s, -1)
        return self.o_proj(out)

class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)
        self.act_fn = nn.SiLU()
    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))

class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn, self.mlp = Attn(c), MLP(c)
        self.input_layernorm = CustomRMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = CustomRMSNorm(c.hidden_size, c.rms_norm_eps)
    def forward(self, h, position_ids, mask):
        r = h
        h = r + self.self_attn(self.input_layernorm(h), position_ids, mask)
        return h + self.mlp(self.post_attention_layernorm(h))

class NeuronLlamaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Layer(c) for _ in range(c.num_hidden_layers)])
        self.norm = CustomRMSNorm(c.hidden_size, c.rms_norm_eps)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
    def forward(self, input_ids):
        b, s = input_ids.shape
        position_ids = torch.arange(s, dtype=torch.long).unsqueeze(0).expand(b, s)
        mask = torch.ones((s, s), dtype=torch.bool).tril(diagonal=0)[None, None, :, :].expand(b, 1, s, s)
        h = self.embed_tokens(input_ids)
        for layer in self.layers:
            h = layer(h, position_ids, mask)
        return self.lm_head(self.norm(h))

def model():
    c = reference.LlamaConfig
    m = NeuronLlamaModel(c)
    m.load_state_dict(reference.reference_model(c).state_dict(), strict=True)
    return m.eval(), reference.example_inputs(c)

if __name__ == "__main__":
    r, (ids,) = reference.model()
    p, _ = model()
    with torch.no_grad(): print((r(ids) - p(ids)).abs().max())
