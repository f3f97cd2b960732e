#!/usr/bin/env bash
# Builds the worker (wasm + JS glue) into build/ with worker-build, using the
# wasm-bindgen installed by setup.sh (worker-build cannot download its own here).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$CARGO_BIN/wasm-bindgen}"
# The wasm is optimised for size (native release builds use opt-level 3).
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-z}"
(cd crates/edge && "$CARGO_BIN/worker-build" --release --out-dir ../../build)

# Shrink the wasm with binaryen's wasm-opt (npm package `binaryen`; worker-build
# cannot download its own here): -Oz, and drop the names section. Skipped
# when the wasm is already optimised (its hash is stamped next to it).
wasm=build/index_bg.wasm
stamp=build/.wasm-opt.sha
if [ ! -f "$stamp" ] || [ "$(sha256sum "$wasm" | cut -d' ' -f1)" != "$(cat "$stamp")" ]; then
  node_modules/.bin/wasm-opt "$wasm" -Oz --enable-bulk-memory --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue --enable-exception-handling --strip-debug --strip-producers -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
  sha256sum "$wasm" | cut -d' ' -f1 > "$stamp"
fi

# Static files the worker serves through its ASSETS binding (wrangler.toml
# [assets]): the OpenAPI document stays out of the wasm.
mkdir -p build/public
cp docs/openapi.json build/public/openapi.json
