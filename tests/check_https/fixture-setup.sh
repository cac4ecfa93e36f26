#!/usr/bin/env bash
# Private WebDAV servers for `check` over https: nginx (scripts/nginx-start.sh
# in DIR; no partial PUT) and Apache (scripts/apache-start.sh in DIR/apache;
# partial PUT, so resume is probed). DIR/env holds nginx's keys as they are and
# Apache's prefixed APACHE_.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
d=$(cd "$1" && pwd)
bash "$top/scripts/nginx-start.sh" "$d"
bash "$top/scripts/apache-start.sh" "$d/apache"
{
  grep -v '^APACHE_' "$d/env"
  sed 's/^/APACHE_/' "$d/apache/env"
} >"$d/env.tmp"
mv "$d/env.tmp" "$d/env"
