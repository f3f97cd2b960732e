#!/usr/bin/env bash
# Builds the worker (wasm + JS glue) into build/ with worker-build, using the
# wasm-bindgen installed by setup.sh (worker-build cannot download its own here).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$CARGO_BIN/wasm-bindgen}"
# The wasm is optimised for size (native release builds use opt-level 3).
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-z}"

# The operator console (console/ → build/public/console/): bundled by
# scripts/build-console.sh (esbuild), which keeps its own stamp, so this runs
# before, and apart from, the worker's up-to-date check below.
bash scripts/build-console.sh

# Nothing to do when neither the inputs nor the outputs changed since the
# last build: the stamp holds a hash of every input (the Rust sources and
# manifests, the lock file, the OpenAPI document, this script, the toolchain
# and the profile) and of the built files. `make test` builds up to three
# times (itself, `wrangler deploy --dry-run`'s [build] command, the demo of
# test-frontend.sh); on an unchanged tree each is this check (~0.1 s).
stamp=build/.build-stamp
inputs() {
  {
    find crates -type f \( -name '*.rs' -o -name Cargo.toml \) -print0 | sort -z | xargs -0 sha256sum
    sha256sum Cargo.toml Cargo.lock docs/openapi.json scripts/build.sh
    rustc -V
    echo "opt-level=$CARGO_PROFILE_RELEASE_OPT_LEVEL"
  } | sha256sum | cut -d' ' -f1
}
# (On a fresh clone the files are missing: the hash is then of nothing, and
# must not fail the script under pipefail.)
outputs() { { cat build/index.js build/index_bg.wasm build/public/openapi.json 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; }
want="$(inputs) $(outputs)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "[build] up to date (nothing changed since the last build)"
  exit 0
fi
rm -f "$stamp"

(cd crates/edge && "$CARGO_BIN/worker-build" --release --out-dir ../../build)

# Shrink the wasm with binaryen's wasm-opt (npm package `binaryen`; worker-build
# cannot download its own here): -Oz, and drop the names section. worker-build
# writes a fresh unoptimised wasm on every run, so the cache is keyed by the
# hash of that input: an unchanged input reuses the optimised copy kept
# beside it (target/wasm-opt/), and only a changed one runs wasm-opt (~20 s).
wasm=build/index_bg.wasm
cache=target/wasm-opt
mkdir -p "$cache"
input=$(sha256sum "$wasm" | cut -d' ' -f1)
if [ -f "$cache/$input.wasm" ]; then
  cp "$cache/$input.wasm" "$wasm"
else
  node_modules/.bin/wasm-opt "$wasm" -Oz --enable-bulk-memory --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-reference-types --enable-multivalue --enable-exception-handling --strip-debug --strip-producers -o "$wasm.opt"
  rm -f "$cache"/*.wasm
  cp "$wasm.opt" "$cache/$input.wasm"
  mv "$wasm.opt" "$wasm"
fi

# Static files the worker serves through its ASSETS binding (wrangler.toml
# [assets]): the OpenAPI document stays out of the wasm, and so does the
# operator console (console/ → build/public/console/, served under /console/).
mkdir -p build/public
cp docs/openapi.json build/public/openapi.json

echo "$(inputs) $(outputs)" > "$stamp"
