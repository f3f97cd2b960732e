# The two commands: `make dev` serves the worker locally, `make test` runs
# every test. Each installs what it needs first (scripts/setup.sh is
# idempotent and takes a second or two once everything is there).

PORT ?= 8787
export WRANGLER_SEND_METRICS = false

.PHONY: setup build dev test test-native test-e2e bench fuzz faults soak lint fmt clean

setup:
	@bash scripts/setup.sh

build: setup
	@bash scripts/build.sh

## Serve the worker on 127.0.0.1:$(PORT); without .dev.vars, as a working demo.
dev: build
	@PORT=$(PORT) bash scripts/dev.sh

## Every test: the core's contract natively, then end-to-end against the
## real wasm worker in workerd with a simulated engine on loopback.
test: build lint
	cargo fmt --all -- --check
	python3 scripts/check-layers.py
	cargo test --workspace --no-fail-fast
	bash scripts/test-frontend.sh
	bash scripts/schemathesis.sh
	bash scripts/deploy-check.sh

bench: build
	@bash bench/run.sh

## Fuzzing: every libFuzzer target (fuzz/) for FUZZ_SECS seconds, then the
## property tests of tests/tests/fuzz at FUZZ_CASES cases each. Installs
## cargo-fuzz once. Figures: fuzz/out/summary.md.
FUZZ_SECS ?= 60
FUZZ_CASES ?= 100000
fuzz: build
	@FUZZ_SECS=$(FUZZ_SECS) FUZZ_CASES=$(FUZZ_CASES) bash scripts/fuzz.sh

## Fault experiments end to end (bench/loadgen's `faults`): the runtime
## killed with callers parked, the engine flapping, the queue consumer
## failing mid-batch. Figures: bench/out/faults.md.
faults: build
	cargo run --release -p syncbridge-bench --bin faults -- $(FAULTS_ARGS)

## A soak of mixed traffic at a steady rate for SOAK_S seconds.
## Figures: bench/out/soak.md.
SOAK_S ?= 600
soak: build
	cargo run --release -p syncbridge-bench --bin soak -- --duration $(SOAK_S) $(SOAK_ARGS)

lint: setup
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p syncbridge-edge --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt --all

clean:
	rm -rf build target .wrangler .demo
