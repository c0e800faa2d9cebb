#!/usr/bin/env bash
# ingot convert side by side with DuckDB and Polars (issue 14's table).
#
#   tests/bench/bench_peers.sh [SIZE] [BUILD_DIR]      (defaults: 1300M build)
#
# One NYC-taxi-shaped NDJSON file of SIZE without broken lines (Polars stops at the
# first one) and a CSV of about SIZE/4 (gen_taxi: the same records, so about as many
# rows), the same THREADS for every tool, each output a fresh file after `sync`:
#   proj4  NDJSON -> CSV, 4 fields (vendorid,tpep_pickup_datetime,trip_distance,total_amount)
#   full   NDJSON -> CSV, all fields
#   csv    CSV -> NDJSON; also `cat` writing ingot's output bytes to a fresh file (the
#          floor for a conversion that writes ~3.8 bytes per byte it reads)
# Tools take turns run by run (the first tool rotates), RUNS rounds; the table shows the
# median wall time, user and system time, the peak RSS (/usr/bin/time) and peer/ingot.
# Every tool's output is checked once: its rows (Python's csv module for CSV, lines for
# NDJSON) must equal the input's records, and its columns are shown.
#
# DuckDB (@duckdb/node-api) and Polars (nodejs-polars) run in node, pinned by
# tests/bench/peers/package.json and package-lock.json, installed with `npm ci` into
# $INGOT_BENCH_DIR/node. See tests/bench/README.md.
#
# Environment:
#   INGOT_BENCH_DIR  work dir (default /tmp/ingot-bench-peers); inputs and the node
#                    packages are kept there, outputs are deleted
#   RUNS             rounds (default 3); the table shows medians
#   THREADS          threads for every tool (default 2: ingot -j, DuckDB threads,
#                    POLARS_MAX_THREADS)
#   CASES            subset of "proj4 full csv" (default all)
#   TOOLS            subset of "ingot duckdb polars" (default all; ingot is always run)
#   CSV_SIZE         size of the CSV input (default SIZE/4)
#   SEED             gen_taxi seed (default 42)
#   INGOT, GEN_TAXI  binaries (default BUILD_DIR/ingot, BUILD_DIR/tests/bench/gen_taxi)
set -euo pipefail

SIZE=${1:-1300M}
BUILD_DIR=${2:-build}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
SEED=${SEED:-42}
WORK=${INGOT_BENCH_DIR:-/tmp/ingot-bench-peers}
CASES=${CASES:-proj4 full csv}
TOOLS=${TOOLS:-ingot duckdb polars}
PROJ_FIELDS=vendorid,tpep_pickup_datetime,trip_distance,total_amount

BENCH=bench_peers
# shellcheck source=tests/bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_check_size "$SIZE"
bench_check_count RUNS
bench_check_count THREADS
bench_resolve_build_dir

# SIZE in bytes (K/M/G/T are powers of 1024, as gen_taxi reads them).
to_bytes() {
    local s=${1%[iI][bB]} mult=1
    s=${s%[bB]}
    case $s in
        *[kK]) mult=$((1 << 10)) ;; *[mM]) mult=$((1 << 20)) ;;
        *[gG]) mult=$((1 << 30)) ;; *[tT]) mult=$((1 << 40)) ;;
    esac
    s=${s%[kKmMgGtT]}
    echo $((s * mult))
}
CSV_SIZE=${CSV_SIZE:-$(($(to_bytes "$SIZE") / 4))}
bench_check_size "$CSV_SIZE"

# ------------------------------------------------------------------ tools
[[ -x /usr/bin/time ]] ||
    die "/usr/bin/time not found (GNU time, for peak RSS); install it with: apt-get install time"
bench_need python3 "apt-get install python3"
bench_find_ingot
bench_workdir
GEN=$(bench_find_gen)
RUNNER=$SCRIPT_DIR/peers/run_peer.mjs
NODE_DIR=$WORK/node

want_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
PEERS=()
for t in duckdb polars; do want_tool "$t" && PEERS+=("$t"); done
for t in $TOOLS; do
    [[ $t == ingot || $t == duckdb || $t == polars ]] || die "unknown tool '$t' (TOOLS: ingot duckdb polars)"
done

if ((${#PEERS[@]} > 0)); then
    bench_need node "apt-get install nodejs npm"
    bench_need npm "apt-get install npm"
    # The pinned packages, installed again whenever the lock file changes.
    if ! cmp -s "$SCRIPT_DIR/peers/package-lock.json" "$NODE_DIR/package-lock.json" ||
        [[ ! -d $NODE_DIR/node_modules ]]; then
        note "installing the pinned DuckDB and Polars packages into $NODE_DIR (npm ci)"
        rm -rf -- "$NODE_DIR"
        mkdir -p "$NODE_DIR"
        cp -- "$SCRIPT_DIR/peers/package.json" "$SCRIPT_DIR/peers/package-lock.json" "$NODE_DIR/"
        # nodejs-polars-linux-x64-gnu declares node >= 22 but runs on Debian's node 20.
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error --engine-strict=false) ||
            die "npm ci failed in $NODE_DIR"
    fi
fi
export INGOT_PEERS_NODE_DIR=$NODE_DIR

# ------------------------------------------------------------------ cleanup
OUT=$WORK/out
REF=$WORK/ref-csv.ndjson  # ingot's CSV -> NDJSON output, the bytes `cat` copies
TMP=$WORK/tmp
cleanup() { rm -rf -- "$OUT" "$TMP" "$REF" "$WORK"/taxi-*.tmp; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$OUT" "$TMP"

# ------------------------------------------------------------------ input data
IN_JSON=$WORK/taxi-clean-$SIZE.ndjson
IN_CSV=$WORK/taxi-clean-$CSV_SIZE.csv
fsize() { stat -c %s -- "$1"; }

# gen FILE FORMAT SIZE: generated once; a stamp holds the generator version, arguments
# and the size made, and the file is made again when they differ.
gen() {
    local file=$1 format=$2 size=$3 stamp=$1.stamp want
    want="$("$GEN" --version) format=$format size=$size seed=$SEED broken-rate=0"
    if [[ -f $file && -f $stamp && $(cat "$stamp") == "$want bytes=$(fsize "$file")" ]]; then
        note "reusing $file"
        return
    fi
    rm -f -- "$file" "$stamp"
    note "generating $file"
    "$GEN" --size "$size" --seed "$SEED" --broken-rate 0 --format "$format" -o "$file.tmp"
    mv -- "$file.tmp" "$file"
    echo "$want bytes=$(fsize "$file")" >"$stamp"
}
gen "$IN_JSON" ndjson "$SIZE"
gen "$IN_CSV" csv "$CSV_SIZE"
JSON_BYTES=$(fsize "$IN_JSON")
CSV_BYTES=$(fsize "$IN_CSV")

# The records each input holds, by a reader nobody here wrote: every non-blank NDJSON
# line (the file has no broken ones), every CSV record after the header.
count_csv() {
    python3 -c '
import csv, sys
csv.field_size_limit(1 << 30)
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    r = csv.reader(f)
    head = next(r, [])
    n = sum(1 for _ in r)
print(n, len(head))' "$1"
}
count_ndjson() { grep -c '[^[:space:]]' -- "$1" || true; }
note "counting the input records"
JSON_RECORDS=$(count_ndjson "$IN_JSON")
read -r CSV_RECORDS CSV_COLS < <(count_csv "$IN_CSV")

# ------------------------------------------------------------------ one run
# run_one CASE TOOL ROUND: times one conversion into a fresh file; the first round also
# checks its output. Appends a line to $RESULTS.
RESULTS=$WORK/peers-$SIZE.tsv
printf 'case\ttool\tround\twall_s\tuser_s\tsys_s\trss_kib\texit\n' >"$RESULTS"
declare -A ROWS COLS

run_one() {
    local kase=$1 tool=$2 round=$3 in out ext
    case $kase in
        proj4 | full) in=$IN_JSON; ext=csv ;;
        csv) in=$IN_CSV; ext=ndjson ;;
    esac
    out=$OUT/$kase-$tool.$ext
    local -a cmd
    case $tool in
        ingot)
            cmd=("$INGOT" convert "$in" -o "$out" -q -j "$THREADS")
            [[ $kase == proj4 ]] && cmd+=(--fields "$PROJ_FIELDS")
            ;;
        duckdb | polars)
            cmd=(env POLARS_MAX_THREADS="$THREADS" node "$RUNNER" "$tool" "$kase" "$in" "$out" "$THREADS")
            [[ $kase == proj4 ]] && cmd+=("$PROJ_FIELDS")
            ;;
        cat) cmd=(sh -c 'exec cat -- "$1" >"$2"' cat "$REF" "$out") ;;
    esac
    rm -f -- "$out"
    sync
    local tf=$TMP/time rc=0
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "${cmd[@]}" 2>"$TMP/stderr" || rc=$?
    if ((rc != 0)); then
        tail -n 20 "$TMP/stderr" >&2
        die "$kase/$tool failed (exit $rc): ${cmd[*]}"
    fi
    local wall user sys rss
    read -r wall user sys rss < <(tail -n 1 "$tf")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kase" "$tool" "$round" "$wall" "$user" "$sys" "$rss" "$rc" >>"$RESULTS"
    printf '  %-6s %-7s round %s: %6.2f s (user %.2f, sys %.2f), %4d MiB\n' \
        "$kase" "$tool" "$round" "$wall" "$user" "$sys" $((rss / 1024)) >&2
    if [[ $round == 1 && $tool != cat ]]; then
        local rows cols
        if [[ $ext == csv ]]; then
            read -r rows cols < <(count_csv "$out")
        else
            rows=$(count_ndjson "$out")
            cols=$(head -n 1 -- "$out" | python3 -c 'import json, sys; print(len(json.loads(sys.stdin.read())))')
        fi
        ROWS[$kase/$tool]=$rows
        COLS[$kase/$tool]=$cols
    fi
    if [[ $kase == csv && $tool == ingot && ! -f $REF ]]; then
        mv -- "$out" "$REF"  # cat's source: the very bytes ingot wrote
    else
        rm -f -- "$out"
    fi
}

# ------------------------------------------------------------------ cases
for kase in $CASES; do
    case $kase in
        proj4 | full) in=$IN_JSON ;;
        csv) in=$IN_CSV ;;
        *) die "unknown case '$kase' (CASES: proj4 full csv)" ;;
    esac
    tools=(ingot "${PEERS[@]}")
    [[ $kase == csv ]] && tools+=(cat)
    note "case $kase: ${tools[*]}, $RUNS rounds"
    cat -- "$in" >/dev/null  # into the page cache
    # cat copies ingot's output: ingot runs first in round 1 to make it.
    for ((round = 1; round <= RUNS; round++)); do
        n=${#tools[@]}
        for ((i = 0; i < n; i++)); do
            if ((round == 1)); then t=${tools[i]}; else t=${tools[(i + round - 1) % n]}; fi
            [[ $t == cat ]] && cat -- "$REF" >/dev/null
            run_one "$kase" "$t" "$round"
        done
    done
    rm -f -- "$REF"
done

# ------------------------------------------------------------------ table
median() {  # median of the numbers on stdin
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
stat_of() {  # stat_of CASE TOOL COLUMN -> median
    awk -F'\t' -v k="$1" -v t="$2" -v c="$3" 'NR > 1 && $1 == k && $2 == t { print $c }' "$RESULTS" | median
}
label_of() {
    case $1 in
        proj4) echo "NDJSON->CSV 4 fields" ;; full) echo "NDJSON->CSV all fields" ;; csv) echo "CSV->NDJSON" ;;
    esac
}

echo
echo "ingot vs peers: NDJSON $JSON_BYTES B ($JSON_RECORDS records), CSV $CSV_BYTES B ($CSV_RECORDS records),"
echo "$THREADS threads each, $(nproc) cores, medians of $RUNS alternating runs, fresh output after sync, page cache warm"
echo
printf '%-22s %-7s %8s %7s %7s %9s %10s %5s %s\n' case tool "wall s" "user s" "sys s" "peak RSS" rows cols "peer/ingot"
BAD=0
declare -A RATIO
for kase in $CASES; do
    ing=$(stat_of "$kase" ingot 4)
    want=$JSON_RECORDS
    [[ $kase == csv ]] && want=$CSV_RECORDS
    tools=(ingot "${PEERS[@]}")
    [[ $kase == csv ]] && tools+=(cat)
    for t in "${tools[@]}"; do
        w=$(stat_of "$kase" "$t" 4)
        u=$(stat_of "$kase" "$t" 5)
        s=$(stat_of "$kase" "$t" 6)
        r=$(awk -F'\t' -v k="$kase" -v t="$t" 'NR > 1 && $1 == k && $2 == t && $7 > m { m = $7 } END { print m + 0 }' "$RESULTS")
        rows=${ROWS[$kase/$t]:--}
        cols=${COLS[$kase/$t]:--}
        note=""
        if [[ $t != cat && $rows != "$want" ]]; then
            note="  ROWS DIFFER (input has $want)"
            BAD=1
        fi
        if [[ $t == ingot ]] && ((r > 256 * 1024)); then
            note+="  RSS > 256 MiB"
            BAD=1
        fi
        ratio=$(awk -v p="$w" -v i="$ing" 'BEGIN { printf "%.2fx", p / i }')
        [[ $t == ingot ]] && ratio=""
        [[ $t == cat ]] && ratio="ingot/cat $(awk -v p="$w" -v i="$ing" 'BEGIN { printf "%.2fx", i / p }')"
        RATIO[$kase/$t]=$ratio
        printf '%-22s %-7s %8.2f %7.2f %7.2f %5d MiB %10s %5s %s%s\n' "$(label_of "$kase")" "$t" "$w" "$u" "$s" \
            $((r / 1024)) "$rows" "$cols" "$ratio" "$note"
    done
done

if ((${#PEERS[@]} > 0)); then
    echo
    printf '| case |'; for t in "${PEERS[@]}"; do printf ' %s / ingot |' "$t"; done; echo
    printf '|---|'; for t in "${PEERS[@]}"; do printf -- '---|'; done; echo
    for kase in $CASES; do
        printf '| %s |' "$(label_of "$kase")"
        for t in "${PEERS[@]}"; do printf ' %s |' "${RATIO[$kase/$t]}"; done
        echo
    done
    [[ " $CASES " == *" csv "* ]] && echo "CSV->NDJSON: ${RATIO[csv/cat]} (cat writing the same bytes to a fresh file; goal <= 1.3x)"
fi
echo "Goal (issue 14): every peer/ingot >= 3.0x. Raw runs: $RESULTS"
exit "$BAD"
