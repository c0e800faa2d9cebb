#!/usr/bin/env bash
# Runs a command with the integration-test servers (OpenStack Swift with its S3 API,
# PostgreSQL) started on loopback and their addresses in the environment
# (S3_ENDPOINT, PG_URL, ...: tests/fixtures/servers.sh), then stops them.
#
#   scripts/with-servers.sh COMMAND [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
servers_dir=$(mktemp -d /tmp/ingot-servers.XXXXXX)
trap 'tests/fixtures/servers.sh down "$servers_dir" >/dev/null 2>&1 || true; rm -rf "$servers_dir"' EXIT
tests/fixtures/servers.sh up "$servers_dir" >/dev/null
set -a
# shellcheck disable=SC1091
. "$servers_dir/env"
set +a
"$@"
