#!/usr/bin/env bash
# Starts the private sshd instances for the SFTP client tests (see scripts/sshd-start.sh).
set -euo pipefail
exec bash "$(dirname "$0")/../../scripts/sshd-start.sh" "$1"
