#!/usr/bin/env bash
# Stops the nginx fixture-setup.sh started.
set -uo pipefail
exec bash "$(dirname "$0")/../../scripts/nginx-stop.sh" "$1"
