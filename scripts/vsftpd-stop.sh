#!/usr/bin/env bash
# vsftpd-stop.sh DIR - stops the vsftpd instances vsftpd-start.sh started under DIR
# (listeners and their session processes). Leaves DIR (certs, files, logs) in place.
set -uo pipefail
dir=${1:?usage: vsftpd-stop.sh DIR}
[ -d "$dir" ] || exit 0
dir=$(cd "$dir" && pwd)
# alive: exists and is not a zombie (an orphan nobody reaped yet still answers kill -0)
alive() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
# pids whose parent is $1 (from /proc, no procps needed; field 4 of stat is the ppid)
children() {
  cat /proc/[0-9]*/stat 2>/dev/null |
    awk -v pp="$1" '{ pid = $1; sub(/^[0-9]+ \(.*\) /, ""); if ($2 == pp) print pid }'
}
for conf in "$dir"/*/vsftpd.conf; do
  [ -f "$conf" ] || continue
  inst=$(dirname "$conf")
  pid=$(cat "$inst/vsftpd.pid" 2>/dev/null || true)
  if [ -n "$pid" ] && alive "$pid"; then
    # session processes first (children of the listener, and theirs), then the listener
    for c in $(children "$pid"); do
      for g in $(children "$c"); do kill -KILL "$g" 2>/dev/null; done
      kill -KILL "$c" 2>/dev/null
    done
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$inst/vsftpd.pid"
done
# the local user vsftpd-start.sh made for this DIR
if [ -s "$dir/user" ] && id "$(cat "$dir/user")" >/dev/null 2>&1; then
  userdel "$(cat "$dir/user")" 2>/dev/null || true
fi
# an FTP root made under /tmp because DIR was not reachable by the user
if [ -s "$dir/rootdir" ]; then
  case $(cat "$dir/rootdir") in /tmp/rsl-vsftpd-*) rm -rf "$(cat "$dir/rootdir")" ;; esac
  rm -f "$dir/rootdir"
fi
echo "vsftpd-stop: stopped in $dir"
