#!/usr/bin/env bash
# Stops the nginx and Apache fixture-setup.sh started.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
bash "$top/scripts/apache-stop.sh" "$1/apache" || rc=1
bash "$top/scripts/nginx-stop.sh" "$1" || rc=1
exit $rc
