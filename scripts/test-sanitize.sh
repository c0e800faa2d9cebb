#!/usr/bin/env bash
# Builds the whole project with AddressSanitizer + UBSan in build-asan/ and runs the
# full test suite there (unit and CLI tests; the CLI tests run the instrumented
# binary). Any sanitizer report fails the test that triggered it.
# Upload tests use real servers when S3_ENDPOINT / PG_URL are set in the environment
# (tests/fixtures/servers.sh up DIR writes them) and skip themselves otherwise.
#
#   scripts/test-sanitize.sh [extra ctest args...]     e.g. -R 'unit: '
set -euo pipefail
cd "$(dirname "$0")/.."
build=${INGOT_ASAN_BUILD:-build-asan}
jobs=${JOBS:-$(nproc)}

start=$(date +%s)
# -O1 keeps the run fast enough while leaving stack traces readable; asserts stay on.
cmake -S . -B "$build" -G Ninja -DINGOT_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g -fno-omit-frame-pointer" >/dev/null
cmake --build "$build" -j "$jobs"
built=$(date +%s)

# detect_leaks: LeakSanitizer at exit. abort_on_error gives a core-less abort that
# ctest reports as a failure; halt_on_error stops at the first UBSan report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}
# tests/lsan.supp: one documented false positive (OpenSSL per-thread state).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 1800 "$@" || status=$?
end=$(date +%s)
echo "test-sanitize: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s" >&2
exit $status
