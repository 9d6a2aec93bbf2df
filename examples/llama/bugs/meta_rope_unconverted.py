# bug in: layers.0.attention
"""A Meta-style port (examples/llama/variants/meta_style.py: complex RoPE on adjacent pairs)
loaded with HuggingFace's q/k weights as they are: the converter's row permutation is
forgotten, so the interleaved RoPE rotates the wrong pairs of dims. q_proj's and k_proj's
outputs still match HF's; the rotated q and k (in every layer's attention) do not."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402
from variants import meta_style  # noqa: E402


def model():
    m, inputs = meta_style.model()
    state = reference.reference_model(reference.LlamaConfig).state_dict()
    for i in range(reference.LlamaConfig.num_hidden_layers):
        attention = m.layers[i].attention
        attention.wq.weight.data.copy_(state[f"layers.{i}.self_attn.q_proj.weight"])  # BUG: not unpermuted
        attention.wk.weight.data.copy_(state[f"layers.{i}.self_attn.k_proj.weight"])  # BUG: not unpermuted
    return m, inputs
