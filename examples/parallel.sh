#!/usr/bin/env bash
# Fan one NDJSON -> CSV conversion out over N jobs with GNU parallel (Debian package
# `parallel`), then merge the parts. The result is byte-identical to a single
#   ingot convert INPUT -o OUTPUT
#
# Usage: examples/parallel.sh INPUT.ndjson N OUTPUT.csv
#   FIELDS=a,b.c   use these columns instead of the union of all keys
#   SCHEMA=FILE    use the column list in FILE (as written by --schema-out)
#   INGOT=PATH     the ingot binary (default: ingot on PATH)
set -euo pipefail
input=${1:?usage: examples/parallel.sh INPUT.ndjson N OUTPUT.csv}
n=${2:-4}
output=${3:-all.csv}
ingot=${INGOT:-ingot}

parts=$(mktemp -d "$(dirname "$output")/.ingot-parts.XXXXXX")
trap 'rm -rf "$parts"' EXIT

# 1. One column list for every part (convert refuses NDJSON --part without one: each
#    part would see only its own keys). --schema-only runs just the key-union pass, a
#    fraction of a full conversion; skip it with FIELDS or SCHEMA.
if [ -n "${FIELDS:-}" ]; then
  columns=(--fields "$FIELDS")
elif [ -n "${SCHEMA:-}" ]; then
  columns=(--schema "$SCHEMA")
else
  "$ingot" convert "$input" --schema-only --schema-out "$parts/schema.json" -q
  columns=(--schema "$parts/schema.json")
fi

# 2. N jobs, one record-aligned part each. --quote passes the arguments as they are
#    (names with spaces); --halt stops the other jobs when one fails.
parallel --will-cite --quote --halt now,fail=1 -j "$n" \
  "$ingot" convert "$input" "${columns[@]}" --part {}/"$n" -q -o "$parts/out-{}.csv" ::: $(seq "$n")

# Many machines: the same with --sshlogin (here up to 8 jobs each on node1 and node2,
# and some on this machine, ':'). Every machine needs ingot, and the input, the schema and
# the parts directory at the same paths: a shared file system. Without one, copy the
# input and schema over first and add `--return "$parts/out-{}.csv" --cleanup` (after
# creating $parts over there) to fetch each part back and delete the remote copy.
# parallel --will-cite --quote --halt now,fail=1 --sshlogin 8/node1,8/node2,: \
#   ingot convert "$input" "${columns[@]}" --part {}/"$n" -q -o "$parts/out-{}.csv" ::: $(seq "$n")

# 3. Merge in part order; merge keeps the first CSV header and drops the repeated ones.
mapfile -t outs < <(seq -f "$parts/out-%g.csv" 1 "$n")
"$ingot" merge "${outs[@]}" -o "$output"
