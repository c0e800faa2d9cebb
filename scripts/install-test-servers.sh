#!/usr/bin/env bash
# Install (idempotently) everything the integration-test servers in
# tests/fixtures/ need on Debian 12: OpenStack Swift (with its s3api
# middleware), memcached (tempauth keeps tokens there), PostgreSQL 15, curl,
# and awscli (used by the benchmark for comparison). Also creates the
# unprivileged system user `ingot-test` that PostgreSQL runs as when the tests
# run as root. Needs root (or sudo).
#
#   scripts/install-test-servers.sh
set -euo pipefail

PACKAGES=(
    swift swift-proxy swift-object swift-container swift-account
    python3-lxml           # s3api XML (already a python3-swift dependency)
    memcached
    postgresql-15 postgresql-client-15
    curl ca-certificates
    awscli
)

SUDO=()
if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-test-servers.sh: run as root (or install sudo)" >&2
        exit 1
    }
    SUDO=(sudo)
fi

missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "install-test-servers.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -q
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "install-test-servers.sh: all packages already installed" >&2
fi

# The tests start their own private servers; the system-wide instances that
# the packages may have started (on machines with systemd) are not used.

if ! id -u ingot-test >/dev/null 2>&1; then
    "${SUDO[@]}" useradd --system --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin ingot-test
fi

# sanity checks
for f in /usr/bin/swift-proxy-server /usr/bin/memcached \
         /usr/lib/postgresql/15/bin/initdb /usr/lib/postgresql/15/bin/pg_ctl \
         /usr/bin/psql /usr/bin/aws /usr/bin/curl; do
    [[ -x $f ]] || { echo "install-test-servers.sh: $f missing" >&2; exit 1; }
done
/usr/bin/python3 -c 'import swift.common.middleware.s3api.s3api, lxml' || {
    echo "install-test-servers.sh: swift s3api middleware not importable" >&2
    exit 1
}
echo "install-test-servers.sh: done" >&2
