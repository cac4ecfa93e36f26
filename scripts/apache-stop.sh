#!/usr/bin/env bash
# apache-stop.sh DIR - stops the Apache started by apache-start.sh DIR.
# Exits 0 if it was not running.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
pidf=$1/run/apache.pid
[ -s "$pidf" ] || exit 0
pid=$(cat "$pidf")
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
fi
rm -f "$pidf"
