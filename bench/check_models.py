"""Model factories for the `twin check` benchmarks (bench/check_layers, bench/check_7b_shape).

Every factory returns (module, example_inputs), as `twin capture FILE.py:FACTORY` wants. The
models are examples/llama/reference.py and port.py, unchanged; only their config differs.

- `reference_7b`, `port_7b`: Llama-2-7B's dims (hidden 4096, 32 heads, 32 KV heads, 32 layers,
  intermediate 11008, vocab 32000), 8 tokens. Their parameters live on the meta device (no
  memory, no values: 7B f32 weights are 27 GB), so they must be captured with `--no-weights`.
  The buffers (RoPE caches) are computed and recorded. `reference_7b_kvK` / `port_7b_kvK`:
  the same with K key-value heads (grouped-query attention), e.g. `reference_7b_kv8`.
- `reference_layers_N`, `port_layers_N` (any N >= 1; the benchmark uses 1, 2, 4, 8, 16, 32):
  the example's small dims (hidden 64, 4 heads, 2 KV heads, vocab 100) with N layers and
  deterministic weights; the port's weights are converted from the reference's. N = 2 is the
  shipped example (examples/llama/reference.graph, port.graph). `reference_layers_N_meta`,
  `port_layers_N_meta`: the same models with their parameters on the meta device.

bench/capture_check_models.sh captures them all; bench/check_7b_shape.rules declares how the 7B
port's parameters come from the reference's.
"""
import os
import re
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)
sys.path.insert(0, os.path.join(_ROOT, "examples", "llama"))
try:
    import twin_capture.meta  # noqa: F401  (on PYTHONPATH when run through `twin capture`)
except ImportError:
    sys.path.insert(0, os.path.join(_ROOT, "capture"))

import port  # noqa: E402
import reference  # noqa: E402
from twin_capture.meta import meta_parameters  # noqa: E402


def config_7b(num_key_value_heads=32, num_hidden_layers=32):
    """Llama-2-7B's dims (its config.json), with 8 example tokens."""
    return type(f"Llama7BConfig_kv{num_key_value_heads}_l{num_hidden_layers}", (reference.LlamaConfig,), {
        "vocab_size": 32000,
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": num_hidden_layers,
        "num_attention_heads": 32,
        "num_key_value_heads": num_key_value_heads,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "max_position_embeddings": 4096,
        "seq_len": 8,
        "seed": 0,
    })


def config_layers(n):
    """The example's dims (reference.LlamaConfig) with `n` decoder layers."""
    return type(f"LlamaConfig_layers{n}", (reference.LlamaConfig,), {"num_hidden_layers": n})


def reference_7b_model(config):
    """The reference built with its parameters on the meta device (any config)."""
    with meta_parameters():
        return reference.LlamaForCausalLM(config).eval()


def port_7b_model(config):
    with meta_parameters():
        return port.LlamaForCausalLM(config).eval()


def reference_7b():
    config = config_7b()
    return reference_7b_model(config), reference.example_inputs(config)


def port_7b():
    config = config_7b()
    return port_7b_model(config), reference.example_inputs(config)


def reference_layers(n):
    config = config_layers(n)
    return reference.reference_model(config), reference.example_inputs(config)


def port_layers(n):
    config = config_layers(n)
    return port.port_model(config=config), reference.example_inputs(config)


_FAMILY = re.compile(r"(reference|port)_(layers_(\d+)(_meta)?|7b_kv(\d+))$")


def __getattr__(name):
    """reference_layers_N, port_layers_N (and _meta), reference_7b_kvK, port_7b_kvK (PEP 562)."""
    match = _FAMILY.match(name)
    if not match:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    side, layers, meta, kv = match.group(1), match.group(3), match.group(4), match.group(5)
    if layers is not None:
        n = int(layers)
        if n < 1:
            raise AttributeError(f"{name}: a model has at least one layer")
        if meta:  # the same model without weights (to compare a meta capture with a real one)
            build = reference_7b_model if side == "reference" else port_7b_model
            factory = lambda: (build(config_layers(n)), reference.example_inputs(config_layers(n)))  # noqa: E731
        else:
            factory = (lambda: reference_layers(n)) if side == "reference" else (lambda: port_layers(n))
    else:
        k = int(kv)
        if k < 1 or 32 % k:
            raise AttributeError(f"{name}: the key-value heads must divide the 32 attention heads")
        build = reference_7b_model if side == "reference" else port_7b_model
        factory = lambda: (build(config_7b(k)), reference.example_inputs(config_7b(k)))  # noqa: E731
    factory.__name__ = name
    return factory
