#!/usr/bin/env bash
# Installs what rsyncd-lite needs (Debian 12), builds it, and runs the demo job
# (examples/demo.conf: this repo's docs/ pushed to /tmp/rsyncd-lite-demo/remote
# over file://), then a second run that finds nothing to do, then `status`.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p /tmp/rsyncd-lite-demo/remote
echo "== first run: copies docs/ to /tmp/rsyncd-lite-demo/remote"
build/rsyncd-lite run examples/demo.conf
echo "== second run: nothing changed, nothing sent"
build/rsyncd-lite run examples/demo.conf
echo "== status"
build/rsyncd-lite status examples/demo.conf
