#!/usr/bin/env bash
# Lays out every C++ source of the project by .clang-format (clang-format from
# scripts/deps.txt). `scripts/format.sh --check` lists the files that differ and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cc' '*.hpp')
if [[ "${1:-}" == --check ]]; then
  bad=0
  for f in "${files[@]}"; do
    if ! clang-format --style=file "$f" | cmp -s - "$f"; then echo "$f"; bad=1; fi
  done
  exit "$bad"
fi
clang-format --style=file -i "${files[@]}"
