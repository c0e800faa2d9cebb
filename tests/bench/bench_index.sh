#!/usr/bin/env bash
# ingot index / get / serve benchmark (the line-server problem).
#
#   tests/bench/bench_index.sh [SIZE] [BUILD_DIR]      (defaults: 1G build)
#
# On a NYC-taxi-shaped NDJSON file of SIZE (generated once, reused while SIZE/SEED/
# generator version match), with the input in the page cache:
#   1. index build time vs `wc -l` on the same file (hyperfine medians; the target is
#      index <= 2 x wc -l), at -j 1 and -j 0 (all cores)
#   2. index size in bytes per record (target <= 2)
#   3. `ingot get FILE N` whole-process wall time for GETS random N (median, p99),
#      next to `ingot --version` (the start-up cost every ingot command pays)
#   4. `ingot serve` under wrk on 127.0.0.1, random /lines/N (wrk Lua script),
#      wrk -t 2, CONNS connections, DURATION: requests/s and p99 latency
#
# Environment:
#   INGOT_BENCH_DIR  work dir (default /tmp/ingot-bench); the input is kept there
#   RUNS             hyperfine timed runs (default 10, plus WARMUP=2 warmups)
#   GETS             random `ingot get` runs (default 1000)
#   DURATION         wrk duration (default 10s)
#   CONNS            wrk connections (default 16; tests/bench/bench_serve.sh runs 200)
#   SEED             gen_taxi seed (default 42)
#   INGOT, GEN_TAXI  binaries (default BUILD_DIR/ingot, BUILD_DIR/tests/bench/gen_taxi)
set -euo pipefail

SIZE=${1:-1G}
BUILD_DIR=${2:-build}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
GETS=${GETS:-1000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
SEED=${SEED:-42}
WORK=${INGOT_BENCH_DIR:-/tmp/ingot-bench}

BENCH=bench_index
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_check_size "$SIZE"
bench_check_count RUNS
bench_check_count GETS
bench_check_count CONNS
[[ $DURATION =~ ^[1-9][0-9]*[smh]?$ ]] || die "bad DURATION '$DURATION' (e.g. 10s)"
bench_resolve_build_dir

# ------------------------------------------------------------------ tools
bench_need hyperfine "apt-get install hyperfine"
bench_need python3 "apt-get install python3"
if ! command -v wrk >/dev/null 2>&1; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        note "installing wrk (apt-get install -y wrk)"
        apt-get install -y wrk >/dev/null || die "could not install wrk; install it with: apt-get install wrk"
    else
        die "wrk not found; install it with: sudo apt-get install wrk"
    fi
fi
bench_find_ingot
bench_workdir
GEN=$(bench_find_gen)

# ------------------------------------------------------------------ cleanup
SERVE_PID=
cleanup() {
    if [[ -n $SERVE_PID ]]; then kill "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
    rm -f -- "$WORK"/index-*.tmp "$WORK/random.lua" "$WORK/serve.err"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ input data
# Own names (index-*), so bench_convert.sh's inputs and stamps are left alone.
IN=$WORK/index-taxi-$SIZE.ndjson
STAMP=$WORK/index-taxi-$SIZE.stamp
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
BYTES=$(fsize "$IN")
note "warming the page cache"
cat -- "$IN" >/dev/null

hf_median() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join(str(x["median"]) for x in r))' "$1"; }
# Mean CPU time (user + system) per command: steadier than wall time on a busy machine.
hf_cpu() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join(str(x["user"] + x["system"]) for x in r))' "$1"; }

# ------------------------------------------------------------------ 1. index vs wc -l
echo
echo "=== 1. index build vs wc -l ($RUNS runs)"
HF=$WORK/hyperfine-index-$SIZE.json
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$HF" \
    --command-name "wc -l" "wc -l $IN" \
    --command-name "ingot index -j1" "$INGOT index -q -j 1 $IN" \
    --command-name "ingot index -j0" "$INGOT index -q -j 0 $IN"
read -r WC_S IDX1_S IDX0_S <<<"$(hf_median "$HF")"
read -r WC_CPU IDX1_CPU IDX0_CPU <<<"$(hf_cpu "$HF")"

# ------------------------------------------------------------------ 2. bytes/record
"$INGOT" index -q --json "$IN" >"$WORK/index-report.json"
read -r RECORDS IDX_BYTES BPR <<<"$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["result"]
print(r["records"], r["index_bytes"], "%.3f" % r["bytes_per_record"])' "$WORK/index-report.json")"
rm -f -- "$WORK/index-report.json"

# ------------------------------------------------------------------ 3. get latency
echo
echo "=== 3. ingot get: $GETS random records, whole-process wall time"
# Runs are interleaved with `ingot --version` (same binary, no work), so the process
# start-up cost, which every ingot command pays, is reported next to get's total.
GET_STATS=$(python3 - "$INGOT" "$IN" "$RECORDS" "$GETS" "$SEED" <<'EOF'
import os, random, sys, time
ingot, path, records, gets, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
devnull = os.open(os.devnull, os.O_WRONLY)
def run(argv):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(ingot, argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status = os.waitpid(pid, 0)
    if status != 0:
        sys.exit(f"{' '.join(argv)} failed with status {status}")
    return (time.perf_counter_ns() - t0) / 1e6
times, base = [], []
for _ in range(gets):
    times.append(run([ingot, "get", path, str(rng.randint(1, records))]))
    base.append(run([ingot, "--version"]))
times.sort()
base.sort()
def pct(v, p): return v[min(len(v) - 1, int(p / 100 * len(v)))]
print(f"{pct(times, 50):.2f} {pct(times, 99):.2f} {times[-1]:.2f} {pct(base, 50):.2f} {pct(base, 99):.2f}")
EOF
)
read -r GET_MED GET_P99 GET_MAX BASE_MED BASE_P99 <<<"$GET_STATS"
# One spot check against sed, so a fast wrong answer cannot pass.
SPOT=$((RECORDS / 2 + 1))
cmp -s <("$INGOT" get "$IN" "$SPOT") <(sed -n "${SPOT}{p;q}" "$IN") || die "ingot get $SPOT differs from sed -n ${SPOT}p"

# ------------------------------------------------------------------ 4. serve under wrk
echo
echo "=== 4. ingot serve under wrk: -t2 -c$CONNS -d$DURATION, random /lines/N on 127.0.0.1"
"$INGOT" serve "$IN" --bind 127.0.0.1 --port 0 2>"$WORK/serve.err" &
SERVE_PID=$!
PORT=
for _ in $(seq 1 500); do
    PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$WORK/serve.err")
    [[ -n $PORT ]] && break
    kill -0 "$SERVE_PID" 2>/dev/null || die "ingot serve exited: $(cat "$WORK/serve.err")"
    sleep 0.02
done
[[ -n $PORT ]] || die "ingot serve did not start listening: $(cat "$WORK/serve.err")"
cat >"$WORK/random.lua" <<EOF
math.randomseed($SEED)
request = function()
  return wrk.format("GET", "/lines/" .. math.random(1, $RECORDS))
end
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %.1f %.3f %.3f\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
EOF
WRK_OUT=$(wrk -t 2 -c "$CONNS" -d "$DURATION" --latency -s "$WORK/random.lua" "http://127.0.0.1:$PORT/")
echo "$WRK_OUT"
read -r _ WRK_REQS WRK_ERRS WRK_RPS WRK_P50 WRK_P99 <<<"$(grep '^BENCH ' <<<"$WRK_OUT")"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" || die "ingot serve did not stop cleanly on SIGTERM: $(cat "$WORK/serve.err")"
SERVE_PID=

# ------------------------------------------------------------------ table
NCPU=$(nproc)
echo
echo "ingot index/get/serve, $SIZE NDJSON ($BYTES B, $RECORDS records), $NCPU cores, input in page cache"
python3 - "$WC_S" "$IDX1_S" "$IDX0_S" "$BYTES" "$RECORDS" "$IDX_BYTES" "$BPR" "$GET_MED" "$GET_P99" "$GET_MAX" \
    "$WRK_RPS" "$WRK_P50" "$WRK_P99" "$WRK_REQS" "$WRK_ERRS" "$CONNS" "$DURATION" \
    "$WC_CPU" "$IDX1_CPU" "$IDX0_CPU" "$BASE_MED" "$BASE_P99" <<'EOF'
import sys
(wc, j1, j0, nbytes, records, idx_bytes, bpr, gmed, gp99, gmax, rps, p50, p99, reqs, errs, conns, dur,
 wc_cpu, j1_cpu, j0_cpu, bmed, bp99) = sys.argv[1:]
wc, j1, j0 = float(wc), float(j1), float(j0)
cpu = lambda x: f"cpu {float(x) * 1000:.0f} ms"
gb = int(nbytes) / 1e9
rows = [
    ("wc -l", f"{wc * 1000:.0f} ms", f"{gb / wc:.1f} GB/s", cpu(wc_cpu)),
    ("ingot index -j1", f"{j1 * 1000:.0f} ms", f"{gb / j1:.1f} GB/s", f"{j1 / wc:.2f} x wc -l; {cpu(j1_cpu)}"),
    ("ingot index -j0", f"{j0 * 1000:.0f} ms", f"{gb / j0:.1f} GB/s",
     f"{j0 / wc:.2f} x wc -l ({'ok' if j0 <= 2 * wc else 'over'}: target <= 2); {cpu(j0_cpu)}"),
    ("index size", f"{int(idx_bytes):,} B", f"{bpr} B/record", "ok: target <= 2" if float(bpr) <= 2 else "over: target <= 2"),
    ("ingot get (random N)", f"median {gmed} ms", f"p99 {gp99} ms",
     f"max {gmax} ms, whole process; ingot --version: median {bmed} ms, p99 {bp99} ms"),
    ("ingot serve + wrk", f"{float(rps):,.0f} req/s", f"p99 {p99} ms", f"p50 {p50} ms; {int(reqs):,} requests, {errs} errors, {conns} conns, {dur}"),
]
for r in rows:
    print(f"{r[0]:<22} {r[1]:>16} {r[2]:>16}   {r[3]}")
EOF
echo
echo "Wall: medians of hyperfine runs ($RUNS); cpu: mean user+system. get: python3 posix_spawn + waitpid per run."
echo "serve: wrk -t2 on the same $NCPU cores as the server. During the run: $(uptime)"
echo "Raw results: $HF"
