#!/usr/bin/env bash
# fixture-cleanup.sh DIR - stops the vsftpd servers fixture-setup.sh started.
set -uo pipefail
exec bash "$(dirname "$0")/../../scripts/vsftpd-stop.sh" "${1:?usage: fixture-cleanup.sh DIR}"
