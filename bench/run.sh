#!/usr/bin/env bash
# Runs the syncbridge benchmark and writes bench/RESULTS.md.
#
#   bash bench/run.sh                 # the full run (about 10 minutes)
#   bash bench/run.sh --quick         # a smoke run, written to bench/out/ only
#   bash bench/run.sh --duration 10   # any other loadgen flags are passed on
#
# Uses the worker in build/ (`make build`; built here if build/index.js is
# missing), builds loadgen in release, and talks only to 127.0.0.1. Besides
# the main loadgen run it makes a reference run of sync throughput with the
# Durable Objects' SQLite files on disk instead of tmpfs, then runs flowbench.
# Raw logs (workerd's own messages included) go to bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
for a in "$@"; do
  [ "$a" = "--quick" ] && quick=true
done
out_dir=bench/out
mkdir -p "$out_dir"
if $quick; then results="$out_dir/RESULTS-quick.md"; else results=bench/RESULTS.md; fi

say() { printf '[bench] %s\n' "$*" >&2; }

# Every parked caller holds a socket in loadgen and in workerd, and workerd
# holds SQLite files per Durable Object: use the most open files allowed.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if [ ! -f build/index.js ]; then
  say "build/index.js is missing: building the worker"
  bash scripts/build.sh
fi

say "building loadgen, barebench and flowbench (release)"
cargo build --release --quiet -p syncbridge-bench --bin loadgen --bin barebench --bin flowbench
# Native release builds use opt-level 3 (the wasm alone is built for size).
loadgen=target/release/loadgen

wasm=build/index_bg.wasm
wasm_raw=$(wc -c < "$wasm")
wasm_gz=$(gzip -9 -c "$wasm" | wc -c)
js_raw=$(wc -c < build/index.js)

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
t0=$(date +%s)

# Runs loadgen with a label; stdout (markdown) to $1, stderr to $2 with the
# progress lines shown here too. Returns loadgen's status.
commands=()
run_loadgen() {
  local md=$1 log=$2 bin=$3
  shift 3
  local cmd=$bin a
  for a in "$@"; do
    case $a in *' '*) cmd+=" \"$a\"" ;; *) cmd+=" $a" ;; esac
  done
  commands+=("$cmd")
  say "$cmd"
  set +e
  "$bin" "$@" > "$md" 2> >(tee "$log" | grep --line-buffered '^loadgen:' >&2)
  local rc=$?
  set -e
  wait # for the tee/grep of the process substitution
  return $rc
}

main_args=("$@")
status=0
run_loadgen "$out_dir/main.md" "$out_dir/main.log" "$loadgen" "${main_args[@]}" || status=$?
if ! $quick; then
  run_loadgen "$out_dir/disk.md" "$out_dir/disk.log" "$loadgen" \
    --only http --levels 50 --storage disk --label "reference: Durable Object storage on disk" || true
fi

# The gateway beside the bare design (bench/bare), with workerd's CPU per
# route class (issue 12).
if ! $quick; then
  run_loadgen "$out_dir/bare.md" "$out_dir/bare.log" target/release/barebench || say "barebench failed; see $out_dir/bare.log"
fi

# Channels, outbound deliveries and eventing (issues 3 to 5).
say "running flowbench"
flow_args=()
$quick && flow_args=(--quick)
target/release/flowbench "${flow_args[@]}" > "$out_dir/flow.md" 2> "$out_dir/flow.log" || say "flowbench failed; see $out_dir/flow.log"

# A loadgen that died (it aborts on panic) leaves its temporary directory.
for d in /dev/shm/syncbridge-bench-* "${TMPDIR:-/tmp}"/syncbridge-bench-*; do
  if [ -d "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null; then rm -rf "$d"; fi
done

# A run that produced no figures must not replace good results.
if ! grep -q '^### Summary' "$out_dir/main.md"; then
  say "loadgen produced no results (status $status); see $out_dir/main.log"
  exit "$(( status == 0 ? 1 : status ))"
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(( $(date +%s) - t0 ))
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
pkg_version() { sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "node_modules/$1/package.json" | head -1; }

# Drops a run's own "## loadgen results" title, keeping its settings and tables.
body_of() { sed '1{/^## /d};2{/^$/d}' "$1"; }

{
  echo "# syncbridge benchmark results"
  echo
  echo "Written by \`bench/run.sh\`; see bench/README.md for what each figure means."
  echo
  echo "- Command: \`bash bench/run.sh${*:+ $*}\`, which ran:"
  for c in "${commands[@]}"; do echo "  - \`$c\`"; done
  echo "- Date: $started; took ${elapsed} s"
  echo "- Commit: $commit$dirty"
  echo "- Machine: $(nproc) logical CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
  echo "- Open files allowed per process: $(ulimit -n) (hard limit $(ulimit -Hn))"
  echo "- Load average (1/5/15 min) before: $load_before; after: $load_after. The machine is shared: other work running at the same time lowers every figure."
  echo "- Toolchain: $(rustc --version), node $(node --version), workerd $(pkg_version @cloudflare/workerd-linux-64), miniflare $(pkg_version miniflare)"
  echo
  echo "## Worker size"
  echo
  echo "| file | bytes | gzip -9 |"
  echo "| --- | --- | --- |"
  echo "| build/index_bg.wasm | $wasm_raw | $wasm_gz |"
  echo "| build/index.js | $js_raw | $(gzip -9 -c build/index.js | wc -c) |"
  echo
  echo "## Main run"
  echo
  body_of "$out_dir/main.md"
  if ! $quick; then
    for ref in disk; do
      [ -s "$out_dir/$ref.md" ] || continue
      echo
      sed -n '1s/^## loadgen results (\(.*\))$/## \u\1/p' "$out_dir/$ref.md"
      echo
      body_of "$out_dir/$ref.md"
    done
  fi
  if ! $quick && [ -s "$out_dir/bare.md" ]; then
    echo
    cat "$out_dir/bare.md"
  fi
  if [ -s "$out_dir/flow.md" ]; then
    echo
    cat "$out_dir/flow.md"
  fi
  echo
  echo "## Notes"
  echo
  echo "- The sync/healthz ratio is more stable than the absolute rates: both routes share the machine with each other, with the client, and with anything else running. The load averages above show how busy it was."
  echo "- Every sync round trip creates a Durable Object. Locally, Miniflare gives each object its own SQLite database (3 open files) under \$TMPDIR. loadgen puts it on tmpfs; the on-disk reference above shows what the disk costs."
  echo "- Parked capacity is capped locally by per-process limits of workerd, not by the gateway's logic. One object per parked request means one open SQLite database and about 5 file descriptors each, under a 512 MiB SQLite heap cap and the 20,000 open-file hard limit. See bench/README.md."
  echo "- loadgen keeps serve.mjs's cron from firing during its run (SYNCBRIDGE_CRON_MS): the cron once deadlocked workerd under load (see bench/README.md); serve.mjs now fires it with an async fetch, and flowbench runs with it on."
  # Every other section of the old file (the fault, soak and fuzzing
  # figures of make faults, make soak and make fuzz; figures other
  # experiments wrote by hand) is carried over as it was, in its order:
  # this run writes only the sections above.
  if ! $quick && [ -f bench/RESULTS.md ]; then
    OWN='Worker size|Main run|Reference: Durable Object storage on disk|The bare design beside the gateway (`barebench`)|Channels, callbacks and eventing (`flowbench`)|Notes' awk '
      BEGIN { n = split(ENVIRON["OWN"], o, "|"); for (i = 1; i <= n; i++) mine["## " o[i]] = 1 }
      /^## / { keep = !($0 in mine) }
      /^# / { keep = 0 }
      keep' bench/RESULTS.md | sed '1{/^$/d}' | { read -r first && { echo; echo "$first"; cat; }; } || true
  fi
} | cat -s > "$results.new"
mv "$results.new" "$results"

say "wrote $results (logs in $out_dir/)"
exit $status
