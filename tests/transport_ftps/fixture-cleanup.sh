#!/usr/bin/env bash
# Stops the vsftpd servers fixture-setup.sh started.
set -euo pipefail
exec bash "$(dirname "$0")/../../scripts/vsftpd-stop.sh" "${1:?usage: fixture-cleanup.sh DIR}"
