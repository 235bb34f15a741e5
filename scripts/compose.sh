#!/usr/bin/env bash
# Run Docker Compose, v2 (`docker compose`) when present, else v1 (`docker-compose`).
set -euo pipefail
if docker compose version >/dev/null 2>&1; then
    exec docker compose "$@"
elif command -v docker-compose >/dev/null 2>&1; then
    exec docker-compose "$@"
fi
echo "compose.sh: neither 'docker compose' nor 'docker-compose' is installed" >&2
exit 127
