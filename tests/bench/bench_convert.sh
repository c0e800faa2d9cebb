#!/usr/bin/env bash
# ingot convert throughput benchmark.
#
#   tests/bench/bench_convert.sh [SIZE] [BUILD_DIR]      (defaults: 1G build)
#
# Generates a NYC-taxi-shaped NDJSON file and the same records as CSV (once,
# reused while SIZE/SEED/generator version match), warms the page cache and
# times with hyperfine:
#   proj4  NDJSON -> CSV, 4 fields (--fields vendorid,tpep_pickup_datetime,trip_distance,total_amount)
#   full   NDJSON -> CSV, all columns
#   csv    CSV -> NDJSON
# each at -j 1 and -j 0 (all cores). Prints median time, MB/s (input bytes /
# median, 1 MB = 10^6 bytes) and the peak RSS of one extra run
# (/usr/bin/time -f %M). See tests/bench/README.md.
#
# Environment:
#   INGOT_BENCH_DIR  work dir (default /tmp/ingot-bench); inputs are kept there,
#                    outputs are deleted at the end
#   RUNS             hyperfine timed runs per case (default 5, plus 1 warmup)
#   WARMUP           hyperfine warmup runs (default 1)
#   SEED             gen_taxi seed (default 42)
#   CASES            subset of "proj4 full csv" (default all)
#   THREADS          -j values to run (default "1 0")
#   INGOT            ingot binary (default BUILD_DIR/ingot)
#   GEN_TAXI         gen_taxi binary (default BUILD_DIR/tests/bench/gen_taxi,
#                    else compiled from tests/bench/gen_taxi.cpp into the work dir)
set -euo pipefail

SIZE=${1:-1G}
BUILD_DIR=${2:-build}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
SEED=${SEED:-42}
WORK=${INGOT_BENCH_DIR:-/tmp/ingot-bench}
CASES=${CASES:-proj4 full csv}
THREADS=${THREADS:-1 0}
PROJ_FIELDS=vendorid,tpep_pickup_datetime,trip_distance,total_amount

BENCH=bench_convert
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_check_size "$SIZE"
bench_check_count RUNS
bench_check_count WARMUP 0
bench_resolve_build_dir

# ------------------------------------------------------------------ tools
bench_need hyperfine "apt-get install hyperfine"
[[ -x /usr/bin/time ]] ||
    die "/usr/bin/time not found (GNU time, for peak RSS); install it with: apt-get install time"
PY=
if [[ -x /usr/bin/python3 ]]; then PY=/usr/bin/python3
elif command -v python3 >/dev/null 2>&1; then PY=$(command -v python3)
elif ! command -v jq >/dev/null 2>&1; then
    die "need python3 or jq to read hyperfine's JSON: apt-get install python3 (or jq)"
fi
bench_find_ingot
bench_workdir
GEN=$(bench_find_gen)

# ------------------------------------------------------------------ cleanup
OUTPUTS=()
cleanup() {
    local f
    for f in ${OUTPUTS[@]+"${OUTPUTS[@]}"}; do rm -f -- "$f"; done
    rm -f -- "$WORK"/taxi-*.tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ input data
IN_JSON=$WORK/taxi-$SIZE.ndjson
IN_CSV=$WORK/taxi-$SIZE.csv
STAMP=$WORK/taxi-$SIZE.stamp
WANT_STAMP="$("$GEN" --version) size=$SIZE seed=$SEED"

fsize() { stat -c %s -- "$1"; }
avail_bytes() { df -P -B1 -- "$1" | awk 'NR == 2 { print $4 }'; }
mem_bytes() { echo $(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024)); }

data_ok() {
    [[ -f $STAMP && -f $IN_JSON && -f $IN_CSV ]] || return 1
    local want have
    want=$(cat "$STAMP")
    have="$WANT_STAMP ndjson=$(fsize "$IN_JSON") csv=$(fsize "$IN_CSV")"
    [[ $want == "$have" ]]
}

if data_ok; then
    note "reusing $IN_JSON and $IN_CSV"
else
    rm -f -- "$STAMP" "$IN_JSON" "$IN_CSV"
    note "generating $SIZE of NDJSON and $SIZE of CSV into $WORK (seed $SEED)"
    t0=$(date +%s.%N)
    "$GEN" --size "$SIZE" --seed "$SEED" --format ndjson -o "$IN_JSON.tmp"
    "$GEN" --size "$SIZE" --seed "$SEED" --format csv -o "$IN_CSV.tmp"
    mv -- "$IN_JSON.tmp" "$IN_JSON"
    mv -- "$IN_CSV.tmp" "$IN_CSV"
    echo "$WANT_STAMP ndjson=$(fsize "$IN_JSON") csv=$(fsize "$IN_CSV")" >"$STAMP"
    t1=$(date +%s.%N)
    note "generated in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
fi
JSON_BYTES=$(fsize "$IN_JSON")
CSV_BYTES=$(fsize "$IN_CSV")

# The CSV -> NDJSON output is ~4x its input (keys are repeated per record).
need=$((CSV_BYTES * 9 / 2))
avail=$(avail_bytes "$WORK")
if ((avail < need)); then
    note "WARNING: $WORK has $((avail >> 20)) MiB free, the largest output needs ~$((need >> 20)) MiB"
fi
mem=$(mem_bytes)
if ((mem < (JSON_BYTES + CSV_BYTES) * 3 / 2)); then
    note "WARNING: $((mem >> 20)) MiB RAM; the inputs may not stay in the page cache"
fi

warm() { cat -- "$@" >/dev/null; }
note "warming the page cache"
warm "$IN_JSON" "$IN_CSV"

# ------------------------------------------------------------------ JSON reading
# json_stat FILE KEY -> results[0][KEY] of a hyperfine export
json_stat() {
    if [[ -n $PY ]]; then
        "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["results"][0][sys.argv[2]])' "$1" "$2"
    else
        jq -r ".results[0].$2" "$1"
    fi
}

# ------------------------------------------------------------------ cases
NCPU=$(nproc)
SUMMARY=$WORK/summary-$SIZE.tsv
printf 'case\tthreads\tmedian_s\tmin_s\tmean_s\tstddev_s\tin_bytes\tout_bytes\tpeak_rss_kib\texit\n' >"$SUMMARY"

run_case() {  # run_case NAME J
    local name=$1 j=$2 in out in_bytes
    local -a args
    case $name in
        proj4) in=$IN_JSON; out=$WORK/out-proj4.csv; args=(--fields "$PROJ_FIELDS") ;;
        full) in=$IN_JSON; out=$WORK/out-full.csv; args=() ;;
        csv) in=$IN_CSV; out=$WORK/out-csv.ndjson; args=() ;;
        *) die "unknown case '$name' (CASES: proj4 full csv)" ;;
    esac
    in_bytes=$(fsize "$in")
    OUTPUTS+=("$out")
    local -a cmd=("$INGOT" convert "$in" -o "$out" ${args[@]+"${args[@]}"} -q -j "$j")
    local id=$name-j$j
    local cmdstr
    cmdstr=$(printf '%q ' "${cmd[@]}")

    echo
    echo "=== $id: ${cmd[*]}"
    warm "$in"

    # Extra run: peak RSS, and a sanity check that the command works at all.
    local rss_file=$WORK/rss-$id.txt err_file=$WORK/stderr-$id.txt rc=0 rss out_bytes
    rm -f -- "$out"
    /usr/bin/time -f %M -o "$rss_file" "${cmd[@]}" 2>"$err_file" || rc=$?
    rss=$(tail -n 1 "$rss_file")
    [[ $rss =~ ^[0-9]+$ ]] || rss=0
    out_bytes=0
    [[ -f $out ]] && out_bytes=$(fsize "$out")
    local -a hf_extra=()
    if ((rc != 0)); then
        echo "--- stderr (last 20 lines) ---" >&2
        tail -n 20 "$err_file" >&2 || true
        if ((out_bytes == 0)); then
            die "$id failed (exit $rc) and wrote no output (stderr kept in $err_file)"
        fi
        note "WARNING: $id exits with status $rc (but wrote $out_bytes bytes); timing with --ignore-failure"
        hf_extra=(--ignore-failure)
    fi
    rm -f -- "$err_file" "$rss_file"

    local json=$WORK/hyperfine-$SIZE-$id.json
    hyperfine --warmup "$WARMUP" --runs "$RUNS" \
        --prepare "rm -f $(printf '%q' "$out")" \
        --export-json "$json" --command-name "$id" \
        ${hf_extra[@]+"${hf_extra[@]}"} "$cmdstr"
    rm -f -- "$out"  # keep the disk footprint down between cases

    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$j" \
        "$(json_stat "$json" median)" "$(json_stat "$json" min)" \
        "$(json_stat "$json" mean)" "$(json_stat "$json" stddev)" \
        "$in_bytes" "$out_bytes" "$rss" "$rc" >>"$SUMMARY"
}

for name in $CASES; do
    for j in $THREADS; do
        run_case "$name" "$j"
    done
done

# ------------------------------------------------------------------ table
echo
echo "ingot convert, $SIZE input (NDJSON $JSON_BYTES B, CSV $CSV_BYTES B), $NCPU cores, runs=$RUNS, input in page cache"
awk -F'\t' -v ncpu="$NCPU" '
NR == 1 { next }
{
    label = ($1 == "proj4") ? "NDJSON->CSV 4 fields" : ($1 == "full") ? "NDJSON->CSV full" : "CSV->NDJSON"
    thr = ($2 == 0) ? "all (" ncpu ")" : $2
    mbs = ($3 > 0) ? $7 / $3 / 1e6 : 0
    target = ($1 == "proj4") ? 2000 : ($1 == "full") ? 1000 : 600
    verdict = "-"
    if ($2 == 0) verdict = (mbs >= target ? "ok" : "below") " (>=" target ")"
    if (!header++) {
        printf "%-22s %-8s %9s %9s %9s %9s %10s  %s\n", "case", "threads", "median s", "min s", "MB/s", "out MB", "peak RSS", "target MB/s (all cores)"
    }
    printf "%-22s %-8s %9.3f %9.3f %9.0f %9.0f %6.0f MiB  %s%s\n", label, thr, $3, $4, mbs, $8 / 1e6, $9 / 1024, verdict, ($10 != 0 ? "  [exit " $10 "]" : "")
}' "$SUMMARY"
echo
echo "MB/s = input bytes / median wall time (1 MB = 10^6 B). Peak RSS: one extra run, /usr/bin/time -f %M."
echo "Targets (2 cores): proj4 >= 2000 MB/s, full >= 1000 MB/s, CSV->NDJSON >= 600 MB/s; peak RSS <= 256 MiB on a 4 GB input."
((NCPU == 2)) || echo "Note: this machine has $NCPU cores; the targets are stated for 2."
echo "Raw results: $SUMMARY and $WORK/hyperfine-$SIZE-*.json"
