#!/usr/bin/env bash
# Converting an s3:// NDJSON object (docs/remote.md) against the local Swift server.
#
#   scripts/with-servers.sh tests/bench/bench_remote.sh [SIZE] [BUILD_DIR]   (defaults: 512M build)
#
# One NYC-taxi-shaped NDJSON file from gen_taxi, put in a bucket once; RUNS runs of each
# case (default 3), in turn, the median printed:
#   schema   ingot convert s3://B/taxi.ndjson --schema S -o out.csv   (one download)
#   auto     ingot convert s3://B/taxi.ndjson -o out.csv              (the column pass
#            reads the object, then the conversion reads it again: two downloads)
#   cp       aws s3 cp s3://B/taxi.ndjson local && ingot convert local -o out.csv
# and the bytes each ingot case downloaded (its --json "network" report).
#
# Environment: S3_ENDPOINT (scripts/with-servers.sh sets it), INGOT_BENCH_DIR (work
# dir, default /tmp/ingot-bench-remote; the input is kept there), RUNS, SEED (42).
set -euo pipefail

SIZE=${1:-512M}
BUILD_DIR=${2:-build}
WORK=${INGOT_BENCH_DIR:-/tmp/ingot-bench-remote}
RUNS=${RUNS:-3}
SEED=${SEED:-42}

BENCH=bench_remote
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_check_size "$SIZE"
bench_check_count RUNS
bench_resolve_build_dir
bench_find_ingot
bench_need aws "scripts/install-test-servers.sh (awscli)"
[[ -n ${S3_ENDPOINT:-} ]] || die "no S3_ENDPOINT: run it under scripts/with-servers.sh"
bench_workdir
GEN=$(bench_find_gen)
cleanup() { rm -rf -- "$WORK/home" "$WORK/out.csv" "$WORK/local.ndjson"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

export HOME=$WORK/home AWS_ACCESS_KEY_ID=${S3_ACCESS_KEY:-test:tester} AWS_SECRET_ACCESS_KEY=${S3_SECRET_KEY:-testing}
export AWS_DEFAULT_REGION=${S3_REGION:-us-east-1} AWS_ENDPOINT_URL_S3=$S3_ENDPOINT
mkdir -p "$HOME"
aws configure set default.s3.addressing_style path

IN=$WORK/taxi-$SIZE.ndjson
bench_gen "$IN" ndjson "$SIZE"
BYTES=$(stat -c %s -- "$IN")
BUCKET=bench-$$
OBJ=s3://$BUCKET/taxi.ndjson
aws --endpoint-url "$S3_ENDPOINT" s3 mb "s3://$BUCKET" >/dev/null
aws --endpoint-url "$S3_ENDPOINT" s3 cp --no-progress "$IN" "$OBJ" >/dev/null
"$INGOT" convert "$IN" --schema-only --schema-out "$WORK/schema.txt" -q

now() { date +%s.%N; }
declare -A TIMES NET
run_case() {  # name
    local t0 t1 rep
    sync
    t0=$(now)
    case $1 in
    schema) rep=$("$INGOT" convert "$OBJ" --schema "$WORK/schema.txt" -o "$WORK/out.csv" --json -q) ;;
    auto) rep=$("$INGOT" convert "$OBJ" -o "$WORK/out.csv" --json -q) ;;
    cp)
        aws --endpoint-url "$S3_ENDPOINT" s3 cp --no-progress "$OBJ" "$WORK/local.ndjson" >/dev/null
        rep=$("$INGOT" convert "$WORK/local.ndjson" -o "$WORK/out.csv" --json -q)
        rm -f -- "$WORK/local.ndjson"
        ;;
    esac
    t1=$(now)
    TIMES[$1]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') "
    NET[$1]=$(echo "$rep" | python3 -c \
        'import json,sys; n=json.load(sys.stdin)["result"].get("network",{}); print(n.get("bytes_in",0), n.get("requests",0))')
}
for ((r = 1; r <= RUNS; r++)); do
    for c in schema auto cp; do run_case "$c"; done
    note "run $r of $RUNS done: ${TIMES[*]}"
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "bench_remote: $SIZE NDJSON ($BYTES bytes), $RUNS runs each, median seconds; bytes_in requests of ingot"
for c in schema auto cp; do
    printf '%-7s %6s s   (runs: %s)  net: %s\n' "$c" "$(median "${TIMES[$c]}")" "${TIMES[$c]% }" "${NET[$c]}"
done
aws --endpoint-url "$S3_ENDPOINT" s3 rb --force "s3://$BUCKET" >/dev/null
