#!/usr/bin/env bash
# make fuzz: coverage-guided fuzzing of the core's parsers (libFuzzer through
# cargo-fuzz, on the stable toolchain, without a sanitizer), then the
# property tests of tests/tests/fuzz at a high case count in an optimised
# build. Every run is bounded; the figures go to fuzz/out/summary.md.
#
#   FUZZ_SECS=60      seconds per libFuzzer target (9 targets)
#   FUZZ_CASES=100000 cases per property test (41 properties)
#   FUZZ_HTTP_CASES=200  fuzzed requests per route family to the real worker
#   FUZZ_TARGETS="sync_api channel"  only these libFuzzer targets
#   FUZZ_SKIP_LIBFUZZER=1 / FUZZ_SKIP_PROPTEST=1
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECS=${FUZZ_SECS:-60}
export FUZZ_CASES=${FUZZ_CASES:-100000}
export FUZZ_HTTP_CASES=${FUZZ_HTTP_CASES:-200}
export FUZZ_SEED=${FUZZ_SEED:-$(date +%s)}
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
OUT=fuzz/out
mkdir -p "$OUT"
summary="$OUT/summary.md"
say() { printf '[fuzz] %s\n' "$*"; }

{
  echo "# make fuzz, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)"
  echo
  echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
} > "$summary"

if [ -z "${FUZZ_SKIP_LIBFUZZER:-}" ]; then
  if [ "$("$CARGO_BIN/cargo-fuzz" --version 2>/dev/null | awk '{print $NF}')" != "$CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes, once)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
  targets=${FUZZ_TARGETS:-$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^syncbridge-fuzz$')}
  say "building the libFuzzer targets (stable, --sanitizer none, debug assertions on)"
  (cd fuzz && "$CARGO_BIN/cargo-fuzz" build --sanitizer none -a)
  {
    echo "## libFuzzer (cargo fuzz run --sanitizer none -a TARGET -- -max_total_time=$FUZZ_SECS -dict=json.dict)"
    echo
    echo "| target | executions | seconds | exec/s | coverage (edges) | corpus | crashes |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
  } >> "$summary"
  failed=0
  for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    log="$OUT/$t.log"
    say "$t: $FUZZ_SECS s"
    rc=0
    (cd fuzz && timeout $((FUZZ_SECS + 120)) "$CARGO_BIN/cargo-fuzz" run --sanitizer none -a "$t" \
      "corpus/$t" "seeds/$t" -- -max_total_time="$FUZZ_SECS" -dict=json.dict -print_final_stats=1) \
      > "$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    secs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | awk '{print $2}')
    crash="none"
    if [ "$rc" -ne 0 ]; then crash="**exit $rc: see fuzz/artifacts/$t/ and $log**"; failed=1; fi
    rate=$([ -n "${runs:-}" ] && [ "${secs:-0}" -gt 0 ] && echo $((runs / secs)) || echo "-")
    echo "| $t | ${runs:--} | ${secs:--} | $rate | ${cov:--} | ${corp:--} | $crash |" >> "$summary"
  done
  echo >> "$summary"
  [ "$failed" -eq 0 ] || { cat "$summary"; say "a target crashed"; exit 1; }
fi

if [ -z "${FUZZ_SKIP_PROPTEST:-}" ]; then
  [ -f build/index.js ] || bash scripts/build.sh
  report="$OUT/proptest.tsv"
  : > "$report"
  say "property tests: $FUZZ_CASES cases each (seed $FUZZ_SEED), $FUZZ_HTTP_CASES requests per route family"
  start=$(date +%s)
  FUZZ_REPORT="$PWD/$report" cargo test --profile fuzz -p syncbridge-tests --test fuzz -- --test-threads 2 \
    2>&1 | tee "$OUT/proptest.log" | grep -E '^fuzz |^test result'
  wall=$(( $(date +%s) - start ))
  {
    echo "## Property tests (FUZZ_CASES=$FUZZ_CASES FUZZ_HTTP_CASES=$FUZZ_HTTP_CASES FUZZ_SEED=$FUZZ_SEED cargo test --profile fuzz -p syncbridge-tests --test fuzz)"
    echo
    echo "Wall time ${wall} s (build included), 2 test threads."
    echo
    echo "| property | cases | seconds | accepted |"
    echo "| --- | ---: | ---: | ---: |"
    sort "$report" | awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}'
    echo
  } >> "$summary"
fi
cat "$summary"
