#!/usr/bin/env bash
# Starts the private vsftpd servers for the FTPS transport tests (see scripts/vsftpd-start.sh).
set -euo pipefail
exec bash "$(dirname "$0")/../../scripts/vsftpd-start.sh" "${1:?usage: fixture-setup.sh DIR}"
