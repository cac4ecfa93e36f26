#!/usr/bin/env bash
# fixture-setup.sh DIR - the real servers `verify --read-back` and
# `--delete-extra` are tested against: vsftpd with TLS (DIR/ftp,
# scripts/vsftpd-start.sh), Apache WebDAV (DIR/apache) and nginx WebDAV
# (DIR/nginx), each on free 127.0.0.1 ports with its own CA and user. Writes
# DIR/env: the vsftpd keys as they are (FTP_...), Apache's and nginx's
# prefixed APACHE_ / NGINX_, and HOSTILE_FTPD (the scripted FTP server whose
# HASH mode gives server digests). Idempotent.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
d=$(cd "$1" && pwd)
bash "$top/scripts/vsftpd-start.sh" "$d/ftp"
bash "$top/scripts/apache-start.sh" "$d/apache"
bash "$top/scripts/nginx-start.sh" "$d/nginx"
{
  cat "$d/ftp/env"
  sed 's/^/APACHE_/' "$d/apache/env"
  sed 's/^/NGINX_/' "$d/nginx/env"
  echo "HOSTILE_FTPD=$top/tests/transport_ftps/hostile_ftpd.py"
} >"$d/env.tmp"
mv "$d/env.tmp" "$d/env"
