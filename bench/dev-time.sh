#!/usr/bin/env bash
# Times a warm `make dev` to its first answer: from its start to the first
# `GET /healthz` that answers 200, then stops it. Demo mode in a folder of
# its own (DEMO_DIR), on ports of its own; run it twice, as the first run
# creates the demo's state.
#
#   bash bench/dev-time.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
export PORT="${PORT:-18787}" DEMO_ENGINE_PORT="${DEMO_ENGINE_PORT:-18790}" FRONTEND_PORT="${FRONTEND_PORT:-18791}"
export DEMO_DIR="${DEMO_DIR:-${TMPDIR:-/tmp}/syncbridge-dev-time}"
for _ in $(seq 1 "${1:-3}"); do
  t0=$(date +%s%N)
  setsid make dev > "$DEMO_DIR.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 1200); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.05
  done
  t1=$(date +%s%N)
  echo "first answer after $(( (t1 - t0) / 1000000 )) ms"
  # The whole process group: make, dev.sh, serve.mjs, workerd, the demo's peers.
  kill -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  sleep 2
done
