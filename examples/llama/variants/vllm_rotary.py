"""The reference ported the way vLLM's own modules write it, by a hand other than port.py's:
vLLM's RotaryEmbedding (a `cos_sin_cache` looked up with `index_select` at the positions, RoPE
applied to the first `rotary_dim` dims of `[batch, seq, heads, head_size]` views before the
heads are moved in front, and the rest, empty when `rotary_dim == head_size`, concatenated
back), `movedim` for the head layout, `SiluAndMul` by `chunk`, a scale multiplied after
`q @ k^T`, an f32 softmax, plain (unsharded) fused projections under a `model.` prefix, and
vLLM's `forward(input_ids, positions)`: the positions are an input (docs/checking.md)."""
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402


class RMSNorm(nn.Module):
    def __init__(self, hidden_size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    def forward(self, x, residual=None):
        if residual is not None:
            x = x + residual
            residual = x
        variance = x.float().pow(2).mean(-1, keepdim=True)
        out = (x.float() * torch.rsqrt(variance + self.eps)).to(x.dtype) * self.weight
        return out if residual is None else (out, residual)


class RotaryEmbedding(nn.Module):
    def __init__(self, head_size, rotary_dim, max_position, base):
        super().__init__()
        self.head_size, self.rotary_dim = head_size, rotary_dim
        inv_freq = 1.0 / (base ** (torch.arange(0, rotary_dim, 2, dtype=torch.float) / rotary_dim))
        freqs = torch.outer(torch.arange(max_position, dtype=torch.float), inv_freq)
        self.register_buffer("cos_sin_cache", torch.cat((freqs.cos(), freqs.sin()), dim=-1), persistent=False)

    @staticmethod
    def rotate_neox(x, cos, sin):
        x1, x2 = torch.chunk(x, 2, dim=-1)
        return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)

    def rotate(self, x, cos, sin):
        shape = x.shape
        x = x.view(*shape[:-1], -1, self.head_size)
        x_rot, x_pass = x[..., : self.rotary_dim], x[..., self.rotary_dim :]
        return torch.cat((self.rotate_neox(x_rot, cos, sin), x_pass), dim=-1).reshape(shape)

    def forward(self, positions, query, key):
        cos, sin = self.cos_sin_cache.index_select(0, positions).chunk(2, dim=-1)
        cos, sin = cos.unsqueeze(-2).to(query.dtype), sin.unsqueeze(-2).to(query.dtype)
        return self.rotate(query, cos, sin), self.rotate(key, cos, sin)


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_heads, self.num_kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = config.hidden_size // self.num_heads
        self.q_size, self.kv_size = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        self.scaling = self.head_dim**-0.5
        self.qkv_proj = nn.Linear(config.hidden_size, self.q_size + 2 * self.kv_size, bias=False)
        self.o_proj = nn.Linear(self.q_size, config.hidden_size, bias=False)
        self.rotary_emb = RotaryEmbedding(self.head_dim, self.head_dim, config.max_position_embeddings, config.rope_theta)

    def forward(self, positions, x):
        q, k, v = self.qkv_proj(x).split([self.q_size, self.kv_size, self.kv_size], dim=-1)
        q, k = self.rotary_emb(positions, q, k)
        b, n = x.shape[:2]
        groups = self.num_heads // self.num_kv_heads
        q = q.view(b, n, self.num_heads, self.head_dim).movedim(1, 2)
        k = k.view(b, n, self.num_kv_heads, self.head_dim).movedim(1, 2).repeat_interleave(groups, 1)
        v = v.view(b, n, self.num_kv_heads, self.head_dim).movedim(1, 2).repeat_interleave(groups, 1)
        scores = torch.matmul(q, k.transpose(-2, -1)) * self.scaling
        causal = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        probs = F.softmax(scores.float(), dim=-1).to(q.dtype)
        out = torch.matmul(probs, v).movedim(2, 1).reshape(b, n, self.q_size)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.gate_up_proj = nn.Linear(config.hidden_size, 2 * config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class DecoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self_attn, self.mlp = Attention(config), MLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, positions, hidden_states, residual):
        if residual is None:
            residual = hidden_states
            hidden_states = self.input_layernorm(hidden_states)
        else:
            hidden_states, residual = self.input_layernorm(hidden_states, residual)
        hidden_states = self.self_attn(positions, hidden_states)
        hidden_states, residual = self.post_attention_layernorm(hidden_states, residual)
        return self.mlp(hidden_states), residual


class LlamaModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(config) for _ in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, input_ids, positions):
        hidden_states, residual = self.embed_tokens(input_ids), None
        for layer in self.layers:
            hidden_states, residual = layer(positions, hidden_states, residual)
        hidden_states, _ = self.norm(hidden_states, residual)
        return hidden_states


class LlamaForCausalLM(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, input_ids, positions):
        # vLLM's signature: the positions come with the tokens (the reference computes them).
        return self.lm_head(self.model(input_ids, positions))


def convert(ref, config):
    """HF's checkpoint -> this port's: q/k/v and gate/up fused, every name under `model.`."""
    out = {"lm_head.weight": ref["lm_head.weight"]}
    for name, w in ref.items():
        if name.startswith("layers.") and (".q_proj." in name or ".gate_proj." in name):
            fused = [name.replace("q_proj", p) for p in ("q_proj", "k_proj", "v_proj")] if ".q_proj." in name else [
                name.replace("gate_proj", p) for p in ("gate_proj", "up_proj")]
            out["model." + fused[0].replace("q_proj", "qkv_proj").replace("gate_proj", "gate_up_proj")] = torch.cat(
                [ref[f] for f in fused], 0)
        elif name != "lm_head.weight" and not any(p in name for p in (".k_proj.", ".v_proj.", ".up_proj.")):
            out["model." + name] = w
    return out


def model(config=reference.LlamaConfig):
    ported = LlamaForCausalLM(config)
    ported.load_state_dict(convert(reference.reference_model(config).state_dict(), config), strict=True)
    (input_ids,) = reference.example_inputs(config)
    return ported.eval(), (input_ids, torch.arange(input_ids.shape[1]))


if __name__ == "__main__":
    ref, (ids,) = reference.model()
    port, _ = model()
    with torch.no_grad():
        print("max abs difference from the reference:", (ref(ids) - port(ids, torch.arange(ids.shape[1]))).abs().max().item())
