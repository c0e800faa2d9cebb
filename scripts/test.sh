#!/usr/bin/env bash
# README command 2: install everything (build deps, PostgreSQL, OpenStack Swift with
# its S3 API), build, start the servers on loopback, run every test, stop the servers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-test-servers
servers_dir=$(mktemp -d /tmp/ingot-servers.XXXXXX)
trap 'tests/fixtures/servers.sh down "$servers_dir" >/dev/null 2>&1 || true; rm -rf "$servers_dir"' EXIT
tests/fixtures/servers.sh up "$servers_dir" >/dev/null
set -a
# shellcheck disable=SC1091
. "$servers_dir/env"
set +a
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 600
