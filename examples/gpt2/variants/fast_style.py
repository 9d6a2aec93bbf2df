"""The reference GPT-2 written as fast-inference repositories write a decoder: separate q, k
and v projections (the converter cuts HF's fused Conv1D `c_attn` into three nn.Linear
weights), a static KV cache per layer written at `input_pos` (`k_cache[:, :, input_pos] = k`)
and read whole, the causal mask rows taken at `input_pos` and applied with torch.where, the
scale folded into q before the product, position embeddings looked up at `input_pos`, the
tanh GELU spelled out with `x ** 3`, and F.layer_norm called directly.

`model()` returns (module, example_inputs): the port with the reference's weights.
"""
import math
import os
import sys

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402


class KVCache(nn.Module):
    def __init__(self, n_head, max_len, head_dim):
        super().__init__()
        self.register_buffer("k_cache", torch.zeros(1, n_head, max_len, head_dim), persistent=False)
        self.register_buffer("v_cache", torch.zeros(1, n_head, max_len, head_dim), persistent=False)

    def update(self, input_pos, k, v):
        self.k_cache[:, :, input_pos] = k
        self.v_cache[:, :, input_pos] = v
        return self.k_cache, self.v_cache


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.q_proj = nn.Linear(config.n_embd, config.n_embd)
        self.k_proj = nn.Linear(config.n_embd, config.n_embd)
        self.v_proj = nn.Linear(config.n_embd, config.n_embd)
        self.out_proj = nn.Linear(config.n_embd, config.n_embd)
        self.kv_cache = KVCache(config.n_head, config.n_positions, self.head_dim)

    def forward(self, x, mask, input_pos):
        bsz, seqlen, dim = x.shape
        q = self.q_proj(x) * (self.head_dim ** -0.5)
        k = self.k_proj(x)
        v = self.v_proj(x)
        q = q.view(bsz, seqlen, self.n_head, self.head_dim).transpose(1, 2)
        k = k.view(bsz, seqlen, self.n_head, self.head_dim).transpose(1, 2)
        v = v.view(bsz, seqlen, self.n_head, self.head_dim).transpose(1, 2)
        k, v = self.kv_cache.update(input_pos, k, v)
        scores = torch.matmul(q, k.transpose(2, 3))
        scores = torch.where(mask, scores, torch.tensor(float("-inf")))
        probs = torch.softmax(scores, dim=-1)
        y = torch.matmul(probs, v)
        y = y.transpose(1, 2).reshape(bsz, seqlen, dim)
        return self.out_proj(y)


class FeedForward(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.fc_in = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.fc_out = nn.Linear(4 * config.n_embd, config.n_embd)

    def forward(self, x):
        h = self.fc_in(x)
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * h ** 3)))
        return self.fc_out(h)


class LayerNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.attn_norm = LayerNorm(config.n_embd, config.layer_norm_epsilon)
        self.attn = Attention(config)
        self.ffn_norm = LayerNorm(config.n_embd, config.layer_norm_epsilon)
        self.ffn = FeedForward(config)

    def forward(self, x, mask, input_pos):
        h = x + self.attn(self.attn_norm(x), mask, input_pos)
        return h + self.ffn(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_embeddings = nn.Embedding(config.n_positions, config.n_embd)
        self.layers = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.norm = LayerNorm(config.n_embd, config.layer_norm_epsilon)
        self.output = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        causal = torch.tril(torch.ones(config.n_positions, config.n_positions, dtype=torch.bool))
        self.register_buffer("causal_mask", causal, persistent=False)

    def forward(self, idx):
        input_pos = torch.arange(idx.shape[1], device=idx.device)  # prefill from position 0
        mask = self.causal_mask[None, None, input_pos]
        x = self.tok_embeddings(idx) + self.pos_embeddings(input_pos)
        for layer in self.layers:
            x = layer(x, mask, input_pos)
        return self.output(self.norm(x))


def convert(ref, config=reference.GPT2Config):
    """HF GPT-2 to this layout: Conv1D weights are [in, out], so each Linear takes the
    transpose; c_attn's columns are q, k, v in that order."""
    sd = {"tok_embeddings.weight": ref["wte.weight"], "pos_embeddings.weight": ref["wpe.weight"],
          "norm.weight": ref["ln_f.weight"], "norm.bias": ref["ln_f.bias"], "output.weight": ref["lm_head.weight"]}
    n = config.n_embd
    for i in range(config.n_layer):
        r, p = f"h.{i}.", f"layers.{i}."
        w, b = ref[r + "attn.c_attn.weight"], ref[r + "attn.c_attn.bias"]
        for k, name in enumerate(("q_proj", "k_proj", "v_proj")):
            sd[p + f"attn.{name}.weight"] = w[:, k * n:(k + 1) * n].t()
            sd[p + f"attn.{name}.bias"] = b[k * n:(k + 1) * n]
        sd[p + "attn.out_proj.weight"] = ref[r + "attn.c_proj.weight"].t()
        sd[p + "attn.out_proj.bias"] = ref[r + "attn.c_proj.bias"]
        sd[p + "ffn.fc_in.weight"] = ref[r + "mlp.c_fc.weight"].t()
        sd[p + "ffn.fc_in.bias"] = ref[r + "mlp.c_fc.bias"]
        sd[p + "ffn.fc_out.weight"] = ref[r + "mlp.c_proj.weight"].t()
        sd[p + "ffn.fc_out.bias"] = ref[r + "mlp.c_proj.bias"]
        for a, b2 in (("ln_1", "attn_norm"), ("ln_2", "ffn_norm")):
            sd[p + b2 + ".weight"] = ref[r + a + ".weight"]
            sd[p + b2 + ".bias"] = ref[r + a + ".bias"]
    return {k: v.clone().contiguous() for k, v in sd.items()}


def port_model(config=reference.GPT2Config):
    ported = Transformer(config)
    missing, unexpected = ported.load_state_dict(convert(reference.reference_model(config).state_dict(), config), strict=False)
    assert not unexpected and all("cache" in k or "causal_mask" in k for k in missing), (missing, unexpected)
    return ported.eval()


def model():
    return port_model(), reference.example_inputs()
