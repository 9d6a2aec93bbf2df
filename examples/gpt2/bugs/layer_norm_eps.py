# bug in: layers.1.ffn_norm
"""The fast-inference GPT-2 (variants/fast_style.py) with one LayerNorm's eps at 1e-6 where
GPT-2's layer_norm_epsilon is 1e-5: a port that hard-codes another model's eps in one place.
The output error is about 1e-5, below any fixed tolerance, yet a different function."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import reference  # noqa: E402
from variants import fast_style  # noqa: E402


def model():
    m = fast_style.port_model()
    m.layers[1].ffn_norm.eps = 1e-6  # BUG: GPT-2's layer_norm_epsilon is 1e-5
    return m, reference.example_inputs()
