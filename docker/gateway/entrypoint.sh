#!/bin/sh
# The LAN gateway's entry point: checks the settings compose passes from .env, names what
# haproxy.cfg needs in NEOCUMA_GATEWAY_* variables (HAProxy reads the environment itself),
# and runs HAProxy. A bad setting stops the container with a message naming it.
#   NEOCUMA_CENTRAL_WEB_URL        where standby mode sends the LAN (http:// or https://)
#   NEOCUMA_TLS_CERTIFICATE_PATH   with NEOCUMA_TLS_KEY_PATH: HTTPS on the LAN address, and
#   NEOCUMA_TLS_KEY_PATH           HTTPS to NeoCuma Web, which then serves HTTPS only
set -eu
fail() {
    echo "gateway: $*" >&2
    exit 2
}

central="${NEOCUMA_CENTRAL_WEB_URL:-}"
if [ -n "$central" ]; then
    case "$central" in
        http://?*|https://?*) ;;
        *) fail "NEOCUMA_CENTRAL_WEB_URL must be an http:// or https:// address, not '$central'" ;;
    esac
    # The address goes into a Location header and a JSON answer: no quote, space,
    # backslash, query or fragment.
    if printf '%s' "$central" | LC_ALL=C grep -q '[^]A-Za-z0-9._~:/@%+,;=[-]'; then
        fail "NEOCUMA_CENTRAL_WEB_URL holds a character a gateway address may not have: '$central'"
    fi
    # The request's path follows the prefix, which must not end with a slash.
    NEOCUMA_GATEWAY_CENTRAL="${central%/}"
    export NEOCUMA_GATEWAY_CENTRAL
    echo "gateway: standby mode redirects to $NEOCUMA_GATEWAY_CENTRAL"
else
    echo "gateway: NEOCUMA_CENTRAL_WEB_URL is not set: in standby mode the LAN address says so (503)" >&2
fi

certificate="${NEOCUMA_TLS_CERTIFICATE_PATH:-}"
key="${NEOCUMA_TLS_KEY_PATH:-}"
if [ -n "$certificate" ] || [ -n "$key" ]; then
    [ -n "$certificate" ] && [ -n "$key" ] ||
        fail "HTTPS needs both NEOCUMA_TLS_CERTIFICATE_PATH and NEOCUMA_TLS_KEY_PATH (docs/security.md)"
    for file in "$certificate" "$key"; do
        [ -r "$file" ] || fail "cannot read $file as uid $(id -u) (docs/security.md: chgrp 10001 *.key && chmod 0640 *.key)"
    done
    # HAProxy wants the certificate and its key in one PEM file: made on the tmpfs, never on disk.
    umask 077
    pem=/tmp/gateway/neocuma.pem
    mkdir -p /tmp/gateway
    cat "$certificate" > "$pem"
    printf '\n' >> "$pem"
    cat "$key" >> "$pem"
    NEOCUMA_GATEWAY_PEM="$pem"
    NEOCUMA_GATEWAY_LOCAL_TLS=1
    export NEOCUMA_GATEWAY_PEM NEOCUMA_GATEWAY_LOCAL_TLS
    echo "gateway: HTTPS with $certificate"
fi

haproxy -q -c -f /etc/haproxy/haproxy.cfg || fail "HAProxy refuses its configuration (see above)"
exec haproxy -W -db -f /etc/haproxy/haproxy.cfg
