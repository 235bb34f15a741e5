#!/usr/bin/env bash
# The guardian's Nagios/Centreon/Icinga/NRPE plugin, from the Docker host, with Compose v1 or
# v2 alike (the container is found by its compose labels, which both versions write):
#
#   scripts/check_guardian.sh [-p PROJECT] [check options: -w AGE[,SKEW] -c AGE[,SKEW] -t S, or -V]
#
# PROJECT is the compose project (COMPOSE_PROJECT_NAME, default neocuma). One line, exit
# 0/1/2/3 as the plugin guidelines want; UNKNOWN when no guardian container runs.
set -uo pipefail

project="${COMPOSE_PROJECT_NAME:-neocuma}"
if [ "${1:-}" = "-p" ]; then
    project="${2:?-p needs a project name}"
    shift 2
fi
container=$(docker ps -q --filter "label=com.docker.compose.project=$project" \
    --filter "label=com.docker.compose.service=guardian" 2>/dev/null | head -n 1)
if [ -z "$container" ]; then
    echo "NEOCUMA GUARDIAN UNKNOWN - no running guardian container in compose project $project"
    exit 3
fi
exec docker exec "$container" neocuma-guardian check "$@"
