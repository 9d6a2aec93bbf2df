#!/usr/bin/env bash
# Re-captures the committed graphs of examples/gpt2. Run from the project root;
# TWIN=path/to/twin (default build/twin).
set -euo pipefail
TWIN="${TWIN:-build/twin}"
E=examples/gpt2
"$TWIN" capture "$E/reference.py:model" -o "$E/reference.graph" --dtype f32
"$TWIN" capture "$E/port.py:model" -o "$E/port.graph" --dtype f32
for f in "$E"/variants/*.py "$E"/bugs/*.py; do "$TWIN" capture "$f:model" -o "${f%.py}.graph" --dtype f32; done
