#!/usr/bin/env bash
# Builds the worker (wasm + JS glue) into build/ with worker-build, using the
# wasm-bindgen installed by setup.sh (worker-build cannot download its own here).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$CARGO_BIN/wasm-bindgen}"
cd crates/edge
exec "$CARGO_BIN/worker-build" --release --out-dir ../../build
