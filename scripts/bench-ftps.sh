#!/usr/bin/env bash
# bench-ftps.sh [WORKDIR] - FTPS push benchmark (not a test): rsyncd-lite against its
# peers, all against the same private vsftpd (scripts/vsftpd-start.sh, require_ssl_reuse=YES)
# on 127.0.0.1, in one run.
#   1. one 1 GiB file:         rsyncd-lite run, curl -T, rclone copy, lftp put
#   2. 10,000 files of 4 KiB:  rsyncd-lite run (transfers = 4), rclone sync (--transfers 4),
#                              lftp mirror -R (--parallel=4)
# Each push starts from an empty remote directory and (for rsyncd-lite) an empty state db.
# Peers that are not installed are skipped (apt-get install rclone lftp). rclone needs
# --ftp-disable-tls13 against vsftpd (require_ssl_reuse=YES): with TLS 1.3 its login
# fails ("tls: illegal parameter"), the same family of problem docs/transport-ftps.md
# describes for libcurl.
# Env: RSL_BIN (default build/rsyncd-lite), BIG_MIB (1024), SMALL_N (10000), SMALL_KIB (4),
#      BENCH=all|big|small (default all).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/rsl-bench-ftps}
bin=${RSL_BIN:-$top/build/rsyncd-lite}
big_mib=${BIG_MIB:-1024}
small_n=${SMALL_N:-10000}
small_kib=${SMALL_KIB:-4}
which=${BENCH:-all}
[ -x "$bin" ] || { echo "bench-ftps: build first ($bin missing)" >&2; exit 1; }

mkdir -p "$work"
bash "$top/scripts/vsftpd-start.sh" "$work/server" >/dev/null
# shellcheck disable=SC1091
. "$work/server/env"
port=$FTP_MAIN_PORT
pw=$(cat "$FTP_PASSWORD_FILE")

src=$work/src
. "$top/scripts/bench-data.sh"
bench_data "$src" "$big_mib" "$small_n" "$small_kib"

fresh_remote() { # name -> remote path /data/NAME, empty, owned by the FTP user
  rm -rf "${FTP_DATA_DIR:?}/$1"
  mkdir -p "$FTP_DATA_DIR/$1"
  chown "$FTP_USER" "$FTP_DATA_DIR/$1"
}

now() { date +%s.%N; }
declare -A T
timeit() { # key cmd...
  local key=$1 t0 t1
  shift
  sync
  t0=$(now)
  if "$@" >"$work/$key.log" 2>&1; then
    t1=$(now)
    T[$key]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    printf '%-28s %8.2f s\n' "$key" "${T[$key]}"
  else
    T[$key]=
    printf '%-28s FAILED (see %s)\n' "$key" "$work/$key.log"
  fi
}

rsl_run() { # srcdir remote-name transfers
  local job=$work/job-$2.conf
  rm -f "$work/state-$2.db"*
  cat >"$job" <<EOF
[job]
name = bench-$2
source = $1
destination = ftps://$FTP_USER@127.0.0.1:$port/data/$2
state = $work/state-$2.db
transfers = $3
[remote]
password_file = $FTP_PASSWORD_FILE
ca_file = $FTP_CA_FILE
EOF
  "$bin" run "$job"
}

have() { command -v "$1" >/dev/null 2>&1; }

if [ "$which" != small ]; then
echo "== one ${big_mib} MiB file"
fresh_remote big-rsl
timeit big:rsyncd-lite rsl_run "$src/big" big-rsl 4
cmp "$src/big/big.bin" "$FTP_DATA_DIR/big-rsl/big.bin"
fresh_remote big-curl
timeit big:curl-T curl -sS --ssl-reqd --cacert "$FTP_CA_FILE" --netrc-file /dev/null \
  -u "$FTP_USER:$pw" -T "$src/big/big.bin" "ftp://127.0.0.1:$port/data/big-curl/big.bin"
if have rclone; then
  fresh_remote big-rclone
  timeit big:rclone env RCLONE_FTP_PASS="$(rclone obscure "$pw")" rclone copy "$src/big" \
    ":ftp:data/big-rclone" --ftp-host 127.0.0.1 --ftp-port "$port" --ftp-user "$FTP_USER" \
    --ftp-explicit-tls --ftp-no-check-certificate --ftp-disable-tls13
fi
if have lftp; then
  fresh_remote big-lftp
  timeit big:lftp lftp -u "$FTP_USER,$pw" -p "$port" -e "set ftp:ssl-force true; \
set ftp:ssl-protect-data true; set ssl:ca-file $FTP_CA_FILE; \
put $src/big/big.bin -o /data/big-lftp/big.bin; quit" 127.0.0.1
fi

fi
if [ "$which" != big ]; then
echo "== $small_n files of $small_kib KiB"
fresh_remote small-rsl
timeit small:rsyncd-lite rsl_run "$src/small" small-rsl 4
diff -r "$src/small" "$FTP_DATA_DIR/small-rsl" >/dev/null
if have rclone; then
  fresh_remote small-rclone
  timeit small:rclone env RCLONE_FTP_PASS="$(rclone obscure "$pw")" rclone sync "$src/small" \
    ":ftp:data/small-rclone" --transfers 4 --checkers 4 --ftp-host 127.0.0.1 \
    --ftp-port "$port" --ftp-user "$FTP_USER" --ftp-explicit-tls --ftp-no-check-certificate --ftp-disable-tls13
fi
if have lftp; then
  fresh_remote small-lftp
  timeit small:lftp lftp -u "$FTP_USER,$pw" -p "$port" -e "set ftp:ssl-force true; \
set ftp:ssl-protect-data true; set ssl:ca-file $FTP_CA_FILE; \
mirror -R --parallel=4 $src/small /data/small-lftp; quit" 127.0.0.1
fi

fi

ratio() {
  if [ -n "${T[$1]:-}" ] && [ -n "${T[$2]:-}" ]; then
    awk -v a="${T[$1]}" -v b="${T[$2]}" 'BEGIN { printf "%.2f", a / b }'
  else
    echo n/a
  fi
}
echo "== ratios (rsyncd-lite / peer; targets: big <= 1.10 x curl -T, small <= 0.50 x rclone)"
echo "big:   vs curl -T $(ratio big:rsyncd-lite big:curl-T), vs rclone $(ratio big:rsyncd-lite big:rclone), vs lftp $(ratio big:rsyncd-lite big:lftp)"
echo "small: vs rclone $(ratio small:rsyncd-lite small:rclone), vs lftp $(ratio small:rsyncd-lite small:lftp)"
echo "(server left running: scripts/vsftpd-stop.sh $work/server)"
