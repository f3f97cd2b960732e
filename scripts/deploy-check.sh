#!/usr/bin/env bash
# Checks that a deploy builds: `wrangler deploy --dry-run` bundles the worker
# exactly as a real deploy would (build command, bindings, migrations) without
# contacting Cloudflare, then reports the bundle's size.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/dry-run
rm -rf "$out"
WRANGLER_SEND_METRICS=false npx wrangler deploy --dry-run --outdir "$out" >"$out.log" 2>&1 || {
  cat "$out.log"; exit 1; }
grep -E "Total Upload" "$out.log" | sed 's/^/[deploy-check] /'
wasm=$(ls "$out"/*.wasm)
raw=$(wc -c <"$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
echo "[deploy-check] wasm: $raw bytes raw, $gz bytes gzipped"
