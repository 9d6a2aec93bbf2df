#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to every test passing: installs the packages,
# builds (Release, ccache), and runs the whole ctest suite: the unit tests, the embedding
# example, and the installed-package test (embed_find_package).
#
#   scripts/test.sh [CTEST_ARGS...]      e.g. scripts/test.sh -R embed
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
exec ctest --output-on-failure -j"${JOBS:-$(nproc)}" "$@"
