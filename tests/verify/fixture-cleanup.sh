#!/usr/bin/env bash
# fixture-cleanup.sh DIR - stops the servers fixture-setup.sh started.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
bash "$top/scripts/vsftpd-stop.sh" "$1/ftp" || rc=1
bash "$top/scripts/apache-stop.sh" "$1/apache" || rc=1
bash "$top/scripts/nginx-stop.sh" "$1/nginx" || rc=1
exit $rc
