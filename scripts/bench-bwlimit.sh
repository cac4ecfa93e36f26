#!/usr/bin/env bash
# bench-bwlimit.sh [--quick] [--transports LIST] [--rates LIST] - how exact
# `bwlimit` is (issue 13, item 6; benchmark, not a test; never run in CI).
# For each transport (file://, sftp on the tests' sshd, https/WebDAV on nginx,
# ftps on vsftpd: scripts/*-start.sh on 127.0.0.1) and each limit (100K 1M 10M
# 100M 500M; K/M/G = 1024 as in job.conf) it pushes one file sized for ~3 s at
# that limit into an empty remote directory with an empty state db, default
# settings otherwise, and prints the achieved rate: size / (wall time - setup),
# where setup is the best of 3 runs pushing a 1-byte file over the same
# transport (connect, auth, remote checks, state). Then one line per
# transport with transfers = 4 and 8 files at 10M: the aggregate rate must
# also be the limit (shared across parallel transfers, not per transfer).
# Target: achieved / limit within 0.95 .. 1.05 on every line.
#   --quick: limits 1M 10M 100M only; --transports file,sftp,https,ftps;
#   --rates "100K 1M"; --timeout S (per run; default 10 x the expected time,
#   at least 60 s). Env: RSL_BIN (build/rsyncd-lite), WORKDIR
#   (/tmp/rsl-bench-bwlimit). The largest file is 1.5 GiB (500M x 3 s).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${RSL_BIN:-$top/build/rsyncd-lite}
work=${WORKDIR:-/tmp/rsl-bench-bwlimit}
transports="file sftp https ftps"
rates="100K 1M 10M 100M 500M"
secs=3 tmo=""
while [ $# -gt 0 ]; do
  case $1 in
  --quick) rates="1M 10M 100M" ;;
  --transports) transports=${2//,/ }; shift ;;
  --rates) rates=${2//,/ }; shift ;;
  --timeout) tmo=$2; shift ;;
  -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "bench-bwlimit: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$bin" ] || { echo "bench-bwlimit: build first ($bin missing)" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)

bytes_of() { # 10M -> 10485760
  awk -v s="$1" 'BEGIN { m = 1; u = toupper(substr(s, length(s)));
    if (u == "K") m = 1024; else if (u == "M") m = 1048576; else if (u == "G") m = 1073741824;
    if (m > 1) s = substr(s, 1, length(s) - 1); printf "%d\n", s * m }'
}

started=""
cleanup() {
  for s in $started; do
    case $s in
    sftp) bash "$top/scripts/sshd-stop.sh" "$work/sshd" >/dev/null 2>&1 ;;
    https) bash "$top/scripts/nginx-stop.sh" "$work/nginx" >/dev/null 2>&1 ;;
    ftps) bash "$top/scripts/vsftpd-stop.sh" "$work/vsftpd" >/dev/null 2>&1 ;;
    esac
  done
  rm -rf "$work/remote" "${SSH_ROOT:-/nonexistent}/bw" "${WWW:-/nonexistent}/bw" "${FTP_DATA_DIR:-/nonexistent}/bw"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- servers: only those asked for ----
for t in $transports; do
  case $t in
  file) ;;
  sftp)
    bash "$top/scripts/sshd-start.sh" "$work/sshd" >/dev/null || exit 1
    started="$started sftp"
    # shellcheck disable=SC1091
    . "$work/sshd/env"
    ;;
  https)
    bash "$top/scripts/nginx-start.sh" "$work/nginx" >/dev/null || exit 1
    started="$started https"
    HPORT=$(sed -n 's/^PORT=//p' "$work/nginx/env")
    WWW=$(sed -n 's/^WWW=//p' "$work/nginx/env")
    ;;
  ftps)
    bash "$top/scripts/vsftpd-start.sh" "$work/vsftpd" >/dev/null || exit 1
    started="$started ftps"
    # shellcheck disable=SC1091
    . "$work/vsftpd/env"
    ;;
  *) echo "bench-bwlimit: unknown transport $t" >&2; exit 2 ;;
  esac
done

# ---- data: one file per limit, sized for $secs s, plus 8 files for the shared line ----
data=$work/data
mkfile() { # path bytes
  [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$2" ] && return
  mkdir -p "$(dirname "$1")"
  head -c "$2" /dev/urandom >"$1"
}
for r in $rates; do mkfile "$data/one-$r/f.bin" $(($(bytes_of "$r") * secs)); done
mkfile "$data/tiny/t.bin" 1
shared_rate=10M
for i in 1 2 3 4 5 6 7 8; do mkfile "$data/shared/f$i.bin" $(($(bytes_of $shared_rate) * secs / 8)); done

# ---- one push: transport name srcdir bwlimit transfers -> wall seconds (empty on failure) ----
remote() { # transport name -> "local-path-of-remote-dir destination-url"
  local t=$1 n=$2 d
  case $t in
  file) d=$work/remote/$n; rm -rf "$d"; mkdir -p "$d"; echo "$d file://$d" ;;
  sftp) d=$SSH_ROOT/bw/$n; rm -rf "$d"; mkdir -p "$d"; chown "$SSH_USER" "$SSH_ROOT/bw" "$d"
    echo "$d sftp://$SSH_USER@127.0.0.1:$SSH_PORT$d" ;;
  https) d=$WWW/bw/$n; rm -rf "$d"; mkdir -p "$d"; chown --reference="$WWW" "$WWW/bw" "$d"
    echo "$d https://127.0.0.1:$HPORT/dav/bw/$n" ;;
  ftps) d=$FTP_DATA_DIR/bw/$n; rm -rf "$d"; mkdir -p "$d"; chown "$FTP_USER" "$FTP_DATA_DIR/bw" "$d"
    echo "$d ftps://$FTP_USER@127.0.0.1:$FTP_MAIN_PORT$FTP_REMOTE_ROOT/bw/$n" ;;
  esac
}
remote_keys() { # transport -> [remote] lines
  case $1 in
  sftp) printf 'identity_file = %s\nknown_hosts = %s\n' "$SSH_KEY" "$SSH_KNOWN_HOSTS" ;;
  https) printf 'username = rsl\npassword_file = %s\nca_file = %s\n' "$work/nginx/password" "$work/nginx/ca.crt" ;;
  ftps) printf 'password_file = %s\nca_file = %s\n' "$FTP_PASSWORD_FILE" "$FTP_CA_FILE" ;;
  esac
}
push() { # transport name srcdir bwlimit transfers timeout -> prints wall seconds, or nothing
  local t=$1 n=$2 src=$3 bw=$4 tr=$5 to=$6 dir url f t0 t1 rc
  read -r dir url < <(remote "$t" "$n")
  f=$work/job-$n.conf
  rm -f "$work/state-$n.db"*
  {
    printf '[job]\nname = bw-%s\nsource = %s\ndestination = %s\nstate = %s\n' "$n" "$src" "$url" "$work/state-$n.db"
    [ "$bw" != 0 ] && printf 'bwlimit = %s\n' "$bw"
    [ "$tr" != default ] && printf 'transfers = %s\n' "$tr"
    printf '[remote]\n'
    remote_keys "$t"
  } >"$f"
  sync
  t0=$(date +%s.%N)
  timeout -k 10 "$to" "$bin" run "$f" >"$work/log-$n.txt" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  if [ "$rc" = 0 ] && diff -rq "$src" "$dir" >/dev/null 2>&1; then
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
  elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "timeout"
  else
    echo "FAIL"
  fi
  rm -rf "$dir"
}
line() { # transport label limit-bytes size wall setup timeout
  local t=$1 label=$2 lim=$3 size=$4 wall=$5 setup=$6 to=$7
  awk -v t="$t" -v l="$label" -v lim="$lim" -v size="$size" -v w="$wall" -v s="$setup" -v to="$to" 'BEGIN {
    if (w == "FAIL") {
      printf "%-6s %-27s %10.1fM %9s %7.2fs %11s %7s  target 0.95..1.05: MISSED (the push failed)\n", t, l,
        size / 1048576, w, s, "-", "-"; exit
    }
    if (w == "timeout") { # cut off: an upper bound
      a = size / (to - s); r = a / lim
      printf "%-6s %-27s %10.1fM %9s %7.2fs %10s %7s  target 0.95..1.05: MISSED (cut off after %d s)\n", t, l,
        size / 1048576, ">" to "s", s, sprintf("<%.2fM", a / 1048576), sprintf("<%.3fx", r), to; exit
    }
    d = w - s; if (d <= 0) d = w; a = size / d; r = a / lim;
    printf "%-6s %-27s %10.1fM %8.2fs %7.2fs %10.2fM %6.3fx  target 0.95..1.05: %s\n", t, l, size / 1048576,
      w, s, a / 1048576, r, (r >= 0.95 && r <= 1.05) ? "met" : "MISSED" }'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1fM", b / 1048576 }'; }

echo "bench-bwlimit: ~${secs} s per push; rates in MiB/s (K/M/G = 1024, as bwlimit); load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-27s %11s %9s %8s %11s %7s  %s\n' transp "bwlimit" size wall setup achieved ratio ""
for t in $transports; do
  setup=""
  for _ in 1 2 3; do
    s=$(push "$t" "$t-tiny" "$data/tiny" 0 default 60)
    case $s in timeout | FAIL) continue ;; esac
    if [ -z "$setup" ] || awk -v a="$s" -v b="$setup" 'BEGIN { exit !(a < b) }'; then setup=$s; fi
  done
  if [ -z "$setup" ]; then
    echo "$t: a 1-byte push failed (see $work/log-$t-tiny.txt); skipping $t"
    continue
  fi
  # the transport's ceiling here, unlimited, with the largest file
  top_r=${rates##* }
  wall=$(push "$t" "$t-ceiling" "$data/one-$top_r" 0 default "${tmo:-120}")
  case $wall in
  timeout | FAIL) echo "$t: unlimited push: $wall" ;;
  *) awk -v t="$t" -v size=$(($(bytes_of "$top_r") * secs)) -v w="$wall" -v s="$setup" 'BEGIN {
    printf "%-6s %-27s %10.1fM %8.2fs %7.2fs %10.2fM %7s  (the ceiling: no bwlimit)\n", t, "bwlimit = 0", size / 1048576,
      w, s, size / (w - s) / 1048576, "-" }' ;;
  esac
  for r in $rates; do
    lim=$(bytes_of "$r")
    size=$((lim * secs))
    to=${tmo:-$(awk -v s="$secs" 'BEGIN { t = 10 * s; print (t < 60) ? 60 : t }')}
    wall=$(push "$t" "$t-$r" "$data/one-$r" "$r" default "$to")
    line "$t" "bwlimit = $r" "$lim" "$size" "$wall" "$setup" "$to"
  done
  lim=$(bytes_of $shared_rate)
  wall=$(push "$t" "$t-shared" "$data/shared" $shared_rate 4 "${tmo:-60}")
  line "$t" "$shared_rate, transfers=4, 8 files" "$lim" $((lim * secs / 8 * 8)) "$wall" "$setup" "${tmo:-60}"
done
echo "(achieved = size / (wall - setup); setup = best of 3 pushes of a 1-byte file over the same transport)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
