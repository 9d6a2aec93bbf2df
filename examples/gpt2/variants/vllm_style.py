"""HF's GPT-2 ported the way vLLM's gpt2.py writes it, by another hand than port.py's: every
module under `transformer.`, `nn.Linear` projections whose weights the loader transposes from
HF's Conv1D, the fused `c_attn` chunked into q, k and v, q scaled before its heads are split,
an additive `-inf` causal mask, `gelu_new` as a function (no activation module), and the
output projection applied inline with the tied embedding weight (`F.linear(h, wte.weight)`)."""
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402


def gelu_new(x):
    c = math.sqrt(2.0 / math.pi)
    return 0.5 * x * (1.0 + torch.tanh(c * (x + 0.044715 * torch.pow(x, 3.0))))


class Attn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h = c.n_head
        self.d = c.n_embd // c.n_head
        self.scale = self.d ** -0.5
        self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd)
        self.c_proj = nn.Linear(c.n_embd, c.n_embd)

    def forward(self, x):
        b, s, e = x.shape
        q, k, v = self.c_attn(x).chunk(3, dim=-1)
        q = (q * self.scale).view(b, s, self.h, self.d).transpose(1, 2)
        k = k.view(b, s, self.h, self.d).transpose(1, 2)
        v = v.view(b, s, self.h, self.d).transpose(1, 2)
        mask = torch.full((s, s), float("-inf")).triu(1)
        w = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
        o = (w @ v).transpose(1, 2).reshape(b, s, e)
        return self.c_proj(o)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd)
        self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.n_embd, eps=c.layer_norm_epsilon)
        self.attn = Attn(c)
        self.ln_2 = nn.LayerNorm(c.n_embd, eps=c.layer_norm_epsilon)
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        self.wpe = nn.Embedding(c.n_positions, c.n_embd)
        self.h = nn.ModuleList([Block(c) for _ in range(c.n_layer)])
        self.ln_f = nn.LayerNorm(c.n_embd, eps=c.layer_norm_epsilon)

    def forward(self, ids, positions):
        x = self.wte(ids) + self.wpe(positions)
        for block in self.h:
            x = block(x)
        return self.ln_f(x)


class GPT2LMHeadModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = GPT2Model(c)

    def forward(self, ids):
        positions = torch.arange(ids.shape[-1], device=ids.device)
        h = self.transformer(ids, positions)
        return F.linear(h, self.transformer.wte.weight)


def model():
    c = reference.GPT2Config
    ref = reference.reference_model(c).state_dict()
    m = GPT2LMHeadModel(c)
    sd = {}
    for k, v in ref.items():
        if k == "lm_head.weight":
            continue
        if any(k.endswith(n + ".weight") for n in ("c_attn", "c_proj", "c_fc")):
            v = v.t()
        sd["transformer." + k] = v.contiguous()
    m.load_state_dict(sd, strict=True)
    return m.eval(), reference.example_inputs(c)


if __name__ == "__main__":
    r, (ids,) = reference.model()
    p, _ = model()
    with torch.no_grad():
        print((r(ids) - p(ids)).abs().max())
