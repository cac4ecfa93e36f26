#!/usr/bin/env bash
# fixture-setup.sh DIR - private vsftpd servers with TLS (scripts/vsftpd-start.sh)
# for `check` over ftps://. Writes DIR/env.
set -euo pipefail
exec bash "$(dirname "$0")/../../scripts/vsftpd-start.sh" "${1:?usage: fixture-setup.sh DIR}"
