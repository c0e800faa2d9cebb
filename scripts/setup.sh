#!/usr/bin/env bash
# Installs what ingot needs to build (Debian 12 packages; idempotent) and builds it
# in build/ (Release). Usage: scripts/setup.sh [--with-test-servers]
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

mapfile -t pkgs < <(cat scripts/deps.txt scripts/deps-*.txt 2>/dev/null | sed 's/#.*//' | awk 'NF')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = "--with-test-servers" ]; then
  sudo_if_needed scripts/install-test-servers.sh
  scripts/install-test-readers.sh
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
