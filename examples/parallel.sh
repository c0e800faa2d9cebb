#!/usr/bin/env bash
# Fan one NDJSON -> CSV conversion out over N jobs with GNU parallel (Debian package
# `parallel`), then merge the parts. The result is byte-identical to a single
#   ingot convert INPUT -o OUTPUT
# INPUT and OUTPUT may be s3:// objects: each job then reads only its part of the input
# object (ranged GETs) and writes its piece as an object under PARTS (default
# OUTPUT.parts/), and the merge stitches the pieces into OUTPUT on the server
# (UploadPartCopy): nothing is staged on a local disk and no shared volume is needed.
# The pieces stay under PARTS (remove them with `aws s3 rm --recursive`, or a lifecycle rule).
# With S3_DEST=s3://bucket/key and a local OUTPUT, OUTPUT is then uploaded there as one
# multipart upload whose parts N jobs send (--begin, --part K/N, --complete).
#
# Usage: examples/parallel.sh INPUT.ndjson N OUTPUT.csv
#   FIELDS=a,b.c   use these columns instead of the union of all keys
#   SCHEMA=FILE    use the column list in FILE (as written by --schema-out)
#   PARTS=s3://bucket/dir/   where the pieces of an s3:// OUTPUT go
#   S3_DEST=URL    also upload OUTPUT to this s3://bucket/key from N jobs (credentials,
#                  endpoint and region from the AWS_* variables; PART_SIZE=8M to choose)
#   INGOT=PATH     the ingot binary (default: ingot on PATH)
set -euo pipefail
input=${1:?usage: examples/parallel.sh INPUT.ndjson N OUTPUT.csv}
n=${2:-4}
output=${3:-all.csv}
ingot=${INGOT:-ingot}

# A local directory for the schema (and the pieces of a local OUTPUT).
local_dir=$(dirname "$output")
case $output in s3://*) local_dir=${TMPDIR:-/tmp} ;; esac
parts=$(mktemp -d "$local_dir/.ingot-parts.XXXXXX")
trap 'rm -rf "$parts"' EXIT
pieces=$parts
case $output in s3://*) pieces=${PARTS:-$output.parts/}; pieces=${pieces%/} ;; esac

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
  "$ingot" convert "$input" "${columns[@]}" --part {}/"$n" -q -o "$pieces/out-{}.csv" ::: $(seq "$n")

# Many machines: the same with --sshlogin (here up to 8 jobs each on node1 and node2,
# and some on this machine, ':'). Every machine needs ingot, and the input, the schema and
# the parts directory at the same paths: a shared file system (or s3:// INPUT and OUTPUT,
# and the AWS_* variables passed with --env, and the schema copied over). Without one, copy the
# input and schema over first and add `--return "$parts/out-{}.csv" --cleanup` (after
# creating $parts over there) to fetch each part back and delete the remote copy.
# parallel --will-cite --quote --halt now,fail=1 --sshlogin 8/node1,8/node2,: \
#   ingot convert "$input" "${columns[@]}" --part {}/"$n" -q -o "$parts/out-{}.csv" ::: $(seq "$n")

# 3. Merge in part order; merge keeps the first CSV header and drops the repeated ones.
#    s3:// pieces into an s3:// OUTPUT: copied on the server, the object appears complete.
mapfile -t outs < <(seq -f "$pieces/out-%g.csv" 1 "$n")
"$ingot" merge "${outs[@]}" -o "$output"

# 4. Optional: one S3 multipart upload sent by N jobs. --begin creates it and prints its
#    id; each job sends its share of the parts (the parts are a pure function of the
#    file's size and --part-size, so the jobs need nothing else in common); --complete
#    checks that every part is there with the right size, completes and verifies.
#    A failed job can simply be run again: it sends only the parts still missing.
if [ -n "${S3_DEST:-}" ] && [[ $output != s3://* ]]; then
  size=(--part-size "${PART_SIZE:-8M}")
  id=$("$ingot" upload "$output" "$S3_DEST" "${size[@]}" --begin -q)
  parallel --will-cite --quote --halt now,fail=1 -j "$n" \
    "$ingot" upload "$output" "$S3_DEST" "${size[@]}" --upload-id "$id" --part {}/"$n" -q ::: $(seq "$n")
  # Over --sshlogin, every machine needs OUTPUT at the same path (a shared file system, or an
  # identical copy) and the AWS_* variables (add --env AWS_ACCESS_KEY_ID ...).
  "$ingot" upload "$output" "$S3_DEST" "${size[@]}" --upload-id "$id" --complete -q
fi
