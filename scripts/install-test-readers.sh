#!/usr/bin/env bash
# Installs the independent Parquet readers the CLI tests read ingot's Parquet files back
# with: DuckDB (@duckdb/node-api) and Polars (nodejs-polars), the versions pinned by
# tests/bench/peers/package-lock.json, into tests/bench/peers/node_modules (npm ci).
# scripts/setup.sh --with-test-servers runs it; the tests fail, never skip, without it.
set -euo pipefail
cd "$(dirname "$0")/../tests/bench/peers"
# node and npm come from Debian (nodejs, npm) unless the machine has them already: a
# node from another source (NodeSource bundles npm) conflicts with Debian's npm package,
# so they are not in scripts/deps.txt.
if ! command -v npm >/dev/null; then
  sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  echo "install-test-readers: installing nodejs npm" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
# nodejs-polars-linux-x64-gnu declares node >= 22 but runs on Debian 12's node 20.
npm ci --no-audit --no-fund --loglevel=error --engine-strict=false
