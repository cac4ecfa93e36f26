#!/usr/bin/env bash
# A private nginx WebDAV server (scripts/nginx-start.sh) for `check` over https.
set -euo pipefail
exec bash "$(dirname "$0")/../../scripts/nginx-start.sh" "$1"
