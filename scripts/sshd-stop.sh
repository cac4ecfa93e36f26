#!/usr/bin/env bash
# sshd-stop.sh DIR - stops the sshd instances sshd-start.sh DIR started (by the
# pids in their pid files, listener and its session children). Keeps the keys.
set -uo pipefail
dir=${1:?usage: sshd-stop.sh DIR}
alive() { # running and not a zombie (PID 1 may not reap in containers)
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}
for pidf in "$dir"/sshd.*.pid; do
  [ -f "$pidf" ] || continue
  pid=$(cat "$pidf")
  if alive "$pid"; then
    # the whole tree (session processes, internal-sftp children), collected
    # before signalling since killed parents' children are re-parented
    tree=$pid; next=$pid
    while [ -n "$next" ]; do
      kids=""
      for p in $next; do kids="$kids $(pgrep -P "$p" || true)"; done
      next=$(echo $kids)
      tree="$tree $next"
    done
    for k in $tree; do kill -CONT "$k" 2>/dev/null; kill "$k" 2>/dev/null || true; done
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.05; done
  fi
  rm -f "$pidf"
done
rm -f "$dir"/port.*
for m in full full-e2e; do
  if mountpoint -q "$dir/root/$m" 2>/dev/null; then umount "$dir/root/$m" || true; fi
done
echo "sshd-stop: stopped sshd instances in $dir"
