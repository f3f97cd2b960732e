#!/usr/bin/env bash
# Builds the operator console (console/, plain ES modules) into
# build/public/console/: app.js and its modules bundled and minified by
# esbuild (the one wrangler ships), index.html and style.css copied. The
# worker serves them under /console/ from its ASSETS binding.
#
# Cached: the output is kept while a hash of console/ and of this script is
# unchanged (a stamp in target/), so an unchanged tree costs a few ms.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/public/console
stamp=target/console-build.hash
hash=$( (find console -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum "$0") | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && [ -f "$out/app.js" ]; then
  exit 0
fi
mkdir -p target
rm -rf "$out"
mkdir -p "$out"
node_modules/.bin/esbuild console/app.js --bundle --minify --format=esm --target=es2020 \
  --legal-comments=none --log-level=warning --outfile="$out/app.js"
cp console/index.html console/style.css "$out/"
echo "$hash" >"$stamp"
