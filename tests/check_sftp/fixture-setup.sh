#!/usr/bin/env bash
# fixture-setup.sh DIR - a private, public-key-only sshd on a free 127.0.0.1
# port for the check/verify-over-SFTP tests. It logs in as the current user
# (root in CI: PermitRootLogin prohibit-password) and never creates users or
# sets passwords, so it cannot disturb the transport_sftp fixture running in
# parallel. Writes DIR/env. Idempotent.
set -euo pipefail
dir=${1:?usage: fixture-setup.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sshd=${SSHD:-/usr/sbin/sshd}
user=$(id -un)
[ "$(id -u)" = 0 ] && { mkdir -p /run/sshd; chmod 0755 /run/sshd; }
[ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C rsl-check-host -f "$dir/host_ed25519"
[ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C rsl-check-client -f "$dir/id_ed25519"
cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
chmod 0600 "$dir/host_ed25519" "$dir/id_ed25519"
chmod 0644 "$dir/authorized_keys"
chmod 0755 "$dir"
mkdir -p "$dir/root"
pidf=$dir/sshd.pid
if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null && [ -f "$dir/port" ]; then
  port=$(cat "$dir/port")
else
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_ed25519
PidFile $pidf
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers $user
Subsystem sftp internal-sftp
LogLevel ERROR
CONF
  "$sshd" -t -f "$dir/sshd_config"
  "$sshd" -f "$dir/sshd_config" -E "$dir/sshd.log"
  for _ in $(seq 1 100); do
    if [ -f "$pidf" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.05
  done
  [ -f "$pidf" ] || { echo "check_sftp: sshd did not start; see $dir/sshd.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
fi
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >"$dir/known_hosts"
cat >"$dir/env.new" <<ENV
SSH_PORT=$port
SSH_USER=$user
SSH_ROOT=$dir/root
SSH_KEY=$dir/id_ed25519
SSH_KNOWN_HOSTS=$dir/known_hosts
ENV
mv "$dir/env.new" "$dir/env"
echo "check_sftp: sftp://$user@127.0.0.1:$port$dir/root"
