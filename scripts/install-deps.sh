#!/usr/bin/env bash
# Installs the Debian 12 packages Twin needs to build, test and run, plus any packages named
# as arguments (fuzz/run.sh passes clang-14 libclang-rt-14-dev). Does nothing, quickly, when
# they are all installed already; otherwise runs apt-get update and apt-get install
# non-interactively, as root or through sudo.
#
#   scripts/install-deps.sh [EXTRA_PACKAGE...]
set -euo pipefail

packages=(
  cmake g++ make ccache                  # toolchain
  antlr4 libantlr4-runtime-dev           # parser generator (4.7.2) and C++ runtime (4.9)
  libtorch-dev                           # tensor evaluation (CPU)
  libz3-dev                              # SMT validation of rules
  libboost-dev                           # Boost.Multiprecision: exact numbers
  doctest-dev                            # unit tests
  libedit-dev                            # REPL line editing
  nlohmann-json3-dev                     # --json output
  libssl-dev                             # signed verdict caches (HMAC-SHA256)
  python3 python3-torch                  # graph capture
  tmux                                   # REPL tests
  "$@"
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: no apt-get here (Twin targets Debian 12); install: ${missing[*]}" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  as_root=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
