#!/usr/bin/env bash
# vsftpd-start.sh DIR - starts private vsftpd servers with TLS on 127.0.0.1 for the
# FTPS transport tests and the benchmark. Everything lives under DIR:
#   DIR/tls/          CA key+cert (ca.pem), server key+cert for IP 127.0.0.1 (server.pem),
#                     an expired server cert (expired.pem)
#   DIR/password      the FTP user's password (mode 0600)
#   DIR/root/         the user's chroot (or /tmp/rsl-vsftpd-*/root when the user cannot
#                     reach DIR); root/data is the remote root the tests use, root/ro is
#                     a read-only directory (FTP_CHROOT, FTP_DATA_DIR in DIR/env)
#   DIR/<inst>/       vsftpd.conf, pid, logs of each instance
#   DIR/env           KEY=VALUE lines (ports, user, paths) read by the tests
# Instances (one vsftpd process each, all require_ssl_reuse=YES):
#   main     explicit TLS (AUTH TLS), the one to use
#   busy     max_clients=1: the second connection gets "421 too many users"
#   implicit implicit TLS (port-990 style)
#   expired  explicit TLS with an expired certificate
#   kill     explicit TLS, reserved for the test that kills its session mid-upload
#   idle     explicit TLS, reserved for the test that kills an idle session
#   stall    explicit TLS, reserved for the test that freezes (SIGSTOP) its session
#   nopasv   explicit TLS, passive mode off (EPSV and PASV refused): data connections fail
#   plain    no TLS at all (ssl_enable=NO), for ftp:// with allow_insecure
# Idempotent: running instances are left alone (their env is kept). Needs root (useradd,
# and vsftpd itself must start as root to switch to the local user).
set -euo pipefail
dir=${1:?usage: vsftpd-start.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# one local user per DIR (two fixture dirs must not change each other's password)
user=${RSL_FTP_USER:-rslftp$(printf '%s' "$dir" | cksum | cut -d' ' -f1 | cut -c1-8)}
instances="main busy implicit expired kill idle stall nopasv plain"

if [ "$(id -u)" != 0 ]; then
  echo "vsftpd-start: must run as root (creates the local FTP user, vsftpd switches to it)" >&2
  exit 1
fi
command -v vsftpd >/dev/null || { echo "vsftpd-start: vsftpd is not installed" >&2; exit 1; }
vsftpd_bin=$(command -v vsftpd)

running() { # inst: its listener exists and is not a zombie
  local p="$dir/$1/vsftpd.pid"
  [ -s "$p" ] && [ -e "/proc/$(cat "$p")" ] &&
    ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$(cat "$p")/stat" 2>/dev/null
}

all_up=1
for i in $instances; do running "$i" || all_up=0; done
if [ "$all_up" = 1 ] && [ -s "$dir/env" ]; then
  echo "vsftpd-start: already running in $dir"
  exit 0
fi
# partial state: stop what runs and start clean (ports are chosen anew)
"$(dirname "$0")/vsftpd-stop.sh" "$dir" >/dev/null 2>&1 || true

# --- certificates ---------------------------------------------------------------------
tls=$dir/tls
mkdir -p "$tls"
if [ ! -s "$tls/server.pem" ] || [ ! -s "$tls/expired.pem" ]; then
  (
    cd "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
      -subj "/CN=rsyncd-lite test CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
      -subj "/CN=127.0.0.1" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
      -extfile ext.cnf -out server.crt 2>/dev/null
    cat server.crt server.key >server.pem
    # expired: `openssl ca` accepts explicit start and end dates in the past
    mkdir -p ca.db && : >ca.db/index.txt && echo 1000 >ca.db/serial
    cat >ca.cnf <<EOF
[ca]
default_ca = d
[d]
database = $tls/ca.db/index.txt
serial = $tls/ca.db/serial
new_certs_dir = $tls/ca.db
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
commonName = supplied
[x]
subjectAltName = IP:127.0.0.1
basicConstraints = CA:FALSE
EOF
    openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in server.csr \
      -startdate 20200101000000Z -enddate 20210101000000Z -extensions x -out expired.crt \
      2>/dev/null >/dev/null
    cat expired.crt server.key >expired.pem
    chmod 0600 ca.key server.key server.pem expired.pem
    # pin of the server key, curl's "sha256//base64" form
    openssl x509 -in server.crt -pubkey -noout | openssl pkey -pubin -outform der |
      openssl dgst -sha256 -binary | base64 >pin.txt
  )
fi

# --- user and tree --------------------------------------------------------------------
if [ ! -s "$dir/password" ]; then
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$dir/password")
fi
chmod 0600 "$dir/password"
# useradd/usermod/chpasswd fail at once ("cannot lock /etc/passwd") while another
# fixture (sshd's, run in parallel by ctest -j) edits the user database: try again
retry() {
  local i
  for i in $(seq 1 100); do
    "$@" 2>"$dir/retry.err" && return 0
    grep -qi 'lock' "$dir/retry.err" || break
    sleep 0.1
  done
  cat "$dir/retry.err" >&2
  return 1
}
grep -qx /bin/sh /etc/shells || echo /bin/sh >>/etc/shells # pam_shells
if ! id "$user" >/dev/null 2>&1; then
  retry useradd --no-create-home --home-dir / --shell /bin/sh "$user"
fi
# the FTP root: DIR/root when the user can reach DIR, else a directory under /tmp
# (a DIR under a private home stays private: no permission of its parents is changed)
if runuser -u "$user" -- test -x "$dir" 2>/dev/null; then
  root=$dir/root
else
  root=/tmp/rsl-vsftpd-$(printf '%s' "$dir" | cksum | cut -d' ' -f1 | cut -c1-8)/root
  mkdir -p "$(dirname "$root")"
  chmod 0755 "$(dirname "$root")"
  echo "$(dirname "$root")" >"$dir/rootdir"
fi
retry usermod --home "$root" --shell /bin/sh "$user"
set_password() { printf '%s:%s\n' "$user" "$(cat "$dir/password")" | chpasswd; }
retry set_password
echo "$user" >"$dir/user"
mkdir -p "$root/data" "$root/ro" "$dir/empty"
chown root:root "$dir/empty" && chmod 0755 "$dir/empty"
chown "$user" "$root" "$root/data"
chown root:root "$root/ro" && chmod 0555 "$root/ro"

freeport() {
  python3 - "$@" <<'EOF'
import socket, sys
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
# a base port with n consecutive free ports above it
for _ in range(200):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); base = s.getsockname()[1]; s.close()
    if base + n > 65000:
        continue
    ok = True
    for p in range(base, base + n):
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", p))
        except OSError:
            ok = False
        t.close()
        if not ok:
            break
    if ok:
        print(base); break
EOF
}

# alive PID: exists and is not a zombie
alive() { [ -e "/proc/$1" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

write_conf() { # inst port pasv_lo pasv_hi cert extra...
  local inst=$1 port=$2 lo=$3 hi=$4 cert=$5
  shift 5
  mkdir -p "$dir/$inst"
  cat >"$dir/$inst/vsftpd.conf" <<EOF
# generated by vsftpd-start.sh for rsyncd-lite tests
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$port
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
userlist_enable=NO
pam_service_name=vsftpd
chroot_local_user=YES
allow_writeable_chroot=YES
local_root=$root
secure_chroot_dir=$dir/empty
seccomp_sandbox=NO
pasv_enable=YES
pasv_min_port=$lo
pasv_max_port=$hi
pasv_address=127.0.0.1
pasv_promiscuous=NO
ssl_enable=YES
allow_anon_ssl=NO
force_local_logins_ssl=YES
force_local_data_ssl=YES
require_ssl_reuse=YES
ssl_tlsv1=NO
ssl_sslv2=NO
ssl_sslv3=NO
rsa_cert_file=$tls/$cert
rsa_private_key_file=$tls/$cert
utf8_filesystem=YES
max_per_ip=0
idle_session_timeout=300
data_connection_timeout=120
xferlog_enable=YES
vsftpd_log_file=$dir/$inst/vsftpd.log
dual_log_enable=YES
xferlog_file=$dir/$inst/xferlog
log_ftp_protocol=NO
EOF
  for kv in "$@"; do echo "$kv" >>"$dir/$inst/vsftpd.conf"; done
}

: >"$dir/env.tmp"
for inst in $instances; do
  base=$(freeport 21)
  port=$base
  lo=$((base + 1))
  hi=$((base + 20))
  case $inst in
  main) write_conf main "$port" "$lo" "$hi" server.pem ;;
  busy) write_conf busy "$port" "$lo" "$hi" server.pem max_clients=1 ;;
  implicit) write_conf implicit "$port" "$lo" "$hi" server.pem implicit_ssl=YES ;;
  expired) write_conf expired "$port" "$lo" "$hi" expired.pem ;;
  kill | idle | stall) write_conf "$inst" "$port" "$lo" "$hi" server.pem ;;
  nopasv) write_conf nopasv "$port" "$lo" "$hi" server.pem pasv_enable=NO ;;
  plain) write_conf plain "$port" "$lo" "$hi" server.pem ssl_enable=NO ;;
  esac
  : >"$dir/$inst/vsftpd.log"
  # foreground listener in its own session: $! is its pid
  setsid "$vsftpd_bin" "$dir/$inst/vsftpd.conf" </dev/null >"$dir/$inst/stderr" 2>&1 &
  pid=$!
  # wait until it accepts (vsftpd exits silently on some config errors: show its output)
  ok=0
  for _ in $(seq 1 200); do
    alive "$pid" || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$pid" >"$dir/$inst/vsftpd.pid"
      ok=1
      break
    fi
    sleep 0.05
  done
  if [ "$ok" != 1 ]; then
    echo "vsftpd-start: vsftpd ($inst) does not accept on 127.0.0.1:$port" >&2
    cat "$dir/$inst/stderr" "$dir/$inst/vsftpd.log" >&2 || true
    exit 1
  fi
  up=$(echo "$inst" | tr a-z A-Z)
  echo "FTP_${up}_PORT=$port" >>"$dir/env.tmp"
  echo "FTP_${up}_PID=$pid" >>"$dir/env.tmp"
done
cat >>"$dir/env.tmp" <<EOF
FTP_HOST=127.0.0.1
FTP_USER=$user
FTP_PASSWORD_FILE=$dir/password
FTP_CA_FILE=$tls/ca.pem
FTP_PIN=sha256//$(cat "$tls/pin.txt")
FTP_CHROOT=$root
FTP_DATA_DIR=$root/data
FTP_REMOTE_ROOT=/data
FTP_RO_REMOTE=/ro
EOF
mv "$dir/env.tmp" "$dir/env"
echo "vsftpd-start: running; see $dir/env"
