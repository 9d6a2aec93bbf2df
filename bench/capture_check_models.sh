#!/usr/bin/env bash
# (Re)creates the graphs of the `twin check` benchmarks from bench/check_models.py, so that no
# large .graph file is committed:
#
#   bench/capture_check_models.sh [OUT_DIR] [WHAT]
#
# OUT_DIR defaults to build/bench-graphs. WHAT: `all` (default), `layers` or `7b`.
#   layers: reference_layers_N.graph, port_layers_N.graph for N in 1 2 4 8 16 32 (the example's
#           dims, hidden 64, with weights; bench/check_layers)
#   7b:     reference_7b.graph, port_7b.graph (Llama-2-7B's dims, captured --no-weights on
#           the meta device; bench/check_7b_shape, with bench/check_7b_shape.rules)
# Environment: TWIN (the twin binary, default build/twin), LAYERS (override the layer counts).
# Run from anywhere; prints one line per graph with its size and capture time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/build/bench-graphs}"
what="${2:-all}"
twin="${TWIN:-$root/build/twin}"
layers="${LAYERS:-1 2 4 8 16 32}"
models="$root/bench/check_models.py"

if [[ ! -x "$twin" ]]; then
  echo "capture_check_models.sh: no twin binary at $twin (build first, or set TWIN=)" >&2
  exit 2
fi
case "$what" in all | layers | 7b) ;; *)
  echo "capture_check_models.sh: WHAT is all, layers or 7b, not '$what'" >&2
  exit 2
  ;;
esac
mkdir -p "$out"

capture() {  # FACTORY [--no-weights]
  local factory="$1"
  shift
  local graph="$out/$factory.graph"
  local start ms
  start=$(date +%s%N)
  "$twin" capture "$models:$factory" -o "$graph" --quiet "$@"
  ms=$((($(date +%s%N) - start) / 1000000))
  printf '%-26s %10s bytes  %3d.%03d s\n' "$factory.graph" "$(stat -c %s "$graph")" $((ms / 1000)) $((ms % 1000))
}

if [[ "$what" != 7b ]]; then
  for n in $layers; do
    capture "reference_layers_$n"
    capture "port_layers_$n"
  done
fi
if [[ "$what" != layers ]]; then
  capture reference_7b --no-weights
  capture port_7b --no-weights
fi
echo "graphs in $out"
