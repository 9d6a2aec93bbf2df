#!/usr/bin/env bash
# Builds the parser fuzzer with clang-14 (libFuzzer + ASan + UBSan) in build-fuzz/ and runs it.
#
#   fuzz/run.sh [SECONDS]        default 60; 0 runs until stopped
# Environment: FUZZ_JOBS (parallel fuzzing processes, default 1), FUZZ_ARGS (extra libFuzzer
# flags).
#
# Seeds: every .twin/.rules file under examples/, stdlib/, rules/ and ../shared/checks/data.
# The corpus grows in build-fuzz/corpus; crashes land in build-fuzz/artifacts/ (crash-*,
# leak-*, timeout-*). Reproduce one with: build-fuzz/fuzz/parser_fuzzer build-fuzz/artifacts/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds="${1:-60}"
build_dir="$root/build-fuzz"

scripts/install-deps.sh clang-14 libclang-rt-14-dev

instrument="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS="$instrument" \
  -DTWIN_BUILD_FUZZERS=ON -DTWIN_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" --target parser_fuzzer -j"$(nproc)"

seeds="$build_dir/seeds"
corpus="$build_dir/corpus"
artifacts="$build_dir/artifacts"
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus" "$artifacts"
n=0
for dir in examples stdlib rules ../shared/checks/data; do
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' file; do
    n=$((n + 1))
    cp "$file" "$seeds/$n.$(basename "$file")"
  done < <(find "$dir" -type f \( -name '*.twin' -o -name '*.rules' \) -print0)
done
echo "fuzz: $n seed files; running for ${seconds}s"

read -r -a extra <<< "${FUZZ_ARGS:-}"
jobs=()
if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
  jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")  # logs go to fuzz-N.log in build-fuzz/
  cd "$build_dir"
fi

# -timeout: a single input that takes this long is a hang (generous: 2 shared cores, ASan);
# -max_len bounds the input size.
set +e
"$build_dir/fuzz/parser_fuzzer" \
  -max_total_time="$seconds" \
  -timeout=30 -rss_limit_mb=4096 -max_len=8192 \
  -dict="$root/fuzz/twin.dict" \
  -artifact_prefix="$artifacts/" \
  "${jobs[@]}" \
  -print_final_stats=1 \
  "${extra[@]}" \
  "$corpus" "$seeds"
rc=$?
set -e
found=$(find "$artifacts" -type f | wc -l)
echo "fuzz: exit $rc; $found file(s) in $artifacts"
exit $rc
