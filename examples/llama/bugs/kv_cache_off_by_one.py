# bug in: layers.0.attention
"""The fast-inference port (examples/llama/variants/fast_style.py) with its KV cache written
one slot late (`k_out[:, :, input_pos + 1] = k`) while the causal mask still reads rows and
columns at `input_pos`: each query attends to an empty (zero) slot and misses its own key.
Every layer's attention has the bug; layers.0.attention is where it first shows."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from variants import fast_style  # noqa: E402


class KVCache(fast_style.KVCache):
    def update(self, input_pos, k_val, v_val):
        k_out = self.k_cache.clone()
        v_out = self.v_cache.clone()
        k_out[:, :, input_pos + 1] = k_val  # BUG: should be input_pos
        v_out[:, :, input_pos + 1] = v_val  # BUG: should be input_pos
        return k_out, v_out


def model():
    m, inputs = fast_style.model()
    for layer in m.layers:
        layer.attention.kv_cache.__class__ = KVCache
    return m, inputs
