#!/usr/bin/env bash
# Standing checks on our C code: banned functions (as curl does) and
# clang-format conformance with the checked-in .clang-format.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find engine transports cli state tests -name '*.[ch]')
bad=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|strtok|atoi|atol|gets)\s*\(' $files || true)
if [ -n "$bad" ]; then
  echo "lint: banned functions used (use snprintf, strtol, strtok_r, ...):" >&2
  echo "$bad" >&2
  exit 1
fi
if command -v clang-format >/dev/null 2>&1; then
  if ! clang-format --dry-run --Werror $files 2>/tmp/rsl-format.log; then
    echo "lint: clang-format differences (run: clang-format -i \$(git ls-files '*.[ch]')):" >&2
    head -40 /tmp/rsl-format.log >&2
    exit 1
  fi
fi
echo "lint: ok"
