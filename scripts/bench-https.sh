#!/usr/bin/env bash
# bench-https.sh [WORKDIR] - HTTPS/WebDAV push benchmark (not a test): rsyncd-lite
# against its peers, against BOTH private servers (scripts/apache-start.sh and
# scripts/nginx-start.sh: TLS, HTTP/2, Basic auth) on 127.0.0.1, in one run.
#   1. one 1 GiB file:         rsyncd-lite run, curl -T, rclone copy (webdav)
#   2. 10,000 files of 4 KiB:  rsyncd-lite run (transfers = 4), rclone sync (--transfers 4),
#      then rsyncd-lite again with the Basic-auth password stored as {SHA}, not apr1
# Each push starts from an empty remote directory and (for rsyncd-lite) an empty
# state db. Peers that are not installed are skipped (apt-get install rclone).
# Env: RSL_BIN (default build/rsyncd-lite), BIG_MIB (1024), SMALL_N (10000),
#      SMALL_KIB (4), BENCH=all|big|small, SERVERS="apache nginx", TRANSFERS (4),
#      NO_PEERS=1 (rsyncd-lite alone).
# rclone sync of the small files is cut off after 180 s (it does not finish here).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/rsl-bench-https}
bin=${RSL_BIN:-$top/build/rsyncd-lite}
big_mib=${BIG_MIB:-1024}
small_n=${SMALL_N:-10000}
small_kib=${SMALL_KIB:-4}
which=${BENCH:-all}
servers=${SERVERS:-apache nginx}
transfers=${TRANSFERS:-4}
[ -x "$bin" ] || { echo "bench-https: build first ($bin missing)" >&2; exit 1; }
mkdir -p "$work"

src=$work/src
. "$top/scripts/bench-data.sh"
bench_data "$src" "$big_mib" "$small_n" "$small_kib"

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
    printf '%-30s %8.2f s\n' "$key" "${T[$key]}"
  else
    T[$key]=
    printf '%-30s FAILED (see %s)\n' "$key" "$work/$key.log"
  fi
}
# NO_PEERS=1: rsyncd-lite alone (no rclone, whose small run takes 180 s)
have() { [ -z "${NO_PEERS:-}" ] && command -v "$1" >/dev/null 2>&1; }
ratio() {
  if [ -n "${T[$1]:-}" ] && [ -n "${T[$2]:-}" ]; then
    awk -v a="${T[$1]}" -v b="${T[$2]}" 'BEGIN { printf "%.2f", a / b }'
  else
    echo n/a
  fi
}

for s in $servers; do
  bash "$top/scripts/$s-start.sh" "$work/$s" >/dev/null
  # shellcheck disable=SC1090
  PORT=$(sed -n 's/^PORT=//p' "$work/$s/env")
  WWW=$(sed -n 's/^WWW=//p' "$work/$s/env")
  CA=$work/$s/ca.crt
  PWF=$work/$s/password
  pw=$(cat "$PWF")
  base=https://127.0.0.1:$PORT/dav

  fresh_remote() { # name: empty WWW/NAME owned by the server's user
    rm -rf "${WWW:?}/$1"
    mkdir -p "$WWW/$1"
    chown --reference="$WWW" "$WWW/$1"
  }
  rsl_run() { # srcdir remote-name transfers
    local job=$work/job-$s-$2.conf
    rm -f "$work/state-$s-$2.db"*
    cat >"$job" <<JOB
[job]
name = bench-$s-$2
source = $1
destination = $base/$2
state = $work/state-$s-$2.db
transfers = $3
[remote]
username = rsl
password_file = $PWF
ca_file = $CA
JOB
    "$bin" run "$job"
  }
  rclone_to() { # verb srcdir remote-name
    rclone "$1" "$2" ":webdav:$3" --webdav-url "$base/" --webdav-vendor other \
      --webdav-user rsl --webdav-pass "$(rclone obscure "$pw")" --ca-cert "$CA" \
      --transfers "$transfers" --checkers "$transfers"
  }

  if [ "$which" != small ]; then
    echo "== $s: one ${big_mib} MiB file"
    fresh_remote big-rsl
    timeit "$s:big:rsyncd-lite" rsl_run "$src/big" big-rsl 1
    cmp "$src/big/big.bin" "$WWW/big-rsl/big.bin"
    fresh_remote big-curl
    timeit "$s:big:curl-T" curl -sS --fail --cacert "$CA" -u "rsl:$pw" -T "$src/big/big.bin" \
      "$base/big-curl/big.bin"
    if have rclone; then
      fresh_remote big-rclone
      timeit "$s:big:rclone" rclone_to copy "$src/big" big-rclone
    fi
    rm -rf "${WWW:?}"/big-*
  fi
  if [ "$which" != big ]; then
    echo "== $s: $small_n files of $small_kib KiB"
    fresh_remote small-rsl
    timeit "$s:small:rsyncd-lite" rsl_run "$src/small" small-rsl "$transfers"
    diff -r "$src/small" "$WWW/small-rsl" >/dev/null
    if have rclone; then
      fresh_remote small-rclone
      timeit "$s:small:rclone" timeout 180 bash -c "$(declare -f rclone_to); base=$base pw=$pw CA=$CA transfers=$transfers rclone_to sync '$src/small' small-rclone"
    fi
    # The same push with the Basic-auth password stored as {SHA} instead of
    # the fixture's apr1 (MD5-crypt, 1,000 rounds): both servers re-read the
    # htpasswd file and verify the password on every request, two per file,
    # and with apr1 that verification is most of the server's CPU. This line
    # shows what the client and the server's WebDAV work cost without it.
    cp "$work/$s/htpasswd" "$work/$s/htpasswd.apr1"
    printf 'rsl:{SHA}%s\n' "$(printf '%s' "$pw" | openssl dgst -sha1 -binary | base64)" \
      >"$work/$s/htpasswd"
    fresh_remote small-rsl
    timeit "$s:small-sha:rsyncd-lite" rsl_run "$src/small" small-rsl "$transfers"
    diff -r "$src/small" "$WWW/small-rsl" >/dev/null
    mv "$work/$s/htpasswd.apr1" "$work/$s/htpasswd"
    rm -rf "${WWW:?}"/small-*
  fi
done

echo "== ratios (rsyncd-lite / peer; targets: big <= 1.10 x curl -T, small < 20 s)"
for s in $servers; do
  echo "$s big:   vs curl -T $(ratio "$s:big:rsyncd-lite" "$s:big:curl-T"), vs rclone $(ratio "$s:big:rsyncd-lite" "$s:big:rclone")"
  echo "$s small: ${T[$s:small:rsyncd-lite]:-n/a} s, vs rclone $(ratio "$s:small:rsyncd-lite" "$s:small:rclone")"
  echo "$s small, password stored as {SHA}: ${T[$s:small-sha:rsyncd-lite]:-n/a} s"
done
echo "(servers left running: scripts/apache-stop.sh $work/apache; scripts/nginx-stop.sh $work/nginx)"
