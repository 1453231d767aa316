#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, docs/fuzzing.md) with clang-14 into ${FUZZ_BUILD_DIR:-build-fuzz}
# and runs each for the given seconds (default 20), one after the other. Prints runs and status per
# target; exits non-zero on any crash, hang, out-of-memory or sanitizer report (the input is kept in
# <build>/artifacts/<target>/). New corpus entries go to <build>/corpus/<target>, not into the tree.
# FUZZ_TARGETS="topic flat_json" limits the run to some targets.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWITH_FUZZ=ON \
  -DWITH_TESTS=OFF -DWITH_BENCH=OFF -DWARNINGS_AS_ERRORS=ON "${launcher[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target fuzz_all

# Longest input per target: enough for a rules file or a payload, short enough to stay fast.
max_len() {
  case $1 in
    topic) echo 512 ;;
    flat_json) echo 1024 ;;
    options|dead_letter) echo 2048 ;;
    json_schema|alerts_engine|influx_mapper|hadiscovery_engine) echo 4096 ;;
    *) echo 8192 ;;
  esac
}

targets=${FUZZ_TARGETS:-$(cat "$build_dir/fuzz/targets.txt")}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
summary=()
for t in $targets; do
  corpus=$build_dir/corpus/$t
  artifacts=$build_dir/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  dirs=("$corpus" "fuzz/corpus/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  log=$build_dir/fuzz-$t.log
  echo "fuzz: $t for ${seconds}s (log $log)"
  status=ok
  if ! nice "$build_dir/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=5 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "${dirs[@]}" >"$log" 2>&1; then
    status=FAILED
    failed=1
    grep -E "ERROR: |runtime error|fuzz check failed|Test unit written" "$log" | head -5 || true
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  summary+=("$(printf '%-16s runs %10s  %s' "$t" "${runs:-?}" "$status")")
done
printf '%s\n' "${summary[@]}"
exit $failed
