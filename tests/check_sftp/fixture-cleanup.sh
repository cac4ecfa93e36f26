#!/usr/bin/env bash
# Stops the sshd instances fixture-setup.sh started.
set -uo pipefail
exec bash "$(dirname "$0")/../../scripts/sshd-stop.sh" "$1"
