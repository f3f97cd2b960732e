# The two commands: `make dev` serves the worker locally, `make test` runs
# every test. Each installs what it needs first (scripts/setup.sh is
# idempotent and takes a second or two once everything is there).

PORT ?= 8787
export WRANGLER_SEND_METRICS = false

.PHONY: setup build dev test test-native test-e2e bench lint fmt clean

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

lint: setup
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p syncbridge-edge --target wasm32-unknown-unknown -- -D warnings

fmt:
	cargo fmt --all

clean:
	rm -rf build target .wrangler .demo
