#!/usr/bin/env bash
# Re-captures the committed graphs of examples/gpt2. Run from the project root;
# TWIN=path/to/twin (default build/twin).
set -euo pipefail
TWIN="${TWIN:-build/twin}"
E=examples/gpt2
"$TWIN" capture "$E/reference.py:model" -o "$E/reference.graph" --dtype f32
"$TWIN" capture "$E/port.py:model" -o "$E/port.graph" --dtype f32
"$TWIN" capture "$E/variants/fast_style.py:model" -o "$E/variants/fast_style.graph" --dtype f32
"$TWIN" capture "$E/bugs/gelu_erf.py:model" -o "$E/bugs/gelu_erf.graph" --dtype f32
"$TWIN" capture "$E/bugs/layer_norm_eps.py:model" -o "$E/bugs/layer_norm_eps.graph" --dtype f32
