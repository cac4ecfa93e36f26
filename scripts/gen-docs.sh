#!/usr/bin/env bash
# Regenerates docs/errors.md from the error catalog (base/catalog.h).
# Usage: scripts/gen-docs.sh [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
"$build/rsyncd-lite" explain --markdown > "$top/docs/errors.md"
echo "wrote docs/errors.md"
