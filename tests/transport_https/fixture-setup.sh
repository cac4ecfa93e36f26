#!/usr/bin/env bash
# fixture-setup.sh DIR - starts the two WebDAV servers the https transport is
# tested against: Apache (DIR/apache) and nginx (DIR/nginx), each on its own
# free 127.0.0.1 port with its own CA, certificate and Basic-auth user.
# Writes DIR/env with every key of each server prefixed APACHE_ / NGINX_,
# plus APACHE_DIR / NGINX_DIR. Idempotent.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
d=$(cd "$1" && pwd)
bash "$top/scripts/apache-start.sh" "$d/apache"
bash "$top/scripts/nginx-start.sh" "$d/nginx"
{
  sed 's/^/APACHE_/' "$d/apache/env"
  echo "APACHE_DIR=$d/apache"
  sed 's/^/NGINX_/' "$d/nginx/env"
  echo "NGINX_DIR=$d/nginx"
  echo "CUTPROXY=$top/scripts/cutproxy.py"
  echo "SCRIPTS=$top/scripts"
} >"$d/env.tmp"
mv "$d/env.tmp" "$d/env"
