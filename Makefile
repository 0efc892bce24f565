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

.PHONY: help tools build build-tools build-local up demo bench bench-tools bench-readme cost-docs diagram diagram-live plan status down down-local local-up local-down test test-unit test-integration test-faults test-crashes test-local-stack lint fmt fuzz

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

tools: ## check the Rust toolchain, create the local stack's Python venv
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
	@local/setup.sh "$(VIKUNJA_LOCAL_VENV)"

# Every function crate (each folder of functions/ but the shared library) is one Lambda function.
LAMBDA_FUNCTIONS := $(filter-out core resources,$(notdir $(wildcard functions/*)))
# Outside the clone, like the build cache: cargo lambda's linker wrapper is named after zig's
# path, and a new path rebuilds every release artifact.
BUILD_VENV  ?= $(HOME)/.cache/vikunja-aws/build-venv
ARCH        ?= x86_64
LAMBDA_BIN  := $(CARGO_TARGET_DIR)/lambda

build-tools:
	@local/setup.sh "$(BUILD_VENV)" bootstrap/requirements-build.txt

build: build-tools build-local ## Lambda binaries for AWS (cargo lambda, release; ARCH=arm64 for Graviton), checked to run on Amazon Linux 2023, and the CLI
	PATH="$(BUILD_VENV)/bin:$$PATH" cargo lambda build --release $(if $(filter arm64,$(ARCH)),--arm64) $(addprefix -p ,$(LAMBDA_FUNCTIONS))
	$(CLI) package --check-lambda --binaries $(LAMBDA_BIN) --out $(CARGO_TARGET_DIR)/package
	@echo "Ready for AWS: $(CLI) bootstrap --target aws --binaries $(LAMBDA_BIN)"

build-local: ## debug builds of every function and the CLI (what the local stack runs)
	cargo build --workspace --bins

local-up: tools ## start the local AWS stack (idempotent); it enforces the functions' IAM roles unless VIKUNJA_LOCAL_IAM=off
	@VIKUNJA_LOCAL_IAM=$${VIKUNJA_LOCAL_IAM:-enforce} local/vikunja-local start --port $(LOCAL_PORT)

local-down down-local: ## stop the local AWS stack
	@local/vikunja-local stop

up: tools build-local local-up ## local stack + bootstrap stack + provision workflow, then the outputs
	@$(LOCAL_ENV) $(CLI) bootstrap --stack $(STACK) --binaries $(BIN)
	@$(LOCAL_ENV) $(CLI) up --stack $(STACK) $(if $(SETTINGS),--settings $(SETTINGS))
	@echo "The local AWS stack keeps running at $(ENDPOINT) (make down-local stops it)."

demo: up ## a good backend release, a broken one that is rolled back, a frontend build published, then status, end to end on the local stack
	@tag=2.5.1-demo.$$(date +%s); echo "== releasing $$tag (passes the smoke test)"; \
	  $(LOCAL_ENV) $(CLI) release backend --stack $(STACK) --image vikunja/vikunja:$$tag
	@tag=2.5.2-broken.$$(date +%s); echo "== releasing $$tag (its green answers 500: the hook fails, CodeDeploy rolls back)"; \
	  if $(LOCAL_ENV) $(CLI) release backend --stack $(STACK) --image vikunja/vikunja:$$tag; then echo "the broken release was not rolled back" >&2; exit 1; fi
	@echo "== publishing the demo frontend build (local/demo-site)"
	@$(LOCAL_ENV) $(CLI) release frontend --stack $(STACK) local/demo-site --release-version demo.$$(date +%s) --keep-previous-seconds 0 --wait-prune
	@echo "== production still serves the good release:"
	@$(LOCAL_ENV) $(CLI) status --stack $(STACK)
	@$(LOCAL_ENV) $(CLI) status --stack $(STACK) --output json | python3 -c 'import json,sys; s=json.load(sys.stdin)["backendRelease"]; print("live:", s["live"]["version"]); [print(" ", d["status"], d.get("description") or "(the first, by up)") for d in s["deployments"]]'

plan: ## what `up` would create, change or leave on the local stack, changing nothing (SETTINGS=file as for up)
	@test -x $(CLI) || cargo build -p vikunja-aws
	@$(LOCAL_ENV) $(CLI) plan --stack $(STACK) $(if $(SETTINGS),--settings $(SETTINGS))

status: ## is the stack healthy: a verdict per tier, target health, last releases, alarms (exits 1 when not)
	@$(LOCAL_ENV) $(CLI) status --stack $(STACK)

DOWN_ARGS ?=
down: ## delete everything the stack made on the local stack, then its bootstrap stack (asks first; DOWN_ARGS="--yes --delete-data" or "--keep-data")
	@test -x $(CLI) || cargo build -p vikunja-aws
	@$(LOCAL_ENV) $(CLI) down --stack $(STACK) $(DOWN_ARGS)

test: lint-templates tools build-local test-unit test-integration test-local-stack ## everything: template checks, unit, workflows on the local stack, the local stack's own tests

test-unit: ## pure logic, no AWS
	cargo test --workspace --lib --bins
	@python3 -m unittest discover -s bootstrap/cli/prices -q

test-integration: build-local ## the workflows end to end on a fresh local stack of their own
	@# --workspace, as build-local: the same feature set, so the SDK crates are not rebuilt.
	@tests/with-local-stack cargo test --workspace --test '*' -- --test-threads 4

FAULT_SEEDS ?= 1 2 3 4 5 6 7 8 9 10
test-faults: build-local ## the fault soak: bootstrap, up, down, a backend and a frontend release with a fifth of their AWS calls faulted, once per seed, each on a local stack of its own (FAULT_SEEDS="n …" picks them)
	@for seed in $(FAULT_SEEDS); do \
	  out=$$(VIKUNJA_FAULT_SEED=$$seed tests/with-local-stack cargo test --workspace --test faults -- --nocapture 2>&1); status=$$?; \
	  echo "$$out" | grep -E -A8 '^seed|panicked'; [ $$status -eq 0 ] || exit 1; \
	done

test-crashes: tools build-local ## the crash soak: each provisioning step of CRASH_STEPS (and teardown tier of TEARDOWN_CRASH_STEPS) killed after each of its AWS calls in turn, then converged
	@tests/with-local-stack cargo test --workspace --test crashes -- --ignored --nocapture

test-local-stack: tools ## the local stack's own tests (router, Lambda host, moto fixes)
	@"$(VIKUNJA_LOCAL_VENV)/bin/python" -m pytest local/tests -q

BENCH_VENV ?= $(CURDIR)/.local/bench-venv

bench-tools: ## the AWS CLI the bench compares the frontend publish with (a venv of its own: its botocore pin must not move moto's)
	@test -x "$(BENCH_VENV)/bin/aws" || { python3 -m venv "$(BENCH_VENV)" && "$(BENCH_VENV)/bin/pip" install -q awscli; }

BENCH_OUT ?= $(CARGO_TARGET_DIR)/bench.json
# The latency model: RDS creation (AWS ~600 s) scaled down 15×; the bench polls 15× as often.
BENCH_RDS_SECONDS ?= 40

bench: tools bench-tools build-local $(if $(BENCH_RELEASE),build) ## one run on a fresh local AWS stack: per workflow time, transitions, GB-seconds and cost; publish vs aws s3 sync; per function init, memory, zip (JSON in BENCH_OUT; BENCH_RELEASE=1: make build's binaries; BENCH_BUILD=1: cold and warm build times)
	@VIKUNJA_LOCAL_RDS_CREATE_SECONDS=$(BENCH_RDS_SECONDS) BENCH_OUT="$(BENCH_OUT)" BENCH_NOTE="$(BENCH_NOTE)" BENCH_BUILD="$(BENCH_BUILD)" BENCH_AWS_CLI="$(BENCH_VENV)/bin/aws" $(if $(BENCH_RELEASE),VIKUNJA_BINARIES="$(LAMBDA_BIN)") tests/with-local-stack cargo run -q -p vikunja-tests --bin bench

diagram: build-local ## draw each state machine from its ASL into docs/diagrams (DOT and SVG; installs Graphviz if missing)
	@command -v dot >/dev/null || { echo "installing Graphviz (Debian package graphviz)"; $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q graphviz >/dev/null; }
	@$(CLI) diagram

diagram-live: build-local ## draw the running stack as status reads it into docs/diagrams/live-stack.svg (after make up or make demo)
	@command -v dot >/dev/null || { echo "installing Graphviz (Debian package graphviz)"; $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -q graphviz >/dev/null; }
	@$(LOCAL_ENV) $(CLI) diagram --live --stack $(STACK)

# build-local's CLI, not `cargo run -p`: the workspace's feature set, so no SDK crate is rebuilt.
cost-docs: build-local ## render docs/aws.md's cost section from the price table (bootstrap/cli/prices/aws-prices.json) for the defaults
	@$(CLI) cost --write-docs

bench-readme: ## render the README's performance section from BENCH_OUT (a make bench run's JSON)
	@cargo run -q -p vikunja-tests --bin bench -- readme "$(BENCH_OUT)" README.md

# The bolero targets (a `fuzz` module next to each parser of untrusted input) run for 1 s each
# inside `make test-unit`; this is the long run of the same targets, with bolero's own knobs.
FUZZ_CRATES  ?= vikunja-core hook release-backend release-frontend
FUZZ_SECONDS ?= 60
FUZZ_ITERATIONS ?=
fuzz: ## the fuzz targets, long: FUZZ_SECONDS per target (60) or FUZZ_ITERATIONS=n; executions and findings per target
	@log=$(CARGO_TARGET_DIR)/fuzz.log; status=0; \
	  $(if $(FUZZ_ITERATIONS),BOLERO_RANDOM_ITERATIONS=$(FUZZ_ITERATIONS),BOLERO_RANDOM_TEST_TIME_MS=$$(( $(FUZZ_SECONDS) * 1000 ))) \
	  RUST_BACKTRACE=0 cargo test --no-fail-fast $(addprefix -p ,$(FUZZ_CRATES)) --lib -- ::fuzz:: --nocapture --test-threads 2 >"$$log" 2>&1 || status=$$?; \
	  awk -F'\t' ' \
	    /Running unittests/ { crate = $$0; sub(/.*deps\//, "", crate); sub(/-[0-9a-f]+\)$$/, "", crate) } \
	    /^test .* \.\.\.\trun time: / { name = $$1; sub(/^test /, "", name); sub(/ \.\.\.$$/, "", name); \
	      runs = $$2; sub(/.*rng inputs: /, "", runs); sub(/ .*/, "", runs); found = ($$2 ~ /test failure/); \
	      time = $$2; sub(/^run time: /, "", time); sub(/ .*/, "", time); \
	      printf "  %-18s %-72s %10s executions %3d findings  (%s)\n", crate, name, runs, found, time; targets++; total += runs; findings += found } \
	    END { printf "  %d targets, %d executions, %d findings\n", targets, total, findings }' "$$log"; \
	  if [ $$status -ne 0 ]; then \
	    echo "findings (the input, its BOLERO_RANDOM_SEED to replay it, the panic):"; \
	    sed -n '/= Test Failure =/,/^==========/p' "$$log"; grep -E '^error|panicked at' "$$log" | grep -v bolero | head -20; \
	    echo "full log: $$log"; exit 1; \
	  fi

.PHONY: lint-templates
lint-templates: ## static checks, no Rust build: cfn-lint, checkov, IAM rules, ASL parser (checks/)
	@checks/lint-templates

lint: ## formatting and clippy
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all
