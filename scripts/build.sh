#!/usr/bin/env bash
# Configures and builds Twin in build/ (Release, ccache, all cores): build/twin, the libraries,
# the tests and the embedding example. Extra arguments go to the cmake configure step.
#
#   scripts/build.sh [-DOPTION=VALUE...]
# Environment: BUILD_DIR (default build), JOBS (default: nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${BUILD_DIR:-build}"
jobs="${JOBS:-$(nproc)}"
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@"
cmake --build "$build_dir" -j"$jobs"
