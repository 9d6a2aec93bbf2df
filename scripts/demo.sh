#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to Twin doing its job: installs the packages,
# builds, and runs a shipped example script with the command-line tool.
#
#   scripts/demo.sh [EXAMPLE.twin]     (default: examples/quickstart.twin)
set -euo pipefail
cd "$(dirname "$0")/.."

example="${1:-examples/quickstart.twin}"
scripts/install-deps.sh
scripts/build.sh
if [ ! -f "$example" ]; then
  echo "demo: $example does not exist" >&2
  exit 2
fi
echo "+ ${BUILD_DIR:-build}/twin run $example"
exec "${BUILD_DIR:-build}/twin" run "$example"
