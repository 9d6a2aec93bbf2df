"""HF's GPT-2 written from scratch the way tutorials and small research codebases write it: a
LayerNorm by hand (`x.var(-1, unbiased=False)`), attention with `torch.einsum`, the causal
mask as a `tril` buffer applied with masked_fill, the tanh GELU written out, and the output
projection as `h @ wte.weight.T` (tied). The loader transposes HF's Conv1D weights into
`nn.Linear`s and keeps c_attn fused."""
import math
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402


class LayerNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size))
        self.eps = eps

    def forward(self, x):
        mean = x.mean(-1, keepdim=True)
        var = x.var(-1, keepdim=True, unbiased=False)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class SelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.register_buffer("causal", torch.tril(torch.ones(config.n_positions, config.n_positions)), persistent=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head) for z in (q, k, v))
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(c // self.n_head)
        scores = scores.masked_fill(self.causal[:t, :t] == 0, float("-inf"))
        out = torch.einsum("bhqk,bkhd->bqhd", torch.softmax(scores, dim=-1), v)
        return self.c_proj(out.reshape(b, t, c))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, config.layer_norm_epsilon)
        self.attn = SelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, config.layer_norm_epsilon)
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        h = self.c_fc(self.ln_2(x))
        h = 0.5 * h * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (h + 0.044715 * torch.pow(h, 3.0))))
        return x + self.c_proj(h)


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = LayerNorm(config.n_embd, config.layer_norm_epsilon)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T


def convert(ref):
    """HF's names and Conv1D weights [in, out] -> this model's names and Linear weights [out, in]."""
    out = {}
    for name, w in ref.items():
        if name == "lm_head.weight":
            continue  # tied to wte
        name = name.replace("h.", "blocks.", 1).replace("mlp.", "")
        out[name] = w.t().contiguous() if name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")) else w
    return out


def model(config=reference.GPT2Config):
    gpt = GPT(config)
    gpt.load_state_dict(convert(reference.reference_model(config).state_dict()), strict=True)
    return gpt.eval(), reference.example_inputs(config)


if __name__ == "__main__":
    ref, (ids,) = reference.model()
    port, _ = model()
    with torch.no_grad():
        print("max abs difference from the reference:", (ref(ids) - port(ids)).abs().max().item())
