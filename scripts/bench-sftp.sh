#!/usr/bin/env bash
# bench-sftp.sh [WORKDIR] - throughput of rsyncd-lite's sftp:// transport
# against peers, all against the same private sshd (scripts/sshd-start.sh) on
# 127.0.0.1. Not a test: prints seconds and ratios.
#
# Data sets: one 1 GiB incompressible file; 10,000 files of 4 KiB in 100
# directories. Each tool does a first push into an empty remote directory and
# then a no-change re-run. Peers (skipped when not installed): rsync -a -e ssh,
# OpenSSH sftp -b (put -r), scp -r, rclone sync (sftp remote), lftp mirror -R;
# and the pipe limit `ssh host 'cat >/dev/null' < file`.
# OpenSSH peers use aes128-gcm@openssh.com (the issue's reference figures);
# libssh2 1.10 has no AES-GCM, so rsyncd-lite runs aes128-ctr + hmac-sha2-256:
# the pipe limit is printed for both cipher suites.
#
# rsyncd-lite runs twice: on its embedded SSH client (libssh2 carrier) and
# with ssh_command (OpenSSH's ssh as the carrier, aes128-gcm like the peers).
#
# Env: RSL_BIN (default build/rsyncd-lite), BIG_MB (1024), SMALL_N (10000),
#      TRANSFERS (rsyncd-lite transfers, default 4), REPEAT (3: best of N),
#      SKIP ("rclone lftp sftp" skips those peers), KEEP=1 keeps the
#      generated data.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/rsl-bench-sftp}
bin=${RSL_BIN:-$top/build/rsyncd-lite}
big_mb=${BIG_MB:-1024}
small_n=${SMALL_N:-10000}
transfers=${TRANSFERS:-4}
repeat=${REPEAT:-3}
[ -x "$bin" ] || { echo "bench-sftp: build first ($bin missing)" >&2; exit 1; }
mkdir -p "$work"
bash "$top/scripts/sshd-start.sh" "$work/sshd" >/dev/null
trap 'bash "$top/scripts/sshd-stop.sh" "$work/sshd" >/dev/null; [ "${KEEP:-0}" = 1 ] || rm -rf "$work/data" "$work/sshd/root"/bench-*' EXIT
# shellcheck disable=SC1091
. "$work/sshd/env"
u=$SSH_USER
h=127.0.0.1
sshopts=(-i "$SSH_KEY" -o UserKnownHostsFile="$SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=yes
  -o BatchMode=yes -c aes128-gcm@openssh.com)
sshcmd="ssh -i $SSH_KEY -o UserKnownHostsFile=$SSH_KNOWN_HOSTS -o BatchMode=yes -c aes128-gcm@openssh.com -p $SSH_PORT"

# --- data ---
data=$work/data
. "$top/scripts/bench-data.sh"
bench_data "$data" "$big_mb" "$small_n" 4

# --- helpers ---
declare -A T
now() { date +%s.%N; }
remote_dir() { # fresh empty remote dir owned by the test user
  local d=$SSH_ROOT/bench-$1
  rm -rf "$d"; mkdir -p "$d"; chown "$u" "$d"; echo "$d"
}
timeit() { # name cmd...
  local name=$1; shift
  local t0 t1 log=$work/log-${name//[^A-Za-z0-9]/_}.txt
  t0=$(now)
  if "$@" >"$log" 2>&1; then
    t1=$(now)
    T[$name]=$(printf '%.2f' "$(echo "$t1 - $t0" | bc -l)")
  else
    T[$name]=""
    printf '  %-28s FAILED (see %s)\n' "$name" "$log"
  fi
}
job() { # set source dest -> writes $work/job-$1.conf
  cat >"$work/job-$1.conf" <<CONF
[job]
name = bench-$1
source = $2
destination = sftp://$u@$h:$SSH_PORT$3
state = $work/state-$1.db
transfers = $transfers
[remote]
identity_file = $SSH_KEY
known_hosts = $SSH_KNOWN_HOSTS
CONF
  rm -f "$work/state-$1.db"* "$work/state-$1-ssh.db"*
  sed -e "s|state-$1.db|state-$1-ssh.db|" "$work/job-$1.conf" >"$work/job-$1-ssh.conf"
  echo "ssh_command = ssh -F /dev/null -c aes128-gcm@openssh.com" >>"$work/job-$1-ssh.conf"
}
have() { command -v "$1" >/dev/null 2>&1 && case " ${SKIP:-} " in *" $1 "*) return 1 ;; esac; }
rclone_conf=$work/rclone.conf
cat >"$rclone_conf" <<CONF
[b]
type = sftp
host = $h
port = $SSH_PORT
user = $u
key_file = $SSH_KEY
known_hosts_file = $SSH_KNOWN_HOSTS
CONF

# one tool: REPEAT times a first push into a fresh empty remote dir, then a
# no-change re-run; keeps the fastest of each (the machine may be shared)
tool() { # set name first-cmd... (uses $d for the remote dir, set by prep)
  local s=$1 name=$2 r best1="" best2="" t
  shift 2
  for r in $(seq 1 "$repeat"); do
    d=$(remote_dir "$s-x"); job "$s" "$src" "$d"
    printf 'put -r %s/* %s/\n' "$src" "$d" >"$work/sftp.batch"
    timeit "$s/$name" "$@" || true
    t=${T[$s/$name]}; [ -n "$t" ] && { [ -z "$best1" ] || (( $(echo "$t < $best1" | bc) )); } && best1=$t
    timeit "$s/$name re-run" "$@" || true
    t=${T[$s/$name re-run]}; [ -n "$t" ] && { [ -z "$best2" ] || (( $(echo "$t < $best2" | bc) )); } && best2=$t
    case $name in rsyncd-lite*) cmp_tree "$src" "$d" || echo "  !! $name result differs" ;; esac
  done
  T[$s/$name]=$best1
  T[$s/$name re-run]=$best2
  printf '  %-28s %8s s   re-run %8s s   (best of %d)\n' "$s/$name" "${best1:-FAIL}" "${best2:-FAIL}" "$repeat"
}
run_set() { # set_name local_dir; each snippet is eval'ed with $d = fresh remote dir
  local s=$1
  src=$2
  echo "== $s =="
  tool "$s" rsyncd-lite eval '"$bin" run "$work/job-$s.conf"'
  tool "$s" "rsyncd-lite ssh" eval '"$bin" run "$work/job-$s-ssh.conf"'
  tool "$s" rsync eval 'rsync -a -e "$sshcmd" "$src/" "$u@$h:$d/"'
  if have sftp; then
    tool "$s" "sftp -b" eval 'sftp -q "${sshopts[@]}" -P "$SSH_PORT" -b "$work/sftp.batch" "$u@$h"'
  fi
  tool "$s" "scp -r" eval 'scp -q -r "${sshopts[@]}" -P "$SSH_PORT" "$src/." "$u@$h:$d/"'
  if have rclone; then
    tool "$s" "rclone sync" eval 'rclone --config "$rclone_conf" sync "$src" "b:$d"'
  fi
  if have lftp; then
    tool "$s" "lftp mirror -R" eval 'lftp -c "set sftp:connect-program \"ssh -a -x -i $SSH_KEY -o UserKnownHostsFile=$SSH_KNOWN_HOSTS -c aes128-gcm@openssh.com\"; open -p $SSH_PORT sftp://$u:x@$h; mirror -R --parallel=4 $src $d; quit"'
  fi
  rm -rf "$SSH_ROOT"/bench-"$s"-*
}
cmp_tree() { diff -rq "$1" "$2" >/dev/null; }
ratio() { # a b -> a/b
  if [ -n "${T[$1]:-}" ] && [ -n "${T[$2]:-}" ]; then
    printf '  %-58s %6.2fx\n' "$1 / $2" "$(echo "${T[$1]} / ${T[$2]}" | bc -l)"
  fi
}

echo "sshd on 127.0.0.1:$SSH_PORT; ${big_mb} MiB file; $small_n small files; transfers = $transfers"
echo "== pipe limit =="
pipe() { # name ssh-args...: best of $repeat
  local name=$1 r best="" t
  shift
  for r in $(seq 1 "$repeat"); do
    timeit "$name" ssh "$@" -p "$SSH_PORT" "$u@$h" 'cat >/dev/null' <"$data/big/big.bin" || true
    t=${T[$name]}; [ -n "$t" ] && { [ -z "$best" ] || (( $(echo "$t < $best" | bc) )); } && best=$t
  done
  T[$name]=$best
  printf '  %-28s %8s s   (best of %d)\n' "$name" "${best:-FAIL}" "$repeat"
}
pipe "pipe aes128-gcm" "${sshopts[@]}"
pipe "pipe aes128-ctr+sha256" -i "$SSH_KEY" -o UserKnownHostsFile="$SSH_KNOWN_HOSTS" -o BatchMode=yes \
  -c aes128-ctr -m hmac-sha2-256
run_set big "$data/big"
run_set small "$data/small"

echo "== ratios (time / time; lower is better for rsyncd-lite) =="
ratio "big/rsyncd-lite" "big/sftp -b"
ratio "big/rsyncd-lite ssh" "big/scp -r"
ratio "big/rsyncd-lite ssh" "big/rsync"
ratio "small/rsyncd-lite ssh" "small/rsync"
ratio "small/rsyncd-lite ssh" "small/scp -r"
ratio "big/rsyncd-lite" "big/scp -r"
ratio "big/rsyncd-lite" "big/rsync"
ratio "big/rsyncd-lite" "pipe aes128-gcm"
ratio "big/rsyncd-lite" "pipe aes128-ctr+sha256"
ratio "small/rsyncd-lite" "small/rsync"
ratio "small/rsyncd-lite" "small/sftp -b"
ratio "small/rsyncd-lite re-run" "small/rclone sync re-run"
ratio "big/rsyncd-lite re-run" "big/rclone sync re-run"
ratio "small/rsyncd-lite re-run" "small/rsync re-run"
