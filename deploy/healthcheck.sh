#!/usr/bin/env bash
# Container health probe for allora-node: GET http://HOST:PORT/health, healthy on HTTP 200.
# Uses bash's /dev/tcp so the runtime image needs no curl/wget.
# Usage: healthcheck.sh [host:port] [path]   (default 127.0.0.1:2112 /health)
set -euo pipefail
addr="${1:-${ALLORA_HEALTH_ADDR:-127.0.0.1:2112}}"
path="${2:-/health}"
host="${addr%:*}"
port="${addr##*:}"
exec 3<>"/dev/tcp/${host}/${port}"
# One write for the whole request, so a server that answers early never sees a torn request.
request="$(printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n_' "$path" "$addr")"
printf '%s' "${request%_}" >&3
IFS= read -r -t 5 status <&3 || { echo "unhealthy: no response from ${addr}${path}" >&2; exit 1; }
exec 3<&-
case "$status" in
  "HTTP/"*" 200"*) exit 0 ;;
  *) echo "unhealthy: ${addr}${path} answered: ${status%$'\r'}" >&2; exit 1 ;;
esac
