#!/usr/bin/env bash
# bench-sendless.sh [--rtt MS] [--gib N] [--files N] - "send less" over a
# simulated WAN link (benchmark, not a test; never run in CI). Starts the
# project's sshd on 127.0.0.1 (scripts/sshd-start.sh) behind the delay line
# build/rsl-delayproxy (RTT 50 ms by default, as scripts/bench-wan.sh), pushes
# a tree over SFTP, then measures (issue 12):
#   rename-big   a 1 GiB file renamed: file bytes sent (target 0), link bytes
#                up, wall time (the local SHA-256 that confirms the rename is
#                part of it);
#   rename-dir   a directory of 1,000 files renamed: SFTP requests of the whole
#                run (target < 5) counted on the wire (the run goes through
#                `ssh_command` = a wrapper that copies what it sends into a
#                file; the packets are counted by type), and the wall time of
#                the same rename with the default carrier (target < 1 s);
#   append       1 MiB appended to a 1 GiB log (append = *.log): file bytes
#                and link bytes up (target <= 1.1 MiB).
# Each line says "met" or "MISSED". The remote tree is compared with the
# source after each step.
# Options: --rtt MS (50), --gib N (size of the big file, 1), --files N (1000).
# Env: RSL_BIN (build/rsyncd-lite), RSL_DELAYPROXY (build/rsl-delayproxy),
#   WORKDIR (/tmp/rsl-bench-sendless).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${RSL_BIN:-$top/build/rsyncd-lite}
proxy=${RSL_DELAYPROXY:-$top/build/rsl-delayproxy}
work=${WORKDIR:-/tmp/rsl-bench-sendless}
rtt=50 gib=1 files=1000
while [ $# -gt 0 ]; do
  case $1 in
  --rtt) rtt=$2; shift ;;
  --gib) gib=$2; shift ;;
  --files) files=$2; shift ;;
  -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "bench-sendless: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
half=$(awk -v r="$rtt" 'BEGIN { printf "%g", r / 2 }')
[ -x "$bin" ] || { echo "bench-sendless: build first ($bin missing)" >&2; exit 1; }
[ -x "$proxy" ] || { echo "bench-sendless: build first ($proxy missing)" >&2; exit 1; }
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

cleanup() {
  [ -s "$work/proxy.pid" ] && kill "$(cat "$work/proxy.pid")" 2>/dev/null
  bash "$top/scripts/sshd-stop.sh" "$work/sshd" >/dev/null 2>&1
  rm -rf "$work/src" "${SSH_ROOT:-/nonexistent}/sendless"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bash "$top/scripts/sshd-start.sh" "$work/sshd" >/dev/null || exit 1
# shellcheck disable=SC1091
. "$work/sshd/env"
"$proxy" --target "$SSH_PORT" --delay "$half" --port-file "$work/proxy.port" \
  --stats-file "$work/proxy.stats" >/dev/null 2>"$work/proxy.log" &
echo $! >"$work/proxy.pid"
for _ in $(seq 1 100); do [ -s "$work/proxy.port" ] && break; sleep 0.05; done
PPORT=$(cat "$work/proxy.port")
printf '[127.0.0.1]:%s %s\n' "$PPORT" "$(cut -d' ' -f1,2 "$SSH_HOST_PUB")" >"$work/known_hosts"

link_up() { # bytes that went up through the link so far
  local seq
  seq=$(sed -n 's/^seq=//p' "$work/proxy.stats" 2>/dev/null)
  kill -USR1 "$(cat "$work/proxy.pid")"
  for _ in $(seq 1 200); do
    [ "$(sed -n 's/^seq=//p' "$work/proxy.stats" 2>/dev/null)" != "$seq" ] && break
    sleep 0.01
  done
  sed -n 's/^bytes_up=//p' "$work/proxy.stats"
}

# The ssh carrier through a wrapper that keeps a copy of every byte sent.
cat >"$work/ssh-tee" <<EOF
#!/usr/bin/env python3
import os, select, subprocess, sys
# stdin and stdout are one socket, which ssh makes non-blocking: wait, then read
log = open("$work/wire.up", "ab", buffering=0)
p = subprocess.Popen(["ssh"] + sys.argv[1:], stdin=subprocess.PIPE, bufsize=0)
while True:
    select.select([0], [], [])
    try:
        b = os.read(0, 1 << 16)
    except BlockingIOError:
        continue
    if not b:
        break
    log.write(b)
    try:
        p.stdin.write(b)  # a blocking pipe: written whole
    except BrokenPipeError:
        break
p.stdin.close()
sys.exit(p.wait())
EOF
chmod +x "$work/ssh-tee"

src=$work/src root=$SSH_ROOT/sendless
mkdir -p "$src" "$root"
chown "$SSH_USER" "$root"
conf() { # [extra remote line] -> the job file
  cat >"$work/job.conf" <<EOF
[job]
name = sendless
source = $src
destination = sftp://$SSH_USER@127.0.0.1:$PPORT$root
state = $work/state.db
delete = yes
max_delete = 0
append = *.log
[remote]
identity_file = $SSH_KEY
known_hosts = $work/known_hosts
${1:-}
EOF
}
num() { sed -n "s/.*\"summary\":true.*\"$1\":\([0-9]*\).*/\1/p" "$2"; }
now() { date +%s.%N; }
runj() { # out-file: one run with --json, its wall time in $secs
  local t0 t1
  t0=$(now)
  "$bin" run --json "$work/job.conf" >"$1" 2>"$1.err" || { echo "run failed:"; cat "$1.err"; }
  t1=$(now)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}
same() {
  if diff -r "$src" "$root" >/dev/null 2>&1; then echo "remote = source"; else echo "REMOTE DIFFERS"; fi
}
verdict() { awk -v v="$1" -v m="$2" 'BEGIN { print (v + 0 <= m + 0) ? "met" : "MISSED" }'; }

echo "bench-sendless: SFTP through rsl-delayproxy, RTT $rtt ms; big file $gib GiB, $files files"
conf
head -c "$((gib * 1024))M" /dev/urandom >"$src/big.bin"
mkdir -p "$src/photos"
for i in $(seq 1 "$files"); do printf 'photo %d\n' "$i" >"$src/photos/p$i.jpg"; done
runj "$work/first.json"
echo "first push: $secs s, $(num transferred_bytes "$work/first.json") bytes sent; $(same)"

# ---- a 1 GiB file renamed
mv "$src/big.bin" "$src/big-renamed.bin"
up0=$(link_up)
runj "$work/rename-big.json"
up=$(($(link_up) - up0))
fb=$(num transferred_bytes "$work/rename-big.json")
echo "rename-big: moves $(num moves "$work/rename-big.json"), file bytes sent $fb" \
  "(target 0: $(verdict "$fb" 0)), link bytes up $up, $secs s; $(same)"

# ---- a directory of $files files renamed: requests on the wire
conf "ssh_command = $work/ssh-tee"
mv "$src/photos" "$src/photos-2026"
: >"$work/wire.up"
runj "$work/rename-dir.json"
reqs=$(python3 - "$work/wire.up" <<'PY'
import struct, sys, collections
names = {1: "INIT", 3: "OPEN", 4: "CLOSE", 5: "READ", 6: "WRITE", 7: "LSTAT", 8: "FSTAT",
         9: "SETSTAT", 10: "FSETSTAT", 11: "OPENDIR", 12: "READDIR", 13: "REMOVE", 14: "MKDIR",
         15: "RMDIR", 16: "REALPATH", 17: "STAT", 18: "RENAME", 19: "READLINK", 20: "SYMLINK",
         200: "EXTENDED"}
data = open(sys.argv[1], "rb").read()
n, c = 0, collections.Counter()
while n + 5 <= len(data):
    ln = struct.unpack(">I", data[n:n + 4])[0]
    c[names.get(data[n + 4], str(data[n + 4]))] += 1
    n += 4 + ln
req = sum(v for k, v in c.items() if k != "INIT")
print(req, " ".join("%s=%d" % kv for kv in sorted(c.items())))
PY
)
nreq=${reqs%% *}
# what every connection asks before any op: limits@openssh.com, STAT of the
# root, and the posix-rename probe until its answer is a remembered fact
# (transports/sftp.c first_look_at)
setup=$(grep -o 'EXTENDED=[0-9]*' <<<"$reqs" | cut -d= -f2)
setup=$((setup + $(grep -o ' STAT=[0-9]*' <<<"$reqs" | cut -d= -f2)))
# the remote check every run makes (remote_check = every-run, issue 11): an
# LSTAT of each sampled file, sent with the first look (the root's answer is
# the first look's STAT)
rcheck=$(grep -o 'LSTAT=[0-9]*' <<<"$reqs" | cut -d= -f2)
rcheck=${rcheck:-0}
nrun=$((nreq - rcheck))
echo "rename-dir ($files files, ssh carrier): moves $(num moves "$work/rename-dir.json")," \
  "SFTP requests $nreq [${reqs#* }]: $setup the connection's setup, $rcheck the per-run" \
  "remote check, $((nreq - setup - rcheck)) for the move; without the check $nrun" \
  "(target < 5: $(verdict "$nrun" 4)); $secs s; $(same)"
conf
mv "$src/photos-2026" "$src/photos-archive"
runj "$work/rename-dir2.json"
echo "rename-dir ($files files, default carrier): moves $(num moves "$work/rename-dir2.json")," \
  "$secs s (target < 1 s: $(verdict "$secs" 0.999)); $(same)"

# ---- 1 MiB appended to a 1 GiB log
mv "$src/big-renamed.bin" "$src/app.log"
runj "$work/to-log.json"
head -c 1M /dev/urandom >>"$src/app.log"
up0=$(link_up)
runj "$work/append.json"
up=$(($(link_up) - up0))
fb=$(num transferred_bytes "$work/append.json")
echo "append: 1 MiB onto $gib GiB: file bytes sent $fb, link bytes up $up" \
  "(target <= 1153434: $(verdict "$up" 1153434)), $secs s; $(same)"
