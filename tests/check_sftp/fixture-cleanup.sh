#!/usr/bin/env bash
# fixture-cleanup.sh DIR - stops the sshd fixture-setup.sh started (its
# listener and session children). Keeps the keys.
set -uo pipefail
dir=${1:?usage: fixture-cleanup.sh DIR}
pidf=$dir/sshd.pid
[ -f "$pidf" ] || exit 0
pid=$(cat "$pidf")
kids=$(pgrep -P "$pid" || true)
kill $pid $kids 2>/dev/null || true
for _ in $(seq 1 50); do
  [ -r "/proc/$pid/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" || break
  sleep 0.05
done
rm -f "$pidf" "$dir/port"
echo "check_sftp: sshd stopped"
