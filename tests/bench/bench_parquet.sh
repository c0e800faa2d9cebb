#!/usr/bin/env bash
# ingot convert NDJSON -> Parquet against DuckDB's own
#   COPY (SELECT * FROM read_ndjson_auto(IN, ignore_errors = true)) TO OUT (FORMAT parquet, COMPRESSION zstd)
# (read_ndjson without a column list reads each line as one JSON value)
# on the same THREADS (issue 16's figure).
#
#   tests/bench/bench_parquet.sh [SIZE] [BUILD_DIR]      (defaults: 1G build)
#
# Two taxi-shaped NDJSON files of SIZE (gen_taxi): a clean one, timed for both tools
# (DuckDB's column detection gives up on a file with broken lines and reads each line
# as one JSON value), and one with 0.1% broken lines that ingot alone converts (rows
# must equal its valid records). Tools take turns, RUNS rounds; the table shows the
# median wall time, user + system time and peak RSS (/usr/bin/time). Each output is
# checked once with DuckDB: rows, the types and sums of vendorid, trip_distance and
# total_amount, the non-null notes; and ingot's file size against the CSV's. ingot's
# peak RSS is checked against issue 16's 512 MiB (run it at 1G, the default, for that).
#
# Environment: INGOT_BENCH_DIR (default /tmp/ingot-bench-parquet), RUNS (default 3),
# THREADS (default 2), SEED (default 42), INGOT, GEN_TAXI; INGOT_PEERS_NODE_DIR (default
# tests/bench/peers, where scripts/install-test-readers.sh installs DuckDB).
set -euo pipefail

SIZE=${1:-1G}
BUILD_DIR=${2:-build}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
SEED=${SEED:-42}
WORK=${INGOT_BENCH_DIR:-/tmp/ingot-bench-parquet}

BENCH=bench_parquet
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_check_size "$SIZE"
bench_check_count RUNS
bench_check_count THREADS
bench_resolve_build_dir
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (GNU time); apt-get install time"
bench_need node "apt-get install nodejs npm"
bench_find_ingot
bench_workdir
GEN=$(bench_find_gen)
PEER=$SCRIPT_DIR/parquet_peer.mjs
export INGOT_PEERS_NODE_DIR=${INGOT_PEERS_NODE_DIR:-$SCRIPT_DIR/peers}
[[ -d $INGOT_PEERS_NODE_DIR/node_modules/@duckdb ]] ||
    die "DuckDB for node not found in $INGOT_PEERS_NODE_DIR; run scripts/install-test-readers.sh"

gen() {  # FILE BROKEN_RATE
    [[ -s $1 ]] && return
    note "generating $1"
    "$GEN" --size "$SIZE" --seed "$SEED" --broken-rate "$2" --format ndjson -o "$1.tmp"
    mv -- "$1.tmp" "$1"
}
IN=$WORK/taxi-clean-$SIZE-$SEED.ndjson
BROKEN=$WORK/taxi-broken-$SIZE-$SEED.ndjson
gen "$IN" 0
gen "$BROKEN" 0.001
CSV=$WORK/taxi-broken-$SIZE-$SEED.csv
[[ -s $CSV ]] || "$INGOT" convert "$BROKEN" -o "$CSV" -q -j "$THREADS"

OUT=$WORK/out
mkdir -p "$OUT"
trap 'rm -rf -- "$OUT"' EXIT

# run NAME CMD... : one timed run; appends "wall user+sys rss_kb" to $OUT/NAME.times.
run() {
    local name=$1; shift
    rm -f -- "$OUT/$name.parquet"
    sync
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/time" "$@" >/dev/null 2>"$OUT/$name.err" ||
        { cat "$OUT/$name.err" >&2; die "$name failed"; }
    awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$OUT/time" >>"$OUT/$name.times"
}
ingot_run() { run ingot "$INGOT" convert "$IN" -o "$OUT/ingot.parquet" -j "$THREADS" --json; }
duckdb_run() { run duckdb node "$PEER" copy "$IN" "$OUT/duckdb.parquet" "$THREADS"; }

rm -f -- "$OUT"/*.times
for ((i = 0; i < RUNS; i++)); do
    if ((i % 2)); then duckdb_run; ingot_run; else ingot_run; duckdb_run; fi
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { awk -v c="$2" '{ print $c }' "$OUT/$1.times" | median; }
printf '\n%-8s %10s %12s %10s %12s\n' tool "wall s" "user+sys s" "RSS MiB" "file MiB"
for t in ingot duckdb; do
    printf '%-8s %10s %12s %10d %12.1f\n' "$t" "$(col $t 1)" "$(col $t 2)" $(($(col $t 3) / 1024)) \
        "$(echo "$(stat -c %s "$OUT/$t.parquet") / 1048576" | bc -l)"
done
echo "duckdb/ingot wall: $(echo "$(col duckdb 1) / $(col ingot 1)" | bc -l | cut -c1-4)x" \
    "(input $(stat -c %s "$IN") bytes, THREADS=$THREADS, RUNS=$RUNS)"
# Issue 16: peak RSS <= 512 MiB, whatever the input size (the largest run counts).
rss_max=$(awk '{ print $3 }' "$OUT/ingot.times" | sort -n | tail -1)
echo "ingot peak RSS: $((rss_max / 1024)) MiB (bound 512 MiB): $( ((rss_max <= 512 * 1024)) && echo ok || echo OVER)"

for t in ingot duckdb; do echo "$t (clean input): $(node "$PEER" check "$OUT/$t.parquet")"; done
/usr/bin/time -f "%e s %M KB" -o "$OUT/time" "$INGOT" convert "$BROKEN" -o "$OUT/broken.parquet" -j "$THREADS" --json \
    >"$OUT/broken.json" 2>/dev/null
valid=$(sed -n 's/.*"valid":\([0-9]*\).*/\1/p' "$OUT/broken.json")
invalid=$(sed -n 's/.*"invalid":\([0-9]*\).*/\1/p' "$OUT/broken.json")
echo "ingot (0.1% broken lines): $valid valid, $invalid invalid records, $(cat "$OUT/time");" \
    "Parquet $(echo "100 * $(stat -c %s "$OUT/broken.parquet") / $(stat -c %s "$CSV")" | bc)% of the CSV's size"
echo "ingot (0.1% broken lines): $(node "$PEER" check "$OUT/broken.parquet")"
