#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (built into build-asan/bin by `tools/sanitize.sh asan`),
# two at a time, each for a bounded time:
#   tools/fuzz.sh [SECONDS] [TARGET...]     default: 45 s per target, every target
#   tools/fuzz.sh 3600 fuzz_tc              a longer run of one target
# Each target starts from its seeds in fuzz/corpus/<kind>/ and from what earlier runs kept in
# build-asan/fuzz-corpus/<kind>/. A finding (crash, sanitizer report, timeout, out of memory)
# is written to build-asan/fuzz-findings/ and the script exits 1 after every target ran.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-45}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_tc fuzz_npy fuzz_cache_entry fuzz_graph)
declare -A corpus=([fuzz_tc]=tc [fuzz_npy]=npy [fuzz_cache_entry]=cache [fuzz_graph]=graph)

export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-19
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
mkdir -p build-asan/fuzz-findings build-asan/fuzz-logs

run_target() {  # TARGET
  local t="$1" kind="${corpus[$1]:-}"
  [ -n "$kind" ] || { echo "fuzz: unknown target '$t'" >&2; return 2; }
  [ -x "build-asan/bin/$t" ] || { echo "fuzz: build-asan/bin/$t missing: run tools/sanitize.sh asan first" >&2; return 2; }
  mkdir -p "build-asan/fuzz-corpus/$kind"
  "build-asan/bin/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="build-asan/fuzz-findings/$t-" \
    "build-asan/fuzz-corpus/$kind" "fuzz/corpus/$kind" >"build-asan/fuzz-logs/$t.log" 2>&1
}

status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=()
  names=()
  for t in "${targets[@]:i:2}"; do
    run_target "$t" &
    pids+=($!)
    names+=("$t")
  done
  for j in "${!pids[@]}"; do
    t="${names[$j]}"
    if wait "${pids[$j]}"; then
      echo "fuzz: $t: $(grep -h -o 'stat::number_of_executed_units: *[0-9]*' "build-asan/fuzz-logs/$t.log" | grep -o '[0-9]*$') inputs in ${seconds} s, no finding"
    else
      status=1
      echo "fuzz: $t: FINDING (log build-asan/fuzz-logs/$t.log):"
      grep -E "ERROR|runtime error|SUMMARY|Test unit written|uncaught" "build-asan/fuzz-logs/$t.log" | head -20
    fi
  done
done
exit $status
