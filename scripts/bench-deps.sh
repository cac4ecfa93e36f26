#!/usr/bin/env bash
# bench-deps.sh - installs the peer tools the benchmarks compare rsyncd-lite
# with (rclone, lftp) and what they use to measure (GNU time), from Debian 12.
# Benchmarks only: CI and scripts/test.sh never need these, so they are not in
# scripts/deps.sh. Idempotent. Needs root (or sudo).
set -euo pipefail
pkgs=(rclone lftp rsync curl time bc openssh-client)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "bench-deps: ok ($(rclone version 2>/dev/null | head -1); $(lftp --version 2>/dev/null | head -1 | cut -c1-40))"
