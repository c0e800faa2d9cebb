#!/usr/bin/env bash
# Installs the independent Parquet readers the CLI tests read ingot's Parquet files back
# with: DuckDB (@duckdb/node-api) and Polars (nodejs-polars), the versions pinned by
# tests/bench/peers/package-lock.json, into tests/bench/peers/node_modules (npm ci).
# scripts/setup.sh --with-test-servers runs it; the tests fail, never skip, without it.
set -euo pipefail
cd "$(dirname "$0")/../tests/bench/peers"
if ! command -v npm >/dev/null; then
  echo "install-test-readers: npm not found; install the packages of scripts/deps.txt (nodejs, npm)" >&2
  exit 1
fi
# nodejs-polars-linux-x64-gnu declares node >= 22 but runs on Debian 12's node 20.
npm ci --no-audit --no-fund --loglevel=error --engine-strict=false
