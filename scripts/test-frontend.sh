#!/usr/bin/env bash
# End-to-end tests of the example page (examples/frontend/) and of the
# operator console (console/, under /console/): starts `make dev` in demo
# mode on ports of its own with an isolated state, then drives both in
# headless Chromium (Debian's chromium with playwright-core) with node's test
# runner (tests/frontend/). Always stops the demo afterwards. The console's
# tests save their screenshots into the demo's temporary folder, so a run
# leaves the tree clean; `UPDATE_SHOTS=1` (or CONSOLE_SHOTS=dir) saves them
# into docs/console/, the committed copies README shows.
#
# Isolation: DEMO_DIR (a fresh temporary folder) makes scripts/dev.sh run the
# demo even where a developer has a .dev.vars, with its settings and state in
# that folder, so neither .dev.vars, .demo/ nor .wrangler/state is touched.
#
# Env: TEST_PORT (8877), TEST_ENGINE_PORT (8878), TEST_FRONTEND_PORT (8879),
# CHROMIUM (/usr/bin/chromium), SCREENSHOT_DIR (/tmp), UPDATE_SHOTS,
# CONSOLE_SHOTS (the demo folder, or docs/console with UPDATE_SHOTS=1), TEST_FILES (both test files) to run one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${TEST_PORT:-8877}"
ENGINE_PORT="${TEST_ENGINE_PORT:-8878}"
FRONTEND_PORT="${TEST_FRONTEND_PORT:-8879}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
WAIT_S=5 # the demo's WEBHOOK_MAX_WAIT_S (scripts/dev.sh)

say() { printf '[test-frontend] %s\n' "$*"; }

if [ ! -x "$CHROMIUM" ]; then
  say "installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -f node_modules/playwright-core/package.json ] || bash scripts/setup.sh

for p in "$PORT" "$ENGINE_PORT" "$FRONTEND_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    say "port $p is in use; set TEST_PORT, TEST_ENGINE_PORT or TEST_FRONTEND_PORT"
    exit 1
  fi
done

demo_dir=$(mktemp -d /tmp/syncbridge-frontend.XXXXXX)
log="$demo_dir/dev.log"
: >"$log"
dev_pid=
stop_dev() {
  [ -n "$dev_pid" ] || return 0
  # make dev runs in a process group of its own: stop all of it.
  kill -TERM -- "-$dev_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 -- "-$dev_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$dev_pid" 2>/dev/null || true
  dev_pid=
}
cleanup() {
  stop_dev
  rm -rf "$demo_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting make dev (demo) on 127.0.0.1:$PORT, page on 127.0.0.1:$FRONTEND_PORT"
set -m # a process group of its own, so that everything it starts can be stopped
PORT="$PORT" DEMO_ENGINE_PORT="$ENGINE_PORT" FRONTEND_PORT="$FRONTEND_PORT" \
  DEMO_DIR="$demo_dir" make --no-print-directory dev >"$log" 2>&1 </dev/null &
dev_pid=$!
set +m

page_url=
deadline=$((SECONDS + 600)) # `make dev` builds first when something changed
while [ $SECONDS -lt $deadline ]; do
  page_url=$(grep -o "http://127\.0\.0\.1:$FRONTEND_PORT/?channel=[^ ]*" "$log" | head -1 || true)
  [ -n "$page_url" ] && break
  if ! kill -0 "$dev_pid" 2>/dev/null || grep -q 'example page is not usable' "$log"; then
    break
  fi
  sleep 0.5
done
if [ -z "$page_url" ]; then
  say "make dev printed no page URL; its output:"
  cat "$log"
  exit 1
fi
say "page: $page_url"
console_url=$(grep -o "http://127\.0\.0\.1:$PORT/console/" "$log" | head -1 || true)
if [ -z "$console_url" ]; then
  say "make dev printed no console URL; its output:"
  cat "$log"
  exit 1
fi

shots="${CONSOLE_SHOTS:-$demo_dir/shots}"
[ "${UPDATE_SHOTS:-}" = 1 ] && shots="${CONSOLE_SHOTS:-docs/console}"
mkdir -p "$shots"

status=0
PAGE_URL="$page_url" WAIT_S="$WAIT_S" CHROMIUM="$CHROMIUM" \
  SCREENSHOT_DIR="${SCREENSHOT_DIR:-/tmp}" \
  CONSOLE_URL="$console_url" DEMO_DIR="$demo_dir" ENGINE_PORT="$ENGINE_PORT" \
  CONSOLE_SHOTS="$shots" \
  timeout 900 node --test --test-concurrency=1 --test-timeout=400000 \
  ${TEST_FILES:-tests/frontend/p2p.test.mjs tests/frontend/console.test.mjs} || status=$?
if [ "$status" != 0 ]; then
  say "failed ($status); make dev's output:"
  cat "$log"
fi
exit "$status"
