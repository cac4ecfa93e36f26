#!/usr/bin/env bash
# Installs everything rsyncd-lite needs to build and to run its whole test
# suite on Debian 12: compilers, libraries, Criterion, and the real servers
# the transport tests start on 127.0.0.1 (sshd, vsftpd, Apache, nginx, and
# rclone's SFTP server: one that cannot write at an offset).
# Idempotent. Needs root (or sudo).
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config clang-format clang libclang-rt-14-dev
  libssh2-1-dev libcurl4-openssl-dev libssl-dev zlib1g-dev libsqlite3-dev sqlite3 libexpat1-dev
  libcriterion-dev
  openssh-server openssh-client vsftpd apache2-bin nginx libnginx-mod-http-dav-ext
  openssl procps psmisc iproute2 python3 rsync curl rclone
)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's packages may start system-wide daemons; the tests never use them.
