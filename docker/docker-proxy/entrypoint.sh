#!/bin/sh
# The Docker proxy lets the guardian signal one container: the local server of its own
# compose project. It reads its project from its own labels (compose sets them), names the
# local server's container as compose v1 and v2 name it, and starts HAProxy with those two
# names in its kill ACL (haproxy.cfg). Without a project label nothing can be signalled.
#
# It starts as root only to drop to the haproxy user with the socket's group as its one group
# (the socket's gid differs from host to host, so it is read here, not configured), then
# runs again as that user: curl and HAProxy never run as root (docs/security.md).
set -eu
socket=/var/run/docker.sock
if [ "$(id -u)" = 0 ]; then
    socket_group="$(stat -c %g "$socket")" || {
        echo "docker-proxy: $socket is not mounted: nothing to proxy" >&2
        exit 1
    }
    exec setpriv --reuid=haproxy --regid="$socket_group" --clear-groups --inh-caps=-all --no-new-privs -- "$0" "$@"
fi
service="${NEOCUMA_LOCAL_SERVICE:-neocuma}"
project=""
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if labels="$(curl -fsS --unix-socket "$socket" "http://docker/containers/$(hostname)/json" 2>/dev/null)"; then
        project="$(printf '%s' "$labels" | jq -r '.Config.Labels["com.docker.compose.project"] // empty')"
        break
    fi
    echo "docker-proxy: the Docker engine does not answer on $socket yet (attempt $attempt)" >&2
    sleep 1
done
case "$project" in
    "") echo "docker-proxy: no com.docker.compose.project label on this container: no container may be signalled" >&2
        project="-none-" ;;
    *[!a-zA-Z0-9_.-]*) echo "docker-proxy: project name '$project' has unexpected characters: no container may be signalled" >&2
        project="-none-" ;;
esac
export NEOCUMA_LOCAL_V1="${project}_${service}_1" NEOCUMA_LOCAL_V2="${project}-${service}-1"
echo "docker-proxy: SIGHUP may reach ${NEOCUMA_LOCAL_V1} or ${NEOCUMA_LOCAL_V2} only (HAProxy as uid $(id -u), gid $(id -g))"
exec haproxy -W -db -f /etc/haproxy/haproxy.cfg
