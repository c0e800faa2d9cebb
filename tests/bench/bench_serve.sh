#!/usr/bin/env bash
# ingot serve under busy and hostile clients (issue 12), one or two builds side by side.
#
#   tests/bench/bench_serve.sh [SIZE] [BUILD_DIR]      (defaults: 64M build)
#   OLD_INGOT=/path/to/other/ingot tests/bench/bench_serve.sh   (also measures that build)
#
# On a NYC-taxi-shaped NDJSON file of SIZE (generated once into the work directory,
# reused while SIZE/SEED/generator version match; in the page cache), for each build:
#   1. keep-alive load: wrk -t2 -cCONNS -dDURATION --latency, random /lines/N:
#      requests/s, p50, p99 and the slowest request (target: p99 < 10 ms at 200 conns).
#      wrk's latencies cover answered requests only; "in flight" (req/s x mean latency,
#      Little's law) shows how many of the CONNS connections were really being served
#      (the cpp-httplib build served its 16 threads' worth and left the rest waiting).
#   2. slow clients: SLOW connections each send a partial request head, then drip one
#      more header line; then one normal request on a fresh connection: how long it
#      waits for its answer (target: < 1 s; "none" when no answer came within 20 s)
#
# Environment:
#   INGOT_BENCH_DIR  work dir (default /tmp/ingot-bench)
#   CONNS            wrk connections (default 200)
#   DURATION         wrk duration (default 10s)
#   SLOW             slow clients (default 200)
#   THREADS          ingot serve --threads for the build under test (default: its default)
#   SEED             gen_taxi seed (default 42)
#   INGOT, OLD_INGOT, GEN_TAXI  binaries (default BUILD_DIR/ingot, none, BUILD_DIR/tests/bench/gen_taxi)
set -euo pipefail

SIZE=${1:-64M}
BUILD_DIR=${2:-build}
CONNS=${CONNS:-200}
DURATION=${DURATION:-10s}
SLOW=${SLOW:-200}
THREADS=${THREADS:-}
SEED=${SEED:-42}
WORK=${INGOT_BENCH_DIR:-/tmp/ingot-bench}

BENCH=bench_serve
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_check_size "$SIZE"
bench_check_count CONNS
bench_check_count SLOW
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "bad DURATION '$DURATION' (e.g. 10s)"
[[ -z $THREADS || $THREADS =~ ^[0-9]+$ ]] || die "bad THREADS '$THREADS'"
bench_resolve_build_dir
bench_need wrk "apt-get install wrk"
bench_need python3 "apt-get install python3"
bench_find_ingot
bench_workdir
GEN=$(bench_find_gen)
if [[ -n ${OLD_INGOT:-} ]]; then
    [[ -x $OLD_INGOT ]] || die "OLD_INGOT='$OLD_INGOT' is not executable"
fi
# Descriptors: both ends of CONNS or SLOW connections live on this machine.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

SERVE_PID=
cleanup() {
    if [[ -n $SERVE_PID ]]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
    rm -f -- "$WORK/serve-random.lua" "$WORK/serve.err"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ input data
IN=$WORK/serve-taxi-$SIZE.ndjson
STAMP=$WORK/serve-taxi-$SIZE.stamp
WANT_STAMP="$("$GEN" --version) size=$SIZE seed=$SEED"
fsize() { stat -c %s -- "$1"; }
if [[ -f $IN && -f $STAMP && $(cat "$STAMP") == "$WANT_STAMP bytes=$(fsize "$IN")" ]]; then
    note "reusing $IN"
else
    rm -f -- "$IN" "$STAMP" "$IN.idx"
    note "generating $SIZE of NDJSON into $IN (seed $SEED)"
    "$GEN" --size "$SIZE" --seed "$SEED" --format ndjson -o "$IN.tmp"
    mv -- "$IN.tmp" "$IN"
    echo "$WANT_STAMP bytes=$(fsize "$IN")" >"$STAMP"
fi
RECORDS=$("$INGOT" index -q --json "$IN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["records"])')
cat -- "$IN" >/dev/null

cat >"$WORK/serve-random.lua" <<LUA
math.randomseed($SEED)
request = function()
  return wrk.format("GET", "/lines/" .. math.random(1, $RECORDS))
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %.1f %.3f %.3f %.3f %.1f\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests / (summary.duration / 1e6) * latency.mean / 1e6))
end
LUA

# Starts `$1 serve IN --port 0 [args...]`; sets SERVE_PID and PORT.
start_serve() {
    local bin=$1
    shift
    "$bin" serve "$IN" --bind 127.0.0.1 --port 0 "$@" 2>"$WORK/serve.err" &
    SERVE_PID=$!
    PORT=
    for _ in $(seq 1 500); do
        PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.err")
        [[ -n $PORT ]] && return 0
        kill -0 "$SERVE_PID" 2>/dev/null || die "$bin serve exited: $(cat "$WORK/serve.err")"
        sleep 0.02
    done
    die "$bin serve did not start listening: $(cat "$WORK/serve.err")"
}
stop_serve() {
    kill -TERM "$SERVE_PID"
    wait "$SERVE_PID" || note "serve did not stop cleanly on SIGTERM: $(cat "$WORK/serve.err")"
    SERVE_PID=
}

# SLOW partial heads, one dripped line each, then one normal request: prints its wait
# in ms, or "none" when it got no answer within 20 s.
slow_clients() {
    python3 - "$PORT" "$SLOW" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
slow = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /lines/1 HTTP/1.1\r\n")
    slow.append(s)
for s in slow:
    try:
        s.sendall(b"Host: 127.0.0.1\r\n")
    except OSError:
        pass
t0 = time.perf_counter()
c = socket.create_connection(("127.0.0.1", port), timeout=20)
waited = "none"
try:
    c.sendall(b"GET /lines/2 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    if c.recv(65536).startswith(b"HTTP/1.1 200"):
        waited = "%.1f" % ((time.perf_counter() - t0) * 1000)
except OSError:
    pass
print(waited)
PY
}

ROWS=()
measure() {  # label, binary, serve args...
    local label=$1 bin=$2
    shift 2
    echo
    echo "=== $label: wrk -t2 -c$CONNS -d$DURATION --latency, random /lines/N"
    start_serve "$bin" "$@"
    local out reqs errs rps p50 p99 max inflight waited
    out=$(wrk -t 2 -c "$CONNS" -d "$DURATION" --latency -s "$WORK/serve-random.lua" "http://127.0.0.1:$PORT/")
    echo "$out"
    read -r _ reqs errs rps p50 p99 max inflight <<<"$(grep '^BENCH ' <<<"$out")"
    stop_serve
    echo "=== $label: $SLOW slow clients + 1 normal request"
    start_serve "$bin" "$@"
    waited=$(slow_clients)
    echo "normal request answered after: $waited ms"
    stop_serve
    ROWS+=("$(printf '%-6s %10.0f %9s %9s %10s %10s %8s %12s' "$label" "$rps" "$p50" "$p99" "$max" "$inflight" "$errs" "$waited")")
}

measure new "$INGOT" ${THREADS:+--threads "$THREADS"}
if [[ -n ${OLD_INGOT:-} ]]; then measure old "$OLD_INGOT"; fi

echo
echo "ingot serve, $SIZE NDJSON ($RECORDS records), $(nproc) cores, $CONNS keep-alive conns, $SLOW slow clients"
printf '%-6s %10s %9s %9s %10s %10s %8s %12s\n' build "req/s" "p50 ms" "p99 ms" "max ms" "in flight" errors "slow: ms"
printf '%s\n' "${ROWS[@]}"
echo "targets: p99 < 10 ms; the normal request among slow clients answered in < 1000 ms"
