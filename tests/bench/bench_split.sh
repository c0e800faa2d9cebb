#!/usr/bin/env bash
# ingot split / merge benchmark, side by side with GNU split and cat.
#
#   tests/bench/bench_split.sh [SIZE] [BUILD_DIR]      (defaults: 1G build)
#
# Uses the same generated NYC-taxi NDJSON and CSV files as bench_convert.sh (same
# names and stamp in the work dir, so one generation serves both), warms the page
# cache and times with hyperfine, each pair in one hyperfine run:
#   pieces8   ingot split --pieces 8            vs  split -n l/8          (NDJSON)
#   bytes180  ingot split --bytes 180M          vs  split -C 180M         (NDJSON)
#   csv180    ingot split --from csv --bytes 180M vs split -C 180M        (CSV; GNU is not CSV-aware)
#   merge     ingot merge PIECES -o OUT         vs  cat PIECES > OUT      (the bytes180 pieces)
#   plan      ingot split --plan --bytes 180M and --pieces 64 on the biggest file the
#             disk allows (copies of the CSV, <= PLAN_MAX_GB, deleted at the end)
# Prints the median of each side, the ratio ingot/GNU and the target.
#
# Environment:
#   INGOT_BENCH_DIR  work dir (default /tmp/ingot-bench); inputs are kept there,
#                    outputs are deleted at the end
#   RUNS             hyperfine timed runs per case (default 5)
#   WARMUP           hyperfine warmup runs (default 1)
#   SEED             gen_taxi seed (default 42)
#   CASES            subset of "pieces8 bytes180 csv180 merge plan" (default all)
#   PLAN_MAX_GB      upper bound for the --plan file (default 20)
#   INGOT, GEN_TAXI  binaries (defaults: BUILD_DIR/ingot, BUILD_DIR/tests/bench/gen_taxi)
set -euo pipefail

SIZE=${1:-1G}
BUILD_DIR=${2:-build}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
SEED=${SEED:-42}
WORK=${INGOT_BENCH_DIR:-/tmp/ingot-bench}
CASES=${CASES:-pieces8 bytes180 csv180 merge plan}
PLAN_MAX_GB=${PLAN_MAX_GB:-20}

BENCH=bench_split
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_check_size "$SIZE"
bench_check_count RUNS
bench_check_count WARMUP 0
bench_check_count PLAN_MAX_GB
bench_resolve_build_dir

# ------------------------------------------------------------------ tools
bench_need hyperfine "apt-get install hyperfine"
bench_need split "apt-get install coreutils"
PY=$(command -v python3 || true)
[[ -n $PY ]] || die "need python3 to read hyperfine's JSON: apt-get install python3"
bench_find_ingot
bench_workdir
GEN=$(bench_find_gen)

# ------------------------------------------------------------------ cleanup
OUT=$WORK/split-out
BIG=$WORK/plan-big.csv
cleanup() {
    rm -rf -- "$OUT"
    rm -f -- "$BIG" "$WORK"/taxi-*.tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ input data (shared with bench_convert.sh)
IN_JSON=$WORK/taxi-$SIZE.ndjson
IN_CSV=$WORK/taxi-$SIZE.csv
STAMP=$WORK/taxi-$SIZE.stamp
WANT_STAMP="$("$GEN" --version) size=$SIZE seed=$SEED"

fsize() { stat -c %s -- "$1"; }
avail_bytes() { df -P -B1 -- "$1" | awk 'NR == 2 { print $4 }'; }

data_ok() {
    [[ -f $STAMP && -f $IN_JSON && -f $IN_CSV ]] || return 1
    [[ $(cat "$STAMP") == "$WANT_STAMP ndjson=$(fsize "$IN_JSON") csv=$(fsize "$IN_CSV")" ]]
}

if data_ok; then
    note "reusing $IN_JSON and $IN_CSV"
else
    rm -f -- "$STAMP" "$IN_JSON" "$IN_CSV"
    note "generating $SIZE of NDJSON and $SIZE of CSV into $WORK (seed $SEED)"
    "$GEN" --size "$SIZE" --seed "$SEED" --format ndjson -o "$IN_JSON.tmp"
    "$GEN" --size "$SIZE" --seed "$SEED" --format csv -o "$IN_CSV.tmp"
    mv -- "$IN_JSON.tmp" "$IN_JSON"
    mv -- "$IN_CSV.tmp" "$IN_CSV"
    echo "$WANT_STAMP ndjson=$(fsize "$IN_JSON") csv=$(fsize "$IN_CSV")" >"$STAMP"
fi
JSON_BYTES=$(fsize "$IN_JSON")
CSV_BYTES=$(fsize "$IN_CSV")

# Pieces of both tools exist at once during a case: ~2x the input.
need=$((JSON_BYTES * 3))
avail=$(avail_bytes "$WORK")
((avail >= need)) || note "WARNING: $WORK has $((avail >> 20)) MiB free, a case needs ~$((need >> 20)) MiB"

warm() { cat -- "$@" >/dev/null; }
note "warming the page cache"
warm "$IN_JSON" "$IN_CSV"

SUMMARY=$WORK/split-summary-$SIZE.tsv
printf 'case\tingot_median_s\tgnu_median_s\tingot_cmd\tgnu_cmd\n' >"$SUMMARY"

median() { "$PY" -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"]; print(r[int(sys.argv[2])]["median"])' "$1" "$2"; }

# pair NAME PREPARE INGOT_CMD GNU_CMD: one hyperfine run with both commands.
pair() {
    local name=$1 prep=$2 icmd=$3 gcmd=$4 json=$WORK/hyperfine-split-$SIZE-$1.json
    echo
    echo "=== $name"
    # A sanity run of each: they must work at all before they are timed.
    bash -c "$prep" && bash -c "$icmd" || die "$name: ingot failed: $icmd"
    bash -c "$prep" && bash -c "$gcmd" || die "$name: GNU failed: $gcmd"
    hyperfine --warmup "$WARMUP" --runs "$RUNS" --prepare "$prep" --export-json "$json" \
        --command-name "ingot $name" "$icmd" --command-name "gnu $name" "$gcmd"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$(median "$json" 0)" "$(median "$json" 1)" "$icmd" "$gcmd" >>"$SUMMARY"
}

q() { printf '%q' "$1"; }
I=$(q "$INGOT")
FRESH="rm -rf $(q "$OUT") && mkdir -p $(q "$OUT/i") $(q "$OUT/g") && sync"

for name in $CASES; do
    case $name in
        pieces8)
            pair pieces8 "$FRESH" "$I split $(q "$IN_JSON") --pieces 8 --prefix $(q "$OUT/i/p-") -q" \
                "split -n l/8 $(q "$IN_JSON") $(q "$OUT/g/x")" ;;
        bytes180)
            pair bytes180 "$FRESH" "$I split $(q "$IN_JSON") --bytes 180M --prefix $(q "$OUT/i/p-") -q" \
                "split -C 180M $(q "$IN_JSON") $(q "$OUT/g/x")" ;;
        csv180)
            pair csv180 "$FRESH" "$I split $(q "$IN_CSV") --from csv --bytes 180M --prefix $(q "$OUT/i/p-") -q" \
                "split -C 180M $(q "$IN_CSV") $(q "$OUT/g/x")" ;;
        merge)
            # Both stitch the same pieces: those of ingot split --bytes 180M of the NDJSON.
            rm -rf -- "$OUT" && mkdir -p "$OUT/i" "$OUT/m"
            "$INGOT" split "$IN_JSON" --bytes 180M --prefix "$OUT/i/p-" -q
            warm "$OUT"/i/p-*.ndjson
            pair merge "rm -f $(q "$OUT/m/merged") && sync" \
                "$I merge $(q "$OUT/i")/p-*.ndjson -o $(q "$OUT/m/merged") -q" \
                "cat $(q "$OUT/i")/p-*.ndjson > $(q "$OUT/m/merged")"
            cmp -s "$OUT/m/merged" "$IN_JSON" || die "merge: output differs from the source" ;;
        plan)
            rm -rf -- "$OUT"
            # As many copies of the CSV as fit in PLAN_MAX_GB and leave 4 GiB free.
            avail=$(avail_bytes "$WORK")
            max=$((PLAN_MAX_GB * 1073741824))
            room=$((avail - 4 * 1073741824))
            ((room < max)) && max=$room
            copies=$((max / CSV_BYTES))
            ((copies >= 1)) || die "plan: no room for even one copy of $IN_CSV"
            note "plan: building $copies x $(basename "$IN_CSV") = $((copies * CSV_BYTES >> 20)) MiB"
            rm -f -- "$BIG"
            for ((c = 0; c < copies; ++c)); do cat -- "$IN_CSV"; done >"$BIG"
            BIG_BYTES=$(fsize "$BIG")
            mkdir -p "$OUT/plan"
            json=$WORK/hyperfine-split-$SIZE-plan.json
            echo
            echo "=== plan on $BIG_BYTES bytes"
            hyperfine --warmup "$WARMUP" --runs "$RUNS" --prepare "rm -f $(q "$OUT/plan")/*" --export-json "$json" \
                --command-name "plan --bytes 180M" \
                "$I split $(q "$BIG") --from csv --plan --bytes 180M --prefix $(q "$OUT/plan/b-") -q" \
                --command-name "plan --pieces 64" \
                "$I split $(q "$BIG") --from csv --plan --pieces 64 --prefix $(q "$OUT/plan/n-") -q"
            printf 'plan-bytes180\t%s\t\t%s bytes\t\n' "$(median "$json" 0)" "$BIG_BYTES" >>"$SUMMARY"
            printf 'plan-pieces64\t%s\t\t%s bytes\t\n' "$(median "$json" 1)" "$BIG_BYTES" >>"$SUMMARY"
            rm -f -- "$BIG" ;;
        *) die "unknown case '$name' (CASES: pieces8 bytes180 csv180 merge plan)" ;;
    esac
done

# ------------------------------------------------------------------ table
echo
echo "ingot split/merge, $SIZE input (NDJSON $JSON_BYTES B, CSV $CSV_BYTES B), $(nproc) cores, runs=$RUNS, input in page cache"
"$PY" - "$SUMMARY" <<'EOF'
import csv, sys
targets = {"pieces8": ("split -n l/8", 1.0), "bytes180": ("split -C 180M", 1.0),
           "csv180": ("split -C 180M", 1.2), "merge": ("cat", 1.1)}
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print(f"{'case':<16}{'ingot s':>9}{'GNU s':>9}{'ratio':>8}  {'vs':<15}{'target':<10}verdict")
for r in rows:
    name, i = r["case"], float(r["ingot_median_s"])
    if name.startswith("plan"):
        gb = int(r["ingot_cmd"].split()[0]) / 1e9
        print(f"{name:<16}{i:9.3f}{'':>9}{'':>8}  {f'({gb:.1f} GB file)':<15}{'< 1 s':<10}{'ok' if i < 1 else 'SLOW'}")
        continue
    g = float(r["gnu_median_s"])
    other, t = targets[name]
    ratio = i / g if g > 0 else float("inf")
    print(f"{name:<16}{i:9.3f}{g:9.3f}{ratio:8.2f}  {other:<15}{'<= ' + str(t) + 'x':<10}{'ok' if ratio <= t else 'above'}")
EOF
echo
echo "Medians of hyperfine runs (page cache warm; output written to $WORK's file system)."
echo "Raw results: $SUMMARY and $WORK/hyperfine-split-$SIZE-*.json"
