#!/usr/bin/env bash
# Fuzzes the real worker against its OpenAPI document (docs/openapi.json)
# with schemathesis: no 5xx, every status documented, the documented content
# type, every JSON body of its documented schema.
#
#   bash scripts/schemathesis.sh            (after `make build`)
#
# Installs schemathesis (requirements-test.txt, pinned) into .venv-schemathesis/
# once; starts the worker from build/ on a free loopback port with settings of
# its own; seeds a few channels and a delivery; runs schemathesis; stops the
# worker on exit. Exits non-zero when schemathesis finds a failure.
#
# Nothing leaves 127.0.0.1: the engine (COREZOID_API_URL), every seeded
# channel's process and the only destination CALLBACK_ALLOWED_HOSTS allows
# are a closed loopback port, and the webhook routes (the only ones that call
# the process a channel names) are fuzzed before schemathesis can create
# channels of its own; see "the runs" below. A webhook's 502 or 504 is the
# (closed) upstream's doing, so it is not counted as a server error; every
# other 5xx is.
#
# Bounded: SCHEMATHESIS_MAX_EXAMPLES per operation (default 30), and
# SCHEMATHESIS_TIMEOUT_S for the whole run (default 240). SCHEMATHESIS_SEED
# picks the seed (default a fixed one, so runs repeat; `random` for a new one).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-schemathesis
REQS=requirements-test.txt
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-30}"
TIMEOUT_S="${SCHEMATHESIS_TIMEOUT_S:-240}"
SEED="${SCHEMATHESIS_SEED:-20261123}"
ADMIN_TOKEN="schemathesis-admin-token-0123456789"
LOGIN="partner"
LOGIN_SECRET="schemathesis-partner-secret"
CALLBACK_SECRET="schemathesis-callback-secret-0123456789"
START=$SECONDS

# --- schemathesis, pinned, in a project venv (quick when already there) -----
want=$(sed -n 's/^schemathesis==//p' "$REQS")
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $want" \
  || ! cmp -s "$REQS" "$VENV/.installed-requirements"; then
  echo "schemathesis.sh: installing schemathesis $want into $VENV/"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$VENV/.installed-requirements"
fi

if [ ! -f build/index.js ]; then
  echo "schemathesis.sh: build/index.js is missing; run \`make build\` first" >&2
  exit 2
fi

# --- the worker, on loopback, stopped on exit -------------------------------
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
CLOSED_PORT=$(free_port) # bound and released: nothing listens there
BASE="http://127.0.0.1:$PORT"
CLOSED="http://127.0.0.1:$CLOSED_PORT"

TMP=$(mktemp -d)
WORKER_PID=""
ST_PID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  local rc=$?
  if [ -n "$ST_PID" ] && kill -0 "$ST_PID" 2>/dev/null; then
    kill "$ST_PID" 2>/dev/null || true
    wait "$ST_PID" 2>/dev/null || true
  fi
  exec 3>&- # closing its stdin stops the worker (--watch-stdin)
  if [ -n "$WORKER_PID" ] && kill -0 "$WORKER_PID" 2>/dev/null; then
    kill "$WORKER_PID" 2>/dev/null || true
    wait "$WORKER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export ADMIN_TOKEN LOGIN LOGIN_SECRET CALLBACK_SECRET CLOSED BASE
VARS=$(python3 -c '
import json, os
e = os.environ
print(json.dumps({
    "API_KEYS": json.dumps({e["LOGIN"]: e["LOGIN_SECRET"]}),
    "CALLBACK_SECRET": e["CALLBACK_SECRET"],
    "ADMIN_TOKEN": e["ADMIN_TOKEN"],
    "COREZOID_API_URL": e["CLOSED"],
    "CALLBACK_ALLOWED_HOSTS": e["CLOSED"],
    "PROCESS_ALLOWED_HOSTS": e["CLOSED"],
    "CALLBACK_TIMEOUT_S": "2",
    "WEBHOOK_MAX_WAIT_S": "1",
    "SYNC_DEFAULT_TIMEOUT_S": "1",
}))')

mkfifo "$TMP/stdin"
SYNCBRIDGE_VARS="$VARS" WRANGLER_SEND_METRICS=false \
  node scripts/serve.mjs --watch-stdin --port "$PORT" <"$TMP/stdin" >"$TMP/worker.log" 2>&1 &
WORKER_PID=$!
exec 3>"$TMP/stdin"

for _ in $(seq 1 600); do
  grep -q "^ready on " "$TMP/worker.log" && break
  if ! kill -0 "$WORKER_PID" 2>/dev/null; then
    echo "schemathesis.sh: the worker exited before it was ready:" >&2
    cat "$TMP/worker.log" >&2
    exit 1
  fi
  sleep 0.1
done
if ! grep -q "^ready on " "$TMP/worker.log"; then
  echo "schemathesis.sh: the worker was not ready within 60 s:" >&2
  cat "$TMP/worker.log" >&2
  exit 1
fi
echo "schemathesis.sh: worker on $BASE"

# --- fixtures: channels of every kind, and a delivery -----------------------
# Written to $TMP/fixtures.json for the hook below, which points some of the
# generated ids, tokens and codes at them so the fuzzing reaches past 404.
python3 - "$TMP/fixtures.json" <<'PY'
import json, os, sys, time, urllib.error, urllib.request

base, closed = os.environ["BASE"], os.environ["CLOSED"]
auth = {"Authorization": "Bearer " + os.environ["ADMIN_TOKEN"]}

def call(method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={**auth, "Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

API = "/rest/v1/service/integration_points"
callback = {
    "method": "POST",
    "headers": "Content-Type: application/json\nX-Event: @EventType",
    "body": '{"id": "@CallbackId", "value": "@Value"}',
    "variables": ["Value"],
    "retry": {"schedule": "interval", "interval_s": 1, "max_attempts": 2},
    "process_key": "schemathesis-process-key-0123",
}
specs = [
    {"code": "st-async"},
    {"code": "st-async-http", "recv_svcscriptcode": closed + "/process"},
    {"code": "st-sync-none", "opts": {"issync": True}},
    {"code": "st-sync-http", "recv_svcscriptcode": closed + "/process",
     "opts": {"issync": True, "cors_origins": ["https://shop.example"]}},
    {"code": "st-sync-corezoid", "recv_svcscriptcode": "corezoid:1",
     "opts": {"issync": True, "corezoid_login": os.environ["LOGIN"]}},
    {"code": "st-cors-any", "opts": {"cors_origins": ["*"]}},
    {"code": "st-eventing", "type": "eventing"},
    {"code": "st-ws", "recv_svcscriptcode_ws": closed + "/ws-process"},
    {"code": "st-callback", "url": closed + "/receiver", "opts": {"callback": callback}},
    {"code": "st-callback-get", "url": closed + "/receiver?x=1",
     "opts": {"callback": {"method": "GET", "body": "event=@EventType"}}},
]
channels = []
for spec in specs:
    status, ch = call("POST", API, spec)
    if status != 200:
        sys.exit(f"fixture {spec['code']}: {status} {ch}")
    channels.append(ch)
by_code = {c["code"]: c for c in channels}
eventing = by_code["st-eventing"]
# Traffic events of a public channel go to the eventing channel, which has a
# webhook subscriber (the closed port) and a few events to replay.
status, _ = call("PATCH", f"{API}/{by_code['st-async']['id']}",
                 {"opts": {"eventing_channel": eventing["id"]}})
if status != 200:
    sys.exit(f"fixture eventing_channel: {status}")
status, sub = call("POST", f"/api/token/v1/{eventing['token_local']}/subscribe",
                   {"url": closed + "/subscriber", "events": ["order.*"]})
if status != 201:
    sys.exit(f"fixture subscription: {status} {sub}")
for kind in ["order.paid", "user.login"]:
    status, ev = call("POST", f"{API}/{eventing['id']}/events", {"type": kind, "data": {"n": 1}})
    if status != 202:
        sys.exit(f"fixture event: {status} {ev}")
deliveries = []
for i in range(2):
    status, d = call("POST", f"{API}/{by_code['st-callback']['id']}/send",
                     {"variables": {"Value": f"v{i}"}})
    if status != 202:
        sys.exit(f"fixture delivery: {status} {d}")
    deliveries.append({"id": d["delivery_id"], "channel_id": by_code["st-callback"]["id"]})
# Give the first delivery time to use up its two attempts (dead: resendable).
deadline = time.time() + 15
while time.time() < deadline:
    _, d = call("GET", f"{API}/{deliveries[0]['channel_id']}/deliveries/{deliveries[0]['id']}")
    if d.get("state") != "pending":
        break
    time.sleep(0.5)
json.dump({
    "ids": [c["id"] for c in channels],
    "tokens": [c["token_local"] for c in channels],
    "codes": [c["code"] for c in channels],
    "deliveries": deliveries,
    "eventing": {"id": eventing["id"], "token": eventing["token_local"], "subscription": sub["id"]},
    "ws": {"id": by_code["st-ws"]["id"], "token": by_code["st-ws"]["token_local"]},
}, open(sys.argv[1], "w"))
print(f"schemathesis.sh: {len(channels)} channels, {len(deliveries)} deliveries, "
      "a subscription and 2 events seeded")
PY

# --- hooks: signatures, valid ids, and the fixtures --------------------------
# Schemathesis cannot sign, so alone it would only ever see 403 from the Sync
# API and 404 from the callback route, and rarely hit an existing channel.
# Three of every four generated cases of those routes are therefore signed,
# given a valid request id, or pointed at a fixture; the fourth is sent as
# generated (the 403 and 404 paths).
cat >"$TMP/hooks.py" <<'PY'
import hashlib
import hmac
import json
import os
import time
import zlib

import schemathesis

LOGIN = os.environ["SB_LOGIN"]
SECRET = os.environ["SB_SECRET"].encode()
CALLBACK_SECRET = os.environ["SB_CALLBACK_SECRET"].encode()
FIX = json.load(open(os.environ["SB_FIXTURES"]))
CHANNELS = "/rest/v1/service/integration_points/{id}"


def _raw(body):
    if isinstance(body, bytes):
        return body
    if body is None:
        return b"null"
    try:
        return json.dumps(body).encode()
    except (TypeError, ValueError):
        return None


def _pick(seed, items):
    """None one time in four, else an item, both chosen by `seed`."""
    n = zlib.crc32(repr(seed).encode())
    return None if n % 4 == 0 else items[(n // 4) % len(items)]


def _request_id(login):
    """As crates/core/src/request_id.rs issues them: random, expiry, owner tag, MAC."""
    raw = os.urandom(16) + (int(time.time()) + 600).to_bytes(4, "big")
    raw += hmac.new(CALLBACK_SECRET, b"syncbridge/owner/v1" + login.encode(), "sha256").digest()[:8]
    raw += hmac.new(CALLBACK_SECRET, b"syncbridge/request-id/v1" + raw, "sha256").digest()[:16]
    return raw.hex()


def _connection_id(channel_id):
    """As crates/edge/src/hub.rs issues them: a request id owned by `ws:{channel_id}`."""
    return _request_id("ws:" + channel_id)


@schemathesis.hook
def before_call(context, case, kwargs):
    path, method = case.operation.path, case.operation.method.upper()
    params = dict(case.path_parameters or {})
    if path.startswith("/ws/"):
        # A real handshake would turn the connection into a WebSocket, which
        # schemathesis cannot speak: without Sec-WebSocket-Key the runtime
        # refuses (400) wherever the gateway would have accepted it.
        headers = {k: v for k, v in (case.headers or {}).items()
                   if k.lower() not in ("upgrade", "sec-websocket-key", "sec-websocket-version")}
        if _pick(("upgrade", params), [1]):
            headers.update({"Upgrade": "websocket", "Sec-WebSocket-Version": "13"})
        case.headers = headers
        fixture = FIX["eventing"] if path.endswith("/subscribe") else FIX["ws"]
        params["token_local"] = _pick(params, [fixture["token"]]) or params["token_local"]
        case.path_parameters = params
        return
    if path == "/api/1/json/{login}/{unixtime}/{signature}":
        raw = _raw(case.body)
        if raw is None or zlib.crc32(raw) % 4 == 0:
            return
        t = str(int(time.time())).encode()
        params.update(
            login=LOGIN,
            unixtime=t.decode(),
            signature=hashlib.sha1(t + SECRET + raw + SECRET).hexdigest(),
        )
        case.body = raw  # sent as exactly the bytes signed
    elif path == "/api/1/plugins/callback/{request_id}":
        if _pick(params, [1]):
            params["request_id"] = _request_id(LOGIN)
    elif path.startswith("/api/token/v1/{token_local}/subscribe"):
        # Only the eventing channel: on the others these are ordinary webhooks.
        params["token_local"] = _pick(params, [FIX["eventing"]["token"]]) or params["token_local"]
        if "subscription_id" in params:
            sub = FIX["eventing"]["subscription"]
            params["subscription_id"] = _pick(params["subscription_id"], [sub]) or params["subscription_id"]
    elif path == "/api/1/plugins/ws/{channel_id}/{connection_id}":
        channel_id = _pick(params, [FIX["ws"]["id"]])
        if channel_id:
            params.update(channel_id=channel_id, connection_id=_connection_id(channel_id))
    elif path == "/api/token/v1/{token_local}":
        params["token_local"] = _pick(params, FIX["tokens"]) or params["token_local"]
    elif path == "/api/webrequest/{code}":
        params["code"] = _pick(params, FIX["codes"]) or params["code"]
    elif "{delivery_id}" in path:
        d = _pick(params, FIX["deliveries"])
        if d:
            params.update(id=d["channel_id"], delivery_id=d["id"])
    elif path == CHANNELS + "/events":
        params["id"] = _pick(params, [FIX["eventing"]["id"]]) or params["id"]
    elif path.startswith(CHANNELS) and method != "DELETE":
        params["id"] = _pick(params, FIX["ids"]) or params["id"]
    case.path_parameters = params


WEBHOOKS = (
    "/api/token/v1/{token_local}",
    "/api/token/v1/{token_local}/subscribe",
    "/api/token/v1/{token_local}/subscribe/{subscription_id}",
    "/api/webrequest/{code}",
)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but one: `not_a_server_error` on a webhook's 502 or 504.

    The seeded channels' processes are a closed port (or none), so a sync
    webhook's 502 (process unreachable, or none named) and 504 are the
    upstream's doing and documented; their status, content type and body are
    still checked by the other checks.
    """
    return not (
        failure.code == "ST101"
        and response.status_code in (502, 504)
        and case.operation.path in WEBHOOKS
    )
PY

# --- the runs ---------------------------------------------------------------
# The routes on a channel's token or code URL (webhooks, and below them the
# subscriptions and WebSockets) hand requests to the process the channel
# names. They are fuzzed first, while the only channels are the fixtures,
# whose processes are the closed loopback port; then every other route,
# without them, as that run creates and changes channels with URLs of its own
# invention. Sync API tasks go to COREZOID_API_URL, and callbacks and
# subscription deliveries only where CALLBACK_ALLOWED_HOSTS allows: the closed
# loopback port too.
WEBHOOKS='^/(api/token/v1|api/webrequest|ws/token/v1)/'
seed_args=()
if [ "$SEED" != "random" ]; then
  seed_args=(--seed "$SEED")
fi
DOC="$PWD/docs/openapi.json"
ST="$PWD/$VENV/bin/schemathesis"
deadline=$((START + TIMEOUT_S))

run() { # LABEL FILTER-ARGS...
  local label=$1 left=$((deadline - SECONDS))
  shift
  if [ "$left" -le 0 ]; then
    echo "schemathesis.sh: no time left for the $label (SCHEMATHESIS_TIMEOUT_S=$TIMEOUT_S)" >&2
    return 124
  fi
  echo "schemathesis.sh: $label"
  # From a scratch directory: schemathesis keeps a cache in ./.schemathesis/.
  # In the background, waited for, so that a signal stops it at once.
  (cd "$TMP" && exec env SCHEMATHESIS_HOOKS="$TMP/hooks.py" SB_FIXTURES="$TMP/fixtures.json" \
    SB_LOGIN="$LOGIN" SB_SECRET="$LOGIN_SECRET" SB_CALLBACK_SECRET="$CALLBACK_SECRET" \
    timeout --kill-after=10 "$left" "$ST" run "$DOC" \
    --url "$BASE" \
    --header "Authorization: Bearer $ADMIN_TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --workers 2 \
    --request-timeout 10 \
    --max-redirects 0 \
    --generation-database none \
    --no-color \
    "${seed_args[@]}" \
    "$@") &
  ST_PID=$!
  local rc=0
  wait "$ST_PID" || rc=$?
  ST_PID=""
  return "$rc"
}

rc=0
run "webhook, subscription and WebSocket routes (only the seeded channels exist)" --include-path-regex "$WEBHOOKS" || rc=$?
if [ "$rc" -eq 0 ]; then
  run "every other route" --exclude-path-regex "$WEBHOOKS" || rc=$?
fi
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "schemathesis.sh: stopped after ${TIMEOUT_S} s (SCHEMATHESIS_TIMEOUT_S)" >&2
elif [ "$rc" -ne 0 ]; then
  echo "schemathesis.sh: schemathesis found failures (exit $rc); the worker's last lines:" >&2
  tail -n 20 "$TMP/worker.log" >&2
else
  echo "schemathesis.sh: no failures ($((SECONDS - START)) s)"
fi
exit "$rc"
