#!/usr/bin/env bash
# README command 1: install, build, and convert the bundled NYC-taxi sample to CSV.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
mkdir -p out
./build/ingot convert examples/taxi.ndjson -o out/taxi.csv --rejects out/taxi.rejects.ndjson
echo "output: $(pwd)/out/taxi.csv (rejected lines: $(pwd)/out/taxi.rejects.ndjson)"
