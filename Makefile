# vikunja-aws — every entry point. `make up` and `make test` work from a clean clone: they
# install what they need (Python venv for the local AWS stack), build, and start services.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Build cache outside the clone: warm runs stay incremental, a fresh clone still builds.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/vikunja-aws/target
export VIKUNJA_LOCAL_VENV ?= $(CURDIR)/.local/venv
STACK       ?= vikunja
LOCAL_PORT  ?= 4566
ENDPOINT    ?= http://127.0.0.1:$(LOCAL_PORT)
BIN         := $(CARGO_TARGET_DIR)/debug
CLI         := $(BIN)/vikunja-aws
SETTINGS    ?=
LOCAL_ENV   := AWS_ENDPOINT_URL=$(ENDPOINT) VIKUNJA_BINARIES=$(BIN)

.PHONY: help tools build-local up status down-local local-up local-down test test-unit test-integration test-local-stack lint fmt

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

tools: ## check the Rust toolchain, create the local stack's Python venv
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
	@local/setup.sh "$(VIKUNJA_LOCAL_VENV)"

build-local: ## debug builds of every function and the CLI (what the local stack runs)
	cargo build --workspace --bins

local-up: tools ## start the local AWS stack (idempotent)
	@local/vikunja-local start --port $(LOCAL_PORT)

local-down down-local: ## stop the local AWS stack
	@local/vikunja-local stop

up: tools build-local local-up ## local stack + bootstrap stack + provision workflow, then the outputs
	@$(LOCAL_ENV) $(CLI) bootstrap --stack $(STACK) --binaries $(BIN)
	@$(LOCAL_ENV) $(CLI) up --stack $(STACK) $(if $(SETTINGS),--settings $(SETTINGS))
	@echo "The local AWS stack keeps running at $(ENDPOINT) (make down-local stops it)."

status: ## the stack's inventory
	@$(LOCAL_ENV) $(CLI) status --stack $(STACK)

test: tools build-local test-unit test-integration test-local-stack ## everything: unit, workflows on the local stack, the local stack's own tests

test-unit: ## pure logic, no AWS
	cargo test --workspace --lib --bins

test-integration: build-local ## the workflows end to end on a fresh local stack of their own
	@tests/with-local-stack cargo test -p vikunja-tests --tests -- --test-threads 4

test-local-stack: tools ## the local stack's own tests (router, Lambda host, moto fixes)
	@"$(VIKUNJA_LOCAL_VENV)/bin/python" -m pytest local/tests -q

lint: ## formatting and clippy
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all
