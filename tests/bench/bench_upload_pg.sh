#!/usr/bin/env bash
# ingot upload to PostgreSQL against psql's \copy, side by side, on one local server.
#
#   RUNS=3 tests/bench/bench_upload_pg.sh [SIZE] [BUILD_DIR]      (defaults: 256M build)
#
# One NYC-taxi-shaped CSV (gen_taxi), loaded into a fresh table by
#   copy   psql \copy t FROM FILE WITH (FORMAT csv, HEADER)
#   w1     ingot upload FILE PG --table t --workers 1
#   w2     ingot upload FILE PG --table t --workers 2
# for two tables: "typed" (the taxi columns as int, timestamp, float8, text: ingot sends
# COPY binary) and "text" (every column text: ingot sends COPY text). Each run loads
# every case once, the order alternating from run to run (copy w1 w2, then w2 w1 copy),
# each into a new table after a CHECKPOINT, the table dropped once counted. Prints the
# median seconds of RUNS runs per case and the ratios \copy / ingot, and, when the
# script started the server, the CPU seconds the server's backends spent per load
# (the postmaster's reaped children; autovacuum off), which a shared machine disturbs
# less than wall time.
#
# Environment:
#   INGOT_BENCH_DIR  work dir (default /tmp/ingot-bench-pg); the input is kept there
#   PG_URL           use a running server instead of starting one (no CPU figures)
#   RUNS             runs per case (default 3)
#   SEED             gen_taxi seed (default 42)
set -euo pipefail

SIZE=${1:-256M}
BUILD_DIR=${2:-build}
WORK=${INGOT_BENCH_DIR:-/tmp/ingot-bench-pg}
RUNS=${RUNS:-3}
SEED=${SEED:-42}

BENCH=bench_upload_pg
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_check_size "$SIZE"
bench_check_count RUNS
bench_resolve_build_dir
bench_find_ingot
bench_need psql "apt-get install postgresql-client-15"
bench_workdir
GEN=$(bench_find_gen)
STARTED=
cleanup() {
    [[ -n $STARTED ]] && "$REPO_DIR/tests/fixtures/pg/stop.sh" "$WORK/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PM=
if [[ -z ${PG_URL:-} ]]; then
    note "starting PostgreSQL in $WORK/pg"
    PG_URL=$("$REPO_DIR/tests/fixtures/pg/start.sh" "$WORK/pg" | sed -n 's/^PG_URL=//p')
    STARTED=1
    PM=$(head -1 "$WORK/pg/data/postmaster.pid")
    # Autovacuum would analyze each new table on the clock of the next case.
    psql "$PG_URL" -qX -c "ALTER SYSTEM SET autovacuum = off" -c "SELECT pg_reload_conf()" >/dev/null
fi

IN=$WORK/taxi-$SIZE.csv
bench_gen "$IN" csv "$SIZE"
BYTES=$(stat -c %s -- "$IN")
cat -- "$IN" >/dev/null  # every case reads from the page cache

TEXT_COLS=$(head -1 "$IN" | tr ',' '\n' | sed 's/.*/"&" text/' | paste -sd,)
TYPED_COLS="vendorid int, tpep_pickup_datetime timestamp, tpep_dropoff_datetime timestamp, passenger_count int,
 trip_distance float8, ratecodeid int, store_and_fwd_flag text, pulocationid int, dolocationid int, payment_type int,
 fare_amount float8, extra float8, mta_tax float8, tip_amount float8, tolls_amount float8,
 improvement_surcharge float8, total_amount float8, congestion_surcharge float8, airport_fee float8, notes text,
 meta text"
[[ $(head -1 "$IN") == vendorid,tpep_pickup_datetime,*,notes,meta ]] || die "unexpected gen_taxi header: $(head -1 "$IN")"

backend_cs() { [[ -n $PM ]] && awk '{ print $16 + $17 }' "/proc/$PM/stat" || echo 0; }
now() { date +%s.%N; }
declare -A SECS CPU
ROWS=
one() {  # kind case run
    local kind=$1 c=$2 run=$3 t=bench_pg_$$ cols t0 t1 c0
    [[ $kind == typed ]] && cols=$TYPED_COLS || cols=$TEXT_COLS
    psql "$PG_URL" -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS $t" -c "CREATE TABLE $t ($cols)" -c CHECKPOINT \
        >/dev/null
    sync
    c0=$(backend_cs)
    t0=$(now)
    case $c in
    copy) psql "$PG_URL" -qX -v ON_ERROR_STOP=1 -c "\\copy $t FROM '$IN' WITH (FORMAT csv, HEADER)" ;;
    w1 | w2) "$INGOT" upload "$IN" "$PG_URL" --table "$t" --workers "${c#w}" -q ;;
    esac
    t1=$(now)
    ROWS+=" $(psql "$PG_URL" -qAtX -c "SELECT count(*) FROM $t")"  # the backends have exited: counted
    SECS[$kind.$c.$run]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    CPU[$kind.$c.$run]=$(awk -v a="$c0" -v b="$(backend_cs)" 'BEGIN { printf "%.2f", (b - a) / 100 }')
    psql "$PG_URL" -qX -c "DROP TABLE $t" -c "DELETE FROM ingot_load_ledger WHERE target_table = '$t'" >/dev/null 2>&1 || true
    note "$kind $c run $run: ${SECS[$kind.$c.$run]} s, backends ${CPU[$kind.$c.$run]} CPU-s"
}
median() {  # array-prefix
    local -n arr=$1
    local i
    for ((i = 1; i <= RUNS; i++)); do echo "${arr[$2.$i]}"; done | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
for kind in typed text; do
    for ((run = 1; run <= RUNS; run++)); do
        if ((run % 2)); then order="copy w1 w2"; else order="w2 w1 copy"; fi
        for c in $order; do one "$kind" "$c" "$run"; done
    done
done
[[ $(echo "$ROWS" | tr ' ' '\n' | sed '/^$/d' | sort -u | wc -l) == 1 ]] || die "row counts differ:$ROWS"

echo
echo "ingot upload to PostgreSQL: $IN ($BYTES bytes, $(echo "$ROWS" | awk '{ print $1 }') rows), median of $RUNS alternating runs, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-5s %8s %8s  %s\n' table case seconds backend runs
for kind in typed text; do
    for c in copy w1 w2; do
        all=
        for ((i = 1; i <= RUNS; i++)); do all+="${all:+ }${SECS[$kind.$c.$i]}"; done
        printf '%-6s %-5s %8s %8s  %s\n' "$kind" "$c" "$(median SECS "$kind.$c")" "$(median CPU "$kind.$c")" "$all"
    done
done
for kind in typed text; do
    awk -v k="$kind" -v c="$(median SECS "$kind.copy")" -v a="$(median SECS "$kind.w1")" -v b="$(median SECS "$kind.w2")" \
        'BEGIN { printf "%s table: ingot --workers 1 is %.2fx \\copy, --workers 2 %.2fx (targets >= 1.0, >= 1.3)\n", k, c / a, c / b }'
done
