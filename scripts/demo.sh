#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to Twin doing its main job: installs the
# packages, builds, and proves the shipped vLLM/NxD-style Llama port equivalent to its
# HuggingFace-style reference (twin check on examples/llama).
#
#   scripts/demo.sh                 twin check --ref examples/llama/reference.graph --port examples/llama/port.graph
#   scripts/demo.sh EXAMPLE.twin    twin run EXAMPLE.twin (e.g. examples/quickstart.twin)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh
twin="${BUILD_DIR:-build}/twin"
if [ $# -eq 0 ]; then
  echo "+ $twin check --ref examples/llama/reference.graph --port examples/llama/port.graph"
  exec "$twin" check --ref examples/llama/reference.graph --port examples/llama/port.graph
fi
example="$1"
if [ ! -f "$example" ]; then
  echo "demo: $example does not exist" >&2
  exit 2
fi
echo "+ $twin run $example"
exec "$twin" run "$example"
