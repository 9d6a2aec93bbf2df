#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (libFuzzer + ASan + UBSan) in build-fuzz/ and runs
# one of them, or each in turn.
#
#   fuzz/run.sh TARGET [SECONDS]   TARGET: parser graph safetensors rule_compiler verify_roundtrip
#                                  pt2; default 60 s; 0 runs
#                                  until stopped
#   fuzz/run.sh all [SECONDS]      every target in turn, SECONDS each; stops at the first failure
#   fuzz/run.sh [SECONDS]          the parser target (as before there were several)
# Environment: FUZZ_JOBS (parallel fuzzing processes, default 1), FUZZ_ARGS (extra libFuzzer
# flags).
#
# Each target has its seeds (build-fuzz/seeds/TARGET, rebuilt on each run from the sources
# below), its growing corpus (build-fuzz/corpus/TARGET, kept between runs, never committed) and
# its artifacts (build-fuzz/artifacts/TARGET/: crash-*, leak-*, timeout-*, oom-*). Reproduce one
# with: build-fuzz/fuzz/TARGET_fuzzer build-fuzz/artifacts/TARGET/crash-...
# The last lines of each run are libFuzzer's final stats (stat::number_of_executed_units is the
# executions): docs/building.md records them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

targets=(parser graph safetensors rule_compiler verify_roundtrip pt2)
# pt2: torch.export archives, seeded with the .pt2 files of ../shared/fixtures (seed_pt2 below).

target="${1:-parser}"
if [[ "$target" =~ ^[0-9]+$ ]]; then
  set -- parser "$target"
  target=parser
fi
seconds="${2:-60}"
build_dir="$root/build-fuzz"

if [ "$target" != all ] && [[ ! " ${targets[*]} " =~ " $target " ]]; then
  echo "fuzz/run.sh: unknown target '$target' (targets: ${targets[*]} all)" >&2
  exit 2
fi

scripts/install-deps.sh clang-14 libclang-rt-14-dev

instrument="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS="$instrument" \
  -DTWIN_BUILD_FUZZERS=ON -DTWIN_BUILD_TESTS=OFF -DTWIN_BUILD_BENCH=OFF >/dev/null
if [ "$target" = all ]; then
  build=("${targets[@]/%/_fuzzer}")
else
  build=("${target}_fuzzer")
fi
cmake --build "$build_dir" --target "${build[@]}" -j"$(nproc)"

# copy_seeds DIR FIND-ARGS...: every file under the given directories that FIND-ARGS match.
copy_seeds() {
  local out="$1"; shift
  local dirs=() n=0
  while [ $# -gt 0 ] && [ "$1" != -- ]; do dirs+=("$1"); shift; done
  shift
  for dir in "${dirs[@]}"; do
    [ -d "$dir" ] || continue
    while IFS= read -r -d '' file; do
      n=$((n + 1))
      cp "$file" "$out/$n.$(basename "$file")"
    done < <(find "$dir" -type f \( "$@" \) -print0)
  done
}

seed_parser() { copy_seeds "$1" examples stdlib rules ../shared/checks/data -- -name '*.twin' -o -name '*.rules'; }
seed_rule_compiler() { copy_seeds "$1" stdlib rules examples ../shared -- -name '*.rules'; }
# The graph target lowers what it loads (an e-graph, values evaluated through libtorch): a whole
# example graph with its weights runs at a few inputs per second under ASan, so its seeds are
# the examples cut small (with and without weights, up to the whole graph without weights).
seed_graph() {
  mapfile -d '' graphs < <(find examples -name '*.graph' -print0)
  python3 fuzz/make_graph_seeds.py "$1" "${graphs[@]}" >/dev/null
}
seed_safetensors() {
  copy_seeds "$1" examples ../shared/fixtures -- -name '*.graph' -o -name '*.safetensors'
  mapfile -d '' graphs < <(find examples -name '*.graph' -print0)
  python3 fuzz/make_graph_seeds.py "$1" "${graphs[@]}" >/dev/null
}
seed_verify_roundtrip() { :; }  # its inputs are choices, not files: libFuzzer starts from nothing
seed_pt2() { copy_seeds "$1" ../shared/fixtures -- -name '*.pt2'; }

# Per target: libFuzzer's -max_len (containers and archives keep their real size), -timeout (one
# input that takes this long is a hang; generous for 2 shared cores and ASan), and a dictionary.
options_for() {
  case "$1" in
    parser|rule_compiler) echo "-max_len=16384 -timeout=30 -dict=$root/fuzz/twin.dict" ;;
    graph) echo "-max_len=131072 -timeout=30 -dict=$root/fuzz/graph.dict" ;;
    safetensors) echo "-max_len=1048576 -timeout=30 -dict=$root/fuzz/graph.dict" ;;
    # Its inputs are choices, so a short input is a small rule: -len_control=0 lets libFuzzer
    # try inputs of any length up to -max_len at once (it otherwise grows the limit from 4
    # bytes only after many executions, and this target runs about one a second, in Z3).
    verify_roundtrip) echo "-max_len=64 -len_control=0 -timeout=60" ;;
    pt2) echo "-max_len=1048576 -timeout=30" ;;
  esac
}

run_target() {
  local name="$1" seeds="$build_dir/seeds/$1" corpus="$build_dir/corpus/$1" artifacts="$build_dir/artifacts/$1"
  rm -rf "$seeds"
  mkdir -p "$seeds" "$corpus" "$artifacts"
  "seed_$name" "$seeds"
  echo "fuzz: $name: $(find "$seeds" -type f | wc -l) seed files; running for ${seconds}s"
  read -r -a options <<< "$(options_for "$name")"
  read -r -a extra <<< "${FUZZ_ARGS:-}"
  local jobs=()
  if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
    jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")  # logs go to fuzz-N.log in build-fuzz/
  fi
  local rc
  set +e
  (cd "$build_dir" && "$build_dir/fuzz/${name}_fuzzer" \
    -max_total_time="$seconds" -rss_limit_mb=4096 \
    "${options[@]}" \
    -artifact_prefix="$artifacts/" \
    "${jobs[@]}" \
    -print_final_stats=1 \
    "${extra[@]}" \
    "$corpus" "$seeds")
  rc=$?
  set -e
  echo "fuzz: $name: exit $rc; $(find "$artifacts" -type f | wc -l) file(s) in $artifacts"
  return $rc
}

if [ "$target" = all ]; then
  for t in "${targets[@]}"; do run_target "$t"; done
else
  run_target "$target"
fi
