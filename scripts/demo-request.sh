#!/usr/bin/env bash
# Prints a curl command with a Sync API request signed now, using the demo
# key that `make dev` generated (in ${DEMO_DIR:-.demo}/dev.vars), or
# LOGIN/SECRET from the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8787}"
if [ -z "${SECRET:-}" ]; then
  keys=$(sed -n 's/^API_KEYS=//p' "${DEMO_DIR:-.demo}/dev.vars")
  LOGIN=demo
  SECRET=$(printf '%s' "$keys" | sed 's/.*"demo":"\([^"]*\)".*/\1/')
fi
body='{"timeout":10,"ops":[{"type":"create","obj":"task","conv_id":1,"data":{"amount":100,"to":"client-B"}}]}'
t=$(date +%s)
sig=$(printf '%s' "$t$SECRET$body$SECRET" | sha1sum | cut -d' ' -f1)
echo "curl -s -X POST 'http://127.0.0.1:$PORT/api/1/json/$LOGIN/$t/$sig' -H 'content-type: application/json' -d '$body'"
