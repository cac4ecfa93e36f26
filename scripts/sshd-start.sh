#!/usr/bin/env bash
# sshd-start.sh DIR - starts private OpenSSH sshd instances on free 127.0.0.1
# ports for the SFTP transport tests and benchmarks. Idempotent: a second call
# with the same DIR keeps running instances and rewrites nothing but DIR/env.
#
# Generates under DIR: a host key (ed25519), a client key (unencrypted), an
# encrypted client key + its passphrase file, authorized_keys, known_hosts
# ([127.0.0.1]:PORT form, one line per instance), a password file, the remote
# root (owned by the test user), one sshd_config per instance, and DIR/env.
# Instances: "main" for ordinary tests, "kill" and "stall" for fault tests
# that kill or stop the server's session processes (they must not disturb
# tests running in parallel against "main"), "single" with MaxSessions 1 and
# posix-rename@openssh.com refused (sftp-server -P posix-rename; OpenSSH 9.2
# then does not list it), as some hardened servers: the transport's
# non-atomic rename fallback runs, and as root "kbd": PAM keyboard-interactive only
# (no "password" method), as many hosted servers, and "slowauth", whose
# public-key check never answers (an AuthorizedKeysCommand that sleeps 30 s): a
# server that stops in the middle of authentication.
#
# As root it creates the user `rsltest` (RSL_SSH_USER) if missing and sets its
# password; as a normal user it logs in as that user (no password auth tests).
set -euo pipefail
dir=${1:?usage: sshd-start.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sshd=${SSHD:-/usr/sbin/sshd}
instances="main kill stall single"
[ "$(id -u)" = 0 ] && instances="$instances kbd slowauth"

if [ "$(id -u)" = 0 ]; then
  user=${RSL_SSH_USER:-rsltest}
  if ! id "$user" >/dev/null 2>&1; then
    # nologin: internal-sftp works without a shell; nothing else does
    useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" \
      2>/dev/null || id "$user" >/dev/null
  fi
  mkdir -p /run/sshd
  chmod 0755 /run/sshd
else
  user=$(id -un)
fi

# keys and secrets (generated once)
[ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C rsl-host -f "$dir/host_ed25519"
[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C rsl-client -f "$dir/id_ed25519"
if [ ! -f "$dir/id_enc" ]; then
  printf 'correct horse battery staple\n' >"$dir/passphrase"
  ssh-keygen -q -t ed25519 -N 'correct horse battery staple' -C rsl-client-enc -f "$dir/id_enc"
fi
# The test user's password is one per machine (not per DIR): fixtures in
# several build directories may run at once and must not reset it under each
# other (the first to create $pwfile picks it).
if [ "$(id -u)" = 0 ]; then
  pwdir=/var/lib/rsyncd-lite-tests
  pwfile=$pwdir/$user.password
  mkdir -p "$pwdir"
  chmod 0700 "$pwdir"
  if [ ! -s "$pwfile" ]; then
    tmp=$(mktemp "$pwdir/.pw.XXXXXX")
    printf 'Rsl-%s\n' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$tmp"
    ln "$tmp" "$pwfile" 2>/dev/null || true # first one wins
    rm -f "$tmp"
  fi
  cp "$pwfile" "$dir/password"
  # always (re)set: the value is shared, so concurrent fixtures agree
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    printf '%s:%s\n' "$user" "$(head -n1 "$pwfile")" | chpasswd 2>/dev/null && break
    sleep 0.2 # /etc/shadow locked by a concurrent fixture
  done
elif [ ! -f "$dir/password" ]; then
  printf 'unused\n' >"$dir/password" # sshd as a normal user cannot check passwords
fi
chmod 0600 "$dir"/host_ed25519 "$dir"/id_ed25519 "$dir"/id_enc "$dir"/passphrase "$dir"/password
cat "$dir/id_ed25519.pub" "$dir/id_enc.pub" >"$dir/authorized_keys"
chmod 0644 "$dir/authorized_keys"
chmod 0755 "$dir"

mkdir -p "$dir/root"
chown "$user" "$dir/root"
chmod 0755 "$dir/root"

# tiny file systems that fill up, for the disk-full tests (root only); one
# per test program so that parallel tests do not share free space
full=""
full_e2e=""
if [ "$(id -u)" = 0 ]; then
  for m in full full-e2e; do
    mkdir -p "$dir/root/$m"
    if mountpoint -q "$dir/root/$m" ||
      mount -t tmpfs -o size=2m,mode=0755,uid="$(id -u "$user")" tmpfs "$dir/root/$m" 2>/dev/null; then
      [ "$m" = full ] && full=$dir/root/$m || full_e2e=$dir/root/$m
    fi
  done
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

running() { # pidfile -> 0 if that sshd runs
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

: >"$dir/known_hosts.new"
declare -A ports
for inst in $instances; do
  conf=$dir/sshd_config.$inst
  pidf=$dir/sshd.$inst.pid
  if running "$pidf" && [ -f "$dir/port.$inst" ]; then
    port=$(cat "$dir/port.$inst")
  else
    port=$(free_port)
    cat >"$conf" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile $pidf
AuthorizedKeysFile $([ "$inst" = slowauth ] && echo none || echo "$dir/authorized_keys")
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication $([ "$inst" = kbd ] && echo no || echo yes)
KbdInteractiveAuthentication $([ "$inst" = kbd ] && echo yes || echo no)
UsePAM $([ "$inst" = kbd ] && echo yes || echo no)
PermitRootLogin prohibit-password
AllowUsers $user
MaxSessions $([ "$inst" = single ] && echo 1 || echo 20)
MaxStartups 100:30:200
LoginGraceTime 60
ClientAliveInterval 0
Subsystem sftp internal-sftp$([ "$inst" = single ] && echo ' -P posix-rename')
LogLevel ERROR
$([ "$inst" = slowauth ] && printf 'AuthorizedKeysCommand /usr/bin/sleep 30\nAuthorizedKeysCommandUser nobody\n')
CONF
    "$sshd" -t -f "$conf"
    "$sshd" -f "$conf" -E "$dir/sshd.$inst.log"
    for _ in $(seq 1 100); do
      if running "$pidf" && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        break
      fi
      sleep 0.05
    done
    running "$pidf" || { echo "sshd-start: sshd ($inst) did not start; see $dir/sshd.$inst.log" >&2; exit 1; }
    echo "$port" >"$dir/port.$inst"
  fi
  ports[$inst]=$port
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >>"$dir/known_hosts.new"
done
mv "$dir/known_hosts.new" "$dir/known_hosts"

fp=$(ssh-keygen -l -E sha256 -f "$dir/host_ed25519.pub" | awk '{print $2}')
cat >"$dir/env.new" <<ENV
SSH_PORT=${ports[main]}
SSH_PORT_KILL=${ports[kill]}
SSH_PORT_STALL=${ports[stall]}
SSH_PORT_SINGLE=${ports[single]}
SSH_PORT_KBD=${ports[kbd]:-}
SSH_PORT_SLOWAUTH=${ports[slowauth]:-}
SSH_PID_FILE=$dir/sshd.main.pid
SSH_PID_FILE_KILL=$dir/sshd.kill.pid
SSH_PID_FILE_STALL=$dir/sshd.stall.pid
SSH_USER=$user
SSH_HOST=127.0.0.1
SSH_ROOT=$dir/root
SSH_KEY=$dir/id_ed25519
SSH_KEY_ENC=$dir/id_enc
SSH_PASSPHRASE_FILE=$dir/passphrase
SSH_PASSWORD_FILE=$dir/password
SSH_KNOWN_HOSTS=$dir/known_hosts
SSH_HOST_PUB=$dir/host_ed25519.pub
SSH_HOSTKEY_FP=$fp
SSH_FULL_DIR=$full
SSH_FULL_DIR_E2E=$full_e2e
SSH_PASSWORD_AUTH=$([ "$(id -u)" = 0 ] && echo 1 || echo 0)
SSH_CAN_CHMOD=$([ "$user" != root ] && echo 1 || echo 0)
ENV
mv "$dir/env.new" "$dir/env"
echo "sshd-start: sftp://$user@127.0.0.1:${ports[main]}$dir/root (env in $dir/env)"
