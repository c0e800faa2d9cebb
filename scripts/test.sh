#!/usr/bin/env bash
# README command 2: install everything (build deps, PostgreSQL, OpenStack Swift with
# its S3 API), build, start the servers on loopback, run every test, stop the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-servers
scripts/with-servers.sh ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 600
