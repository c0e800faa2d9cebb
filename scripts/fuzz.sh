#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang, ASan and UBSan (build-fuzz/)
# and runs each for SECONDS (default 60), starting from the seed corpus in
# tests/fuzz/corpus/<target>/. Fails on any crash, leak, timeout, property failure or
# sanitizer report; the input that triggered it is saved as
# build-fuzz/artifacts/<target>-crash-*. Prints the executions per target.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      e.g. scripts/fuzz.sh 30 chunker manifest
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
build=${INGOT_FUZZ_BUILD:-build-fuzz}

cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DINGOT_FUZZ=ON -DINGOT_SANITIZE=ON -DINGOT_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
cmake --build "$build" --target fuzz -j "${JOBS:-$(nproc)}"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.cpp; do
    t=$(basename "$src" .cpp)
    targets+=("${t#fuzz_}")
  done
fi

mkdir -p "$build/artifacts" "$build/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
printf '%-18s %14s %10s  %s\n' target executions exec/s result
for t in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/$t
  work=$build/corpus/$t  # grows as the fuzzer finds new coverage; the seeds stay as committed
  mkdir -p "$work"
  log=$build/logs/$t.log
  rc=0
  "$build/fuzz_$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  if [ $rc -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log"; then
    result=ok
  else
    result="FAILED (exit $rc, see $log)"
    failed+=("$t")
  fi
  printf '%-18s %14s %10s  %s\n' "$t" "$execs" "$rate" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  for t in "${failed[@]}"; do
    echo "---- $t ----" >&2
    grep -E -A30 'ERROR:|runtime error:|property failed|==[0-9]+==' "$build/logs/$t.log" | head -60 >&2 || tail -40 "$build/logs/$t.log" >&2
  done
  exit 1
fi
