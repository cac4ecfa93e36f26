# https-fixture-lib.sh - helpers sourced by apache-start.sh and nginx-start.sh:
# a free loopback port, a private CA + server certificate for 127.0.0.1 and
# localhost, an htpasswd line, a bearer token. Not meant to be run directly.

# free_port [PREFERRED]: prints PREFERRED if it is free, else a free port.
free_port() {
  python3 - "${1:-0}" <<'PY'
import socket, sys
want = int(sys.argv[1])
for p in ([want] if want else []) + [0]:
    s = socket.socket()
    # like the servers themselves: a port left in TIME_WAIT by a killed
    # server is free to listen on again
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close()
        continue
    print(s.getsockname()[1])
    s.close()
    break
PY
}

# port_listening PORT: true when something accepts on 127.0.0.1:PORT.
port_listening() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# make_pki DIR: DIR/ca.crt (a private CA), DIR/server.crt + server.key signed by
# it with SAN IP:127.0.0.1 and DNS:localhost, DIR/pin (sha256//base64 of the
# server public key, curl's pinned-pubkey format). Kept when already present.
make_pki() {
  local d=$1
  if [ -s "$d/server.crt" ] && [ -s "$d/server.key" ] && [ -s "$d/ca.crt" ] && [ -s "$d/pin" ]; then
    return 0
  fi
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/CN=rsyncd-lite test CA" -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=127.0.0.1" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
  printf 'sha256//%s\n' "$(openssl x509 -in "$d/server.crt" -pubkey -noout |
    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)" >"$d/pin"
  chmod 0644 "$d/server.key" # read by the server's worker user in tests only
}

# make_bad_certs DIR: two more server certificates from the same CA, for TLS
# failure tests: DIR/expired.crt (validity ended yesterday) and
# DIR/wrongname.crt (names only other.example), both with DIR/server.key.
make_bad_certs() {
  local d=$1
  [ -s "$d/expired.crt" ] && [ -s "$d/wrongname.crt" ] && return 0
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/expired.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days -1 -extfile "$d/expired.ext" -out "$d/expired.crt" 2>/dev/null
  printf 'subjectAltName=DNS:other.example\n' >"$d/wrongname.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -extfile "$d/wrongname.ext" -out "$d/wrongname.crt" 2>/dev/null
}

# free_port_except USED...: a free port not in the list USED.
free_port_except() {
  local p
  p=$(free_port 0)
  while printf '%s\n' "$@" | grep -qx "$p"; do p=$(free_port 0); done
  echo "$p"
}

# make_secrets DIR: DIR/password (0600), DIR/htpasswd (apr1), DIR/token (0600).
make_secrets() {
  local d=$1
  if [ ! -s "$d/password" ]; then
    (umask 077 && openssl rand -hex 12 >"$d/password")
  fi
  if [ ! -s "$d/token" ]; then
    (umask 077 && openssl rand -hex 20 >"$d/token")
  fi
  printf 'rsl:%s\n' "$(openssl passwd -apr1 "$(cat "$d/password")")" >"$d/htpasswd"
  chmod 0644 "$d/htpasswd"
}

# make_tree DIR USER: the served trees. DIR/root/dav is the WebDAV root (remote
# root for tests), with dav/readonly not writable by the server, plus
# DIR/root/ignorant (WebDAV that drops Content-Range), DIR/root/plain (no
# WebDAV) and DIR/root/token (bearer token). Owned by USER when root.
make_tree() {
  local d=$1 u=$2
  mkdir -p "$d/root/dav/readonly" "$d/root/dav/small" "$d/root/ignorant" "$d/root/plain" "$d/root/token" "$d/run" "$d/logs" "$d/tmp"
  chmod 0755 "$d" "$d/root"
  if [ "$(id -u)" = 0 ]; then
    chown "$u:$u" "$d/root/dav" "$d/root/dav/small" "$d/root/ignorant" "$d/root/plain" "$d/root/token" "$d/tmp" "$d/run"
    chown root:root "$d/root/dav/readonly"
  fi
  chmod 0555 "$d/root/dav/readonly"
}
