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

Its weights come from the reference's through `convert_reference_state_dict`, as a real
port's checkpoint converter does. `model()` returns (module, example_inputs).
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402

TP = 2  # tensor-parallel degree simulated in one process


class RMSNorm(nn.Module):
    """vLLM's RMSNorm.forward_native: with a residual, adds it first (fused add + norm)."""

    def __init__(self, hidden_size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, x, residual=None):
        orig_dtype = x.dtype
        x = x.to(torch.float32)
        if residual is not None:
            x = x + residual.to(torch.float32)
            residual = x.to(orig_dtype)
        variance = x.pow(2).mean(dim=-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.variance_epsilon)
        x = x.to(orig_dtype) * self.weight
        if residual is None:
            return x
        return x, residual


class ColumnParallelLinear(nn.Module):
    """Output features split over TP shards; the shards' outputs are gathered (concatenated)."""

    def __init__(self, in_features, out_features, tp=TP):
        super().__init__()
        assert out_features % tp == 0
        self.shards = nn.ModuleList([nn.Linear(in_features, out_features // tp, bias=False) for _ in range(tp)])

    def forward(self, x):
        return torch.cat([shard(x) for shard in self.shards], dim=-1)


class RowParallelLinear(nn.Module):
    """Input features split over TP shards; the partial products are summed (all-reduce)."""

    def __init__(self, in_features, out_features, tp=TP):
        super().__init__()
        assert in_features % tp == 0
        self.tp = tp
        self.shards = nn.ModuleList([nn.Linear(in_features // tp, out_features, bias=False) for _ in range(tp)])

    def forward(self, x):
        pieces = x.chunk(self.tp, dim=-1)
        out = self.shards[0](pieces[0])
        for rank in range(1, self.tp):
            out = out + self.shards[rank](pieces[rank])
        return out


class QKVParallelLinear(nn.Linear):
    def __init__(self, hidden_size, head_dim, num_heads, num_kv_heads):
        super().__init__(hidden_size, (num_heads + 2 * num_kv_heads) * head_dim, bias=False)


class MergedColumnParallelLinear(nn.Linear):
    def __init__(self, hidden_size, output_sizes):
        super().__init__(hidden_size, sum(output_sizes), bias=False)


class SiluAndMul(nn.Module):
    def forward(self, x):
        d = x.shape[-1] // 2
        return nn.functional.silu(x[..., :d]) * x[..., d:]


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


class LlamaMLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.gate_up_proj = MergedColumnParallelLinear(config.hidden_size, [config.intermediate_size] * 2)
        self.down_proj = RowParallelLinear(config.intermediate_size, config.hidden_size)
        self.act_fn = SiluAndMul()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_up_proj(x)))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.self_attn = LlamaAttention(config)
        self.mlp = LlamaMLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(self, positions, hidden_states, residual):
        if residual is None:
            residual = hidden_states
            hidden_states = self.input_layernorm(hidden_states)
        else:
            hidden_states, residual = self.input_layernorm(hidden_states, residual)
        hidden_states = self.self_attn(positions, hidden_states)
        hidden_states, residual = self.post_attention_layernorm(hidden_states, residual)
        hidden_states = self.mlp(hidden_states)
        return hidden_states, residual


class LlamaForCausalLM(nn.Module):
    """Takes input_ids [batch=1, seq] like the reference and flattens them to vLLM's token
    layout [num_tokens]."""

    layer_class = LlamaDecoderLayer

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList([self.layer_class(config) for _ in range(config.num_hidden_layers)])
        self.norm = RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.lm_head = ColumnParallelLinear(config.hidden_size, config.vocab_size)

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


def convert_reference_state_dict(ref, config, tp=TP):
    """The reference's (HF) checkpoint -> the port's: fuse q/k/v and gate/up, shard o_proj,
    down_proj (by input columns) and lm_head (by output rows)."""
    out = {"embed_tokens.weight": ref["embed_tokens.weight"], "norm.weight": ref["norm.weight"]}
    for i in range(config.num_hidden_layers):
        p = f"layers.{i}."
        out[p + "self_attn.qkv_proj.weight"] = torch.cat(
            [ref[p + "self_attn.q_proj.weight"], ref[p + "self_attn.k_proj.weight"], ref[p + "self_attn.v_proj.weight"]], 0)
        for rank, w in enumerate(ref[p + "self_attn.o_proj.weight"].chunk(tp, dim=1)):
            out[p + f"self_attn.o_proj.shards.{rank}.weight"] = w
        out[p + "mlp.gate_up_proj.weight"] = torch.cat([ref[p + "mlp.gate_proj.weight"], ref[p + "mlp.up_proj.weight"]], 0)
        for rank, w in enumerate(ref[p + "mlp.down_proj.weight"].chunk(tp, dim=1)):
            out[p + f"mlp.down_proj.shards.{rank}.weight"] = w
        out[p + "input_layernorm.weight"] = ref[p + "input_layernorm.weight"]
        out[p + "post_attention_layernorm.weight"] = ref[p + "post_attention_layernorm.weight"]
    for rank, w in enumerate(ref["lm_head.weight"].chunk(tp, dim=0)):
        out[f"lm_head.shards.{rank}.weight"] = w
    return {k: v.clone().contiguous() for k, v in out.items()}


def port_model(cls=LlamaForCausalLM, config=reference.LlamaConfig):
    ported = cls(config)
    state = convert_reference_state_dict(reference.reference_model(config).state_dict(), config)
    ported.load_state_dict(state, strict=True)  # the non-persistent RoPE caches are computed
    return ported.eval()


def model():
    return port_model(), reference.example_inputs()


if __name__ == "__main__":
    ref, (ids,) = reference.model()
    port, _ = model()
    with torch.no_grad():
        for dtype in (torch.float32, torch.bfloat16):
            a, b = ref.to(dtype)(ids), port.to(dtype)(ids)
            err = ((a.double() - b.double()).abs().max() / a.double().abs().max()).item()
            print(f"{dtype}: max rel error port vs reference {err:.3g}")
