"""The Llama of reference.py, ported the way vLLM writes it, in vLLM's token layout
([num_tokens, hidden]; RoPE applied before the heads are moved). `twin check` answers
"unproven" for it today: see README.md here.

- fused `qkv_proj` (QKVParallelLinear), then split;
- fused `gate_up_proj` (MergedColumnParallelLinear) with SiluAndMul;
- neox RoPE in chunk/cat form over a half-width cos/sin cache;
- repeat_interleave for the KV heads; a boolean causal mask applied with masked_fill;
- fused residual-add RMSNorm (`norm(x, residual) -> (normed, residual)`);
- `o_proj`, `down_proj` row-parallel over 2 shards (partial products summed, the
  all-reduce), `lm_head` column-parallel over 2 shards (concatenated, the all-gather).

Its weights come from the reference's through port.py's `convert_reference_state_dict`, as a
real port's checkpoint converter does. `model()` returns (module, example_inputs).
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import port  # noqa: E402
import reference  # noqa: E402

# The blocks that do not depend on the layout are port.py's.
from port import QKVParallelLinear, RowParallelLinear  # noqa: E402


class RotaryEmbedding(nn.Module):
    """vLLM's neox-style RotaryEmbedding: a cache of [cos | sin], each half the head width."""

    def __init__(self, head_size, max_position, base):
        super().__init__()
        self.head_size = head_size
        inv_freq = 1.0 / (base ** (torch.arange(0, head_size, 2, dtype=torch.float) / head_size))
        t = torch.arange(max_position, dtype=torch.float)
        freqs = torch.einsum("i,j -> ij", t, inv_freq)
        cache = torch.cat((freqs.cos(), freqs.sin()), dim=-1)
        self.register_buffer("cos_sin_cache", cache, persistent=False)

    def _rotate(self, x, cos, sin):
        x1, x2 = torch.chunk(x, 2, dim=-1)
        o1 = x1 * cos - x2 * sin
        o2 = x2 * cos + x1 * sin
        return torch.cat((o1, o2), dim=-1)

    def forward(self, positions, query, key):
        # query, key: [num_tokens, heads * head_size]
        num_tokens = positions.shape[0]
        cos_sin = self.cos_sin_cache.to(torch.float32)[positions]
        cos, sin = cos_sin.chunk(2, dim=-1)
        cos = cos.unsqueeze(-2).to(query.dtype)
        sin = sin.unsqueeze(-2).to(query.dtype)
        query = self._rotate(query.view(num_tokens, -1, self.head_size), cos, sin)
        key = self._rotate(key.view(num_tokens, -1, self.head_size), cos, sin)
        return query.reshape(num_tokens, -1), key.reshape(num_tokens, -1)


class LlamaAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.num_kv_heads = config.num_key_value_heads
        self.head_dim = config.hidden_size // self.num_heads
        self.q_size = self.num_heads * self.head_dim
        self.kv_size = self.num_kv_heads * self.head_dim
        self.scaling = self.head_dim ** -0.5
        self.qkv_proj = QKVParallelLinear(config.hidden_size, self.head_dim, self.num_heads, self.num_kv_heads)
        self.o_proj = RowParallelLinear(self.q_size, config.hidden_size)
        self.rotary_emb = RotaryEmbedding(self.head_dim, config.max_position_embeddings, config.rope_theta)

    def attention(self, q, k, v, num_tokens):
        # q: [tokens, heads*d] -> [heads, tokens, d]
        q = q.view(num_tokens, self.num_heads, self.head_dim).transpose(0, 1)
        k = k.view(num_tokens, self.num_kv_heads, self.head_dim).transpose(0, 1)
        v = v.view(num_tokens, self.num_kv_heads, self.head_dim).transpose(0, 1)
        k = k.repeat_interleave(self.num_heads // self.num_kv_heads, dim=0)
        v = v.repeat_interleave(self.num_heads // self.num_kv_heads, dim=0)
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scaling
        mask = torch.ones(num_tokens, num_tokens, dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v)
        return out.transpose(0, 1).reshape(num_tokens, self.q_size)

    def forward(self, positions, hidden_states):
        qkv = self.qkv_proj(hidden_states)
        q, k, v = qkv.split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q, k = self.rotary_emb(positions, q, k)
        attn_output = self.attention(q, k, v, positions.shape[0])
        return self.o_proj(attn_output)


class LlamaDecoderLayer(port.LlamaDecoderLayer):
    """port.py's layer (fused residual-add norms, the MLP) with the token-layout attention."""

    def __init__(self, config):
        super().__init__(config)
        self.self_attn = LlamaAttention(config)


class LlamaForCausalLM(port.LlamaForCausalLM):
    """Takes input_ids [batch=1, seq] like the reference and flattens them to vLLM's token
    layout [num_tokens]."""

    layer_class = LlamaDecoderLayer

    def forward(self, input_ids):
        tokens = input_ids.reshape(-1)
        positions = torch.arange(tokens.shape[0], device=tokens.device)
        hidden_states = self.embed_tokens(tokens)
        residual = None
        for layer in self.layers:
            hidden_states, residual = layer(positions, hidden_states, residual)
        hidden_states, _ = self.norm(hidden_states, residual)
        logits = self.lm_head(hidden_states)
        return logits.view(input_ids.shape[0], input_ids.shape[1], -1)


def model():
    return port.port_model(cls=LlamaForCausalLM), reference.example_inputs()
