#!/usr/bin/env bash
# A private sshd (scripts/sshd-start.sh) for the check/verify-over-SFTP tests,
# with its own user so its password never collides with transport_sftp's.
set -euo pipefail
export RSL_SSH_USER=${RSL_SSH_USER:-rslcheck}
exec bash "$(dirname "$0")/../../scripts/sshd-start.sh" "$1"
