#!/usr/bin/env bash
# ingot upload benchmark against the local test servers (tests/fixtures/servers.sh).
#
#   tests/bench/bench_upload.sh [SIZE] [BUILD_DIR]      (defaults: 512M build)
#
# One file (a NYC-taxi-shaped CSV from gen_taxi), the same local servers, one timed
# run per case (pg-copy and pg-w1: two each, see below):
#   s3-aws     aws s3 cp FILE s3://bench/aws          (awscli defaults: 8 MiB parts, 10 threads)
#   s3-ingot   ingot upload FILE s3://bench/ingot     (--part-size PART, --concurrency CONC)
#   pg-copy    psql \copy t FROM FILE (FORMAT csv, HEADER)
#   pg-w1      ingot upload FILE PG --table ... --workers 1
#   pg-w2      ingot upload FILE PG --table ... --workers 2
#              Every PostgreSQL case loads a new table after a CHECKPOINT, and the table
#              is dropped once counted, so the page cache does not fill up over the
#              cases (later loads ran up to 30% slower). A load still runs ~5% slower
#              when it follows another on the same fresh cluster, whichever goes first,
#              so pg-copy and pg-w1 run in the order copy, w1, w1, copy and each is the
#              mean of its two runs; pg-w2 goes last.
#   resume     ingot upload to S3 killed (-9) at ~40% of its parts, then rerun:
#              bytes re-sent (from the --json report) vs concurrency x part size
# Prints seconds and MB/s (1 MB = 10^6 bytes) per case and the ratios the issue asks for.
#
# Environment:
#   INGOT_BENCH_DIR  work dir (default /tmp/ingot-bench-upload); the input is kept there
#   S3_ENDPOINT, PG_URL  use running servers instead of starting them (servers.sh up)
#   PART, CONC       ingot S3 part size and concurrency (default 32M, 4: ingot's own defaults)
#   SEED             gen_taxi seed (default 42)
set -euo pipefail

SIZE=${1:-512M}
BUILD_DIR=${2:-build}
WORK=${INGOT_BENCH_DIR:-/tmp/ingot-bench-upload}
PART=${PART:-32M}
CONC=${CONC:-4}
SEED=${SEED:-42}

BENCH=bench_upload
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_check_size "$SIZE"
bench_resolve_build_dir
bench_find_ingot
bench_need aws "scripts/install-test-servers.sh (awscli)"
bench_need psql "apt-get install postgresql-client-15"
bench_workdir
GEN=$(bench_find_gen)
STARTED=
cleanup() {
    [[ -n $STARTED ]] && "$REPO_DIR/tests/fixtures/servers.sh" down "$WORK/servers" >/dev/null 2>&1 || true
    rm -rf -- "$WORK/home" "$WORK"/.*.ingot-upload "$WORK/state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ servers
if [[ -z ${S3_ENDPOINT:-} || -z ${PG_URL:-} ]]; then
    note "starting Swift + PostgreSQL in $WORK/servers"
    "$REPO_DIR/tests/fixtures/servers.sh" up "$WORK/servers" >/dev/null
    STARTED=1
    set -a; . "$WORK/servers/env"; set +a
fi
export HOME=$WORK/home AWS_ACCESS_KEY_ID=${S3_ACCESS_KEY:-test:tester} AWS_SECRET_ACCESS_KEY=${S3_SECRET_KEY:-testing}
export AWS_DEFAULT_REGION=${S3_REGION:-us-east-1}
mkdir -p "$HOME"
aws configure set default.s3.addressing_style path

# ------------------------------------------------------------------ data
IN=$WORK/taxi-$SIZE.csv
bench_gen "$IN" csv "$SIZE"
BYTES=$(stat -c %s -- "$IN")
cat -- "$IN" >/dev/null  # warm the page cache: every case reads from memory

now() { date +%s.%N; }
declare -A SECS
timed() {  # name cmd...
    local name=$1 t0 t1; shift
    # Flush the previous case's writes (Swift and PostgreSQL data) so they do not
    # slow this one down; the disk here is slow.
    sync
    t0=$(now)
    "$@" >/dev/null
    t1=$(now)
    SECS[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    note "$name: ${SECS[$name]} s"
}
mbps() { awk -v b="$BYTES" -v s="${SECS[$1]}" 'BEGIN { printf "%.1f", b / 1e6 / s }'; }
ratio() { awk -v a="${SECS[$1]}" -v b="${SECS[$2]}" 'BEGIN { printf "%.2f", a / b }'; }

# ------------------------------------------------------------------ S3
BUCKET=bench-$$
aws --endpoint-url "$S3_ENDPOINT" s3 mb "s3://$BUCKET" >/dev/null
timed s3-aws aws --endpoint-url "$S3_ENDPOINT" s3 cp --no-progress "$IN" "s3://$BUCKET/aws"
timed s3-ingot "$INGOT" upload "$IN" "s3://$BUCKET/ingot" --endpoint "$S3_ENDPOINT" --part-size "$PART" \
    --concurrency "$CONC" --state "$WORK/state" -q

# ------------------------------------------------------------------ resume after kill -9
mkdir -p "$WORK/state"
"$INGOT" upload "$IN" "s3://$BUCKET/resume" --endpoint "$S3_ENDPOINT" --part-size "$PART" --concurrency "$CONC" \
    --state "$WORK/state" -q &
PID=$!
NPARTS=$(( (BYTES + $(numfmt --from=iec "$PART") - 1) / $(numfmt --from=iec "$PART") ))
while kill -0 "$PID" 2>/dev/null; do
    J=$(ls "$WORK"/state/*.ingot-upload 2>/dev/null | head -1 || true)
    if [[ -n $J ]] && (( $(grep -c '"done"' "$J" || true) * 10 >= NPARTS * 4 )); then break; fi
    sleep 0.05
done
kill -9 "$PID" 2>/dev/null || true
wait "$PID" 2>/dev/null || true
DONE_AT_KILL=$(grep -c '"done"' "$WORK"/state/*.ingot-upload || true)
REPORT=$("$INGOT" upload "$IN" "s3://$BUCKET/resume" --endpoint "$S3_ENDPOINT" --part-size "$PART" \
    --concurrency "$CONC" --state "$WORK/state" --json -q)
read -r RESENT SENT SKIPPED < <(echo "$REPORT" | python3 -c \
    'import json,sys; s=json.load(sys.stdin)["result"]["stats"]; print(s["bytes_resent"], s["bytes_sent"], s["bytes_skipped"])')

# ------------------------------------------------------------------ PostgreSQL
HEADER=$(head -1 "$IN")
COLS=$(echo "$HEADER" | tr ',' '\n' | sed 's/.*/"&" text/' | paste -sd,)
TABLES="bench_copy_a bench_w1_a bench_w1_b bench_copy_b bench_w2"
drop_tables() {
    psql "$PG_URL" -qX -c "DROP TABLE IF EXISTS ${TABLES// /, }" \
        -c "DELETE FROM ingot_load_ledger WHERE target_table LIKE 'bench_%'" >/dev/null 2>&1 || true
}
drop_tables
ROWS=
pg_case() {  # name table cmd...: load a new table, count its rows, drop it
    local name=$1 t=$2; shift 2
    psql "$PG_URL" -qX -v ON_ERROR_STOP=1 -c "CREATE TABLE $t ($COLS)" -c CHECKPOINT
    timed "$name" "$@"
    ROWS+=${ROWS:+/}$(psql "$PG_URL" -qAtX -c "SELECT count(*) FROM $t")
    psql "$PG_URL" -qX -c "DROP TABLE $t"
}
pg_copy() { psql "$PG_URL" -qX -v ON_ERROR_STOP=1 -c "\\copy $1 FROM '$IN' WITH (FORMAT csv, HEADER)"; }
pg_case pg-copy-a bench_copy_a pg_copy bench_copy_a
pg_case pg-w1-a bench_w1_a "$INGOT" upload "$IN" "$PG_URL" --table bench_w1_a --workers 1 -q
pg_case pg-w1-b bench_w1_b "$INGOT" upload "$IN" "$PG_URL" --table bench_w1_b --workers 1 -q
pg_case pg-copy-b bench_copy_b pg_copy bench_copy_b
pg_case pg-w2 bench_w2 "$INGOT" upload "$IN" "$PG_URL" --table bench_w2 --workers 2 -q
mean() { awk -v a="${SECS[$1]}" -v b="${SECS[$2]}" 'BEGIN { printf "%.2f", (a + b) / 2 }'; }
SECS[pg-copy]=$(mean pg-copy-a pg-copy-b)
SECS[pg-w1]=$(mean pg-w1-a pg-w1-b)
drop_tables

# ------------------------------------------------------------------ report
echo
echo "ingot upload benchmark: $IN ($BYTES bytes), one run each (pg-copy and pg-w1: two), $(nproc) cores"
printf '%-10s %8s %8s  %s\n' case seconds MB/s command
printf '%-10s %8s %8s  %s\n' s3-aws "${SECS[s3-aws]}" "$(mbps s3-aws)" "aws s3 cp (8 MiB parts, 10 threads)"
printf '%-10s %8s %8s  %s\n' s3-ingot "${SECS[s3-ingot]}" "$(mbps s3-ingot)" "ingot upload --part-size $PART --concurrency $CONC"
printf '%-10s %8s %8s  %s\n' pg-copy "${SECS[pg-copy]}" "$(mbps pg-copy)" "psql \\copy (FORMAT csv, HEADER): mean of ${SECS[pg-copy-a]} and ${SECS[pg-copy-b]} s"
printf '%-10s %8s %8s  %s\n' pg-w1 "${SECS[pg-w1]}" "$(mbps pg-w1)" "ingot upload --workers 1: mean of ${SECS[pg-w1-a]} and ${SECS[pg-w1-b]} s"
printf '%-10s %8s %8s  %s\n' pg-w2 "${SECS[pg-w2]}" "$(mbps pg-w2)" "ingot upload --workers 2"
echo "S3: ingot is $(ratio s3-aws s3-ingot)x aws s3 cp throughput (target >= 1.5)"
echo "PostgreSQL: ingot -w1 is $(ratio pg-copy pg-w1)x \\copy, -w2 is $(ratio pg-copy pg-w2)x (targets >= 1.0, > 1.0); rows ${TABLES// //}: $ROWS"
echo "resume: killed with $DONE_AT_KILL of $NPARTS parts journaled; rerun sent $SENT bytes, skipped $SKIPPED, re-sent $RESENT (bound: $CONC x $PART = $(( CONC * $(numfmt --from=iec "$PART") )))"
