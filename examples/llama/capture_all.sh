#!/usr/bin/env bash
# Re-captures the committed graphs of examples/llama. Run from the project root;
# TWIN=path/to/twin (default build/twin).
set -euo pipefail
TWIN="${TWIN:-build/twin}"
E=examples/llama
"$TWIN" capture "$E/reference.py:model" -o "$E/reference.graph" --dtype f32
"$TWIN" capture "$E/reference.py:model" -o "$E/reference.bf16.graph" --dtype bf16
"$TWIN" capture "$E/port.py:model" -o "$E/port.graph" --dtype f32
"$TWIN" capture "$E/port.py:model" -o "$E/port.bf16.graph" --dtype bf16
for f in "$E"/bugs/*.py; do "$TWIN" capture "$f:model" -o "${f%.py}.graph" --dtype f32; done
"$TWIN" capture "$E/precision/variance_bf16.py:model" -o "$E/precision/variance_bf16.graph" --dtype bf16
for f in "$E"/variants/*.py; do "$TWIN" capture "$f:model" -o "${f%.py}.graph" --dtype f32; done
