#!/usr/bin/env bash
# Wait until every container of the compose project is healthy (Compose v1 has no
# `up --wait`). Containers are found by their com.docker.compose.* labels, which v1 and v2
# both set. On timeout, prints the state and last log lines of every container not healthy.
#   wait-healthy.sh PROJECT [TIMEOUT_SECONDS] [SERVICE...]
set -euo pipefail
project="$1"; timeout="${2:-300}"; shift 2 || shift $#
services=("$@")
deadline=$(( $(date +%s) + timeout ))

containers() {
    docker ps -a --filter "label=com.docker.compose.project=$project" --format '{{.ID}}'
}

while :; do
    pending=()
    count=0
    for id in $(containers); do
        service=$(docker inspect -f '{{ index .Config.Labels "com.docker.compose.service" }}' "$id")
        if [ ${#services[@]} -gt 0 ] && [[ ! " ${services[*]} " =~ " $service " ]]; then continue; fi
        count=$((count + 1))
        state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id")
        case "$state" in
            "running healthy"|"running none") ;;
            exited*|dead*) echo "wait-healthy: $service stopped ($state)" >&2; docker logs --tail 50 "$id" >&2 || true; exit 1 ;;
            *) pending+=("$service:$id:$state") ;;
        esac
    done
    if [ "$count" -gt 0 ] && [ ${#pending[@]} -eq 0 ]; then
        echo "wait-healthy: $count containers of $project are healthy"
        exit 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "wait-healthy: not healthy after ${timeout}s:" >&2
        for entry in "${pending[@]}"; do
            IFS=: read -r service id state <<<"$entry"
            echo "--- $service ($state), last log lines:" >&2
            docker logs --tail 40 "$id" >&2 || true
        done
        exit 1
    fi
    sleep 2
done
