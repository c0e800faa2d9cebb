#!/usr/bin/env bash
# Regenerates the man pages (man/*.1) and shell completions (completions/) from the
# CLI11 definitions of every subcommand plus the prose in man/prose/, after adding or
# changing an option. Commit the result; tests/cli/test_docs.cpp fails until you do.
# Usage: scripts/generate-docs.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target ingot
# Generate aside first, so a failure leaves the committed files alone, and so pages of
# a removed subcommand disappear.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/ingot" generate all --out "$tmp" --prose man/prose
rm -f man/*.1 completions/ingot.bash completions/_ingot completions/ingot.fish
mkdir -p man completions
cp "$tmp"/man/*.1 man/
cp "$tmp"/completions/* completions/
git status --short man completions 2>/dev/null || true
