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
# Env: RSL_BIN (default build/rsyncd-lite), BIG_MB (1024), SMALL_N (10000),
#      TRANSFERS (rsyncd-lite transfers, default 4), KEEP=1 keeps WORKDIR.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/rsl-bench-sftp}
bin=${RSL_BIN:-$top/build/rsyncd-lite}
big_mb=${BIG_MB:-1024}
small_n=${SMALL_N:-10000}
transfers=${TRANSFERS:-4}
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
mkdir -p "$data/big" "$data/small"
if [ ! -f "$data/big/big.bin" ] || [ "$(stat -c %s "$data/big/big.bin")" != $((big_mb << 20)) ]; then
  head -c $((big_mb << 20)) /dev/urandom >"$data/big/big.bin"
fi
if [ "$(find "$data/small" -type f | wc -l)" != "$small_n" ]; then
  rm -rf "$data/small"
  python3 - "$data/small" "$small_n" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(os.urandom(4096))
PY
fi
sync

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
    T[$name]=$(echo "$t1 - $t0" | bc -l)
    printf '  %-28s %8.2f s\n' "$name" "${T[$name]}"
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
  rm -f "$work/state-$1.db"*
}
have() { command -v "$1" >/dev/null 2>&1; }
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

run_set() { # set_name local_dir
  local s=$1 src=$2 d
  echo "== $s =="
  d=$(remote_dir "$s-ours"); job "$s" "$src" "$d"
  timeit "$s/rsyncd-lite" "$bin" run "$work/job-$s.conf"
  timeit "$s/rsyncd-lite re-run" "$bin" run "$work/job-$s.conf"
  cmp_tree "$src" "$d" || echo "  !! rsyncd-lite result differs"
  d=$(remote_dir "$s-rsync")
  timeit "$s/rsync" rsync -a -e "$sshcmd" "$src/" "$u@$h:$d/"
  timeit "$s/rsync re-run" rsync -a -e "$sshcmd" "$src/" "$u@$h:$d/"
  d=$(remote_dir "$s-sftp")
  printf 'put -r %s/* %s/\n' "$src" "$d" >"$work/sftp.batch"
  timeit "$s/sftp -b" sftp -q "${sshopts[@]}" -P "$SSH_PORT" -b "$work/sftp.batch" "$u@$h"
  timeit "$s/sftp -b re-run" sftp -q "${sshopts[@]}" -P "$SSH_PORT" -b "$work/sftp.batch" "$u@$h"
  d=$(remote_dir "$s-scp")
  timeit "$s/scp -r" scp -q -r "${sshopts[@]}" -P "$SSH_PORT" "$src/." "$u@$h:$d/"
  timeit "$s/scp -r re-run" scp -q -r "${sshopts[@]}" -P "$SSH_PORT" "$src/." "$u@$h:$d/"
  if have rclone; then
    d=$(remote_dir "$s-rclone")
    timeit "$s/rclone sync" rclone --config "$rclone_conf" sync "$src" "b:$d"
    timeit "$s/rclone sync re-run" rclone --config "$rclone_conf" sync "$src" "b:$d"
  fi
  if have lftp; then
    d=$(remote_dir "$s-lftp")
    local lc="set sftp:connect-program 'ssh -a -x -i $SSH_KEY -o UserKnownHostsFile=$SSH_KNOWN_HOSTS -c aes128-gcm@openssh.com'; open -p $SSH_PORT sftp://$u:x@$h; mirror -R --parallel=4 $src $d; quit"
    timeit "$s/lftp mirror -R" lftp -c "$lc"
    timeit "$s/lftp mirror -R re-run" lftp -c "$lc"
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
timeit "pipe aes128-gcm" ssh "${sshopts[@]}" -p "$SSH_PORT" "$u@$h" 'cat >/dev/null' <"$data/big/big.bin"
timeit "pipe aes128-ctr+sha256" ssh -i "$SSH_KEY" -o UserKnownHostsFile="$SSH_KNOWN_HOSTS" \
  -o BatchMode=yes -c aes128-ctr -m hmac-sha2-256 -p "$SSH_PORT" "$u@$h" 'cat >/dev/null' <"$data/big/big.bin"
run_set big "$data/big"
run_set small "$data/small"

echo "== ratios (time / time; lower is better for rsyncd-lite) =="
ratio "big/rsyncd-lite" "big/sftp -b"
ratio "big/rsyncd-lite" "big/scp -r"
ratio "big/rsyncd-lite" "big/rsync"
ratio "big/rsyncd-lite" "pipe aes128-gcm"
ratio "big/rsyncd-lite" "pipe aes128-ctr+sha256"
ratio "small/rsyncd-lite" "small/rsync"
ratio "small/rsyncd-lite" "small/sftp -b"
ratio "small/rsyncd-lite re-run" "small/rclone sync re-run"
ratio "big/rsyncd-lite re-run" "big/rclone sync re-run"
ratio "small/rsyncd-lite re-run" "small/rsync re-run"
