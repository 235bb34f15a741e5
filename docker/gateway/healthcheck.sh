#!/bin/sh
# The container's health: the gateway's own /healthz answers (whichever way it points).
scheme=http
[ -n "${NEOCUMA_TLS_CERTIFICATE_PATH:-}" ] && scheme=https
exec curl -fsS --insecure --max-time 4 -o /dev/null "$scheme://127.0.0.1:8081/healthz"
