#!/usr/bin/env bash
# Stops the sshd instances started by fixture-setup.sh.
set -uo pipefail
exec bash "$(dirname "$0")/../../scripts/sshd-stop.sh" "$1"
