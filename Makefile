# llmobs — run `make help` for the targets. Every tool the targets need is fetched or built by the
# project itself and cached outside the repo (see docs/development.md).
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

export LLMOBS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/llmobs
# The pinned Node 24, bootstrapped from the npm registry on first use; first on PATH for every recipe.
NODE_BIN := $(shell scripts/node.sh)
ifeq ($(NODE_BIN),)
$(error could not bootstrap Node.js; see the message above)
endif
export PATH := $(NODE_BIN):$(PATH)

TOOLS := etcd kube-apiserver kube-controller-manager kube-scheduler kwok helm otelcol jaeger
TEST_CONCURRENCY ?= 2
TESTS ?= "operator/src/**/*.test.ts" "processors/src/**/*.test.ts" "crds/**/*.test.ts" "test/**/*.test.ts" "bench/**/*.test.ts"

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage: make \033[36m<target>\033[0m\n"} \
	  /^[a-zA-Z0-9_-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Main

.PHONY: demo
demo: install tools ## Run the whole system locally on its embedded default.
	node test/harness/demo.ts

.PHONY: test
test: install lint typecheck tools ## Lint, type-check and run every test (unit and against the real components).
	node --test --test-reporter=spec --test-concurrency=$(TEST_CONCURRENCY) $(TESTS)

##@ Development

node_modules/.install-stamp: package.json package-lock.json operator/package.json processors/package.json test/package.json
	@# Not `npm ci`: the registry here serves only some of Biome's per-platform binaries, so the lock file
	@# lacks the others and `npm ci` refuses it; `npm install` installs exactly what the lock file pins.
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: install
install: node_modules/.install-stamp ## Install npm dependencies (with the pinned Node 24).

.PHONY: lint
lint: install ## Lint and check formatting (Biome).
	npx biome check .

.PHONY: fmt
fmt: install ## Format and apply safe lint fixes.
	npx biome check --write .

.PHONY: typecheck
typecheck: install ## Type-check all workspaces (strict TypeScript).
	npx tsc -p tsconfig.json

.PHONY: generate
generate: install ## Regenerate code from its sources of truth (TypeScript API types and the chart's copy, from crds/).
	node operator/src/api/v1alpha1/generate.ts
	cp crds/*.yaml charts/llmobs/files/crds/

.PHONY: test-unit
test-unit: install ## Run only the tests that need no real component.
	node --test --test-reporter=spec $$(find operator/src processors/src crds test -name '*.test.ts' ! -name '*.it.test.ts' -not -path '*/node_modules/*' | sort)

##@ Real components (built once, cached outside the repo by version)

.PHONY: tools
tools: ## Build or install every real component the tests use.
	@for t in $(TOOLS); do test/harness/tools/build.sh $$t >/dev/null; done
	@test/harness/tools/install-debian.sh prometheus >/dev/null
	@test/harness/tools/python-venv.sh all >/dev/null

.PHONY: tool-paths
tool-paths: ## Print where each cached component lives.
	@for t in $(TOOLS); do test/harness/tools/build.sh $$t; done

.PHONY: soak
soak: install tools ## The 30-minute soak of issue #8 (CI runs the same test for 120 s): 70 % of saturation, periodic backend outages; writes $(or $(SOAK_RESULT),/tmp/llmobs-soak.json).
	LLMOBS_SOAK_SECONDS=1800 LLMOBS_SOAK_RESULT=$(or $(SOAK_RESULT),/tmp/llmobs-soak.json) node --test test/processor/soak.it.test.ts

.PHONY: clean-cache
clean-cache: ## Delete every cached build (Node, Go-built binaries, venvs, Debian extracts).
	rm -rf "$(LLMOBS_CACHE)"

##@ Benchmarks

.PHONY: bench
bench: bench-processor bench-pipeline bench-operator ## Every benchmark (~25 min); each rewrites its results in docs/benchmarks.md.

.PHONY: bench-processor
bench-processor: install ## The processor against the real Collector (~10 min): pass-through, cost + metrics, cardinality storm, redaction (BENCH_ARGS="...").
	node bench/passthrough.bench.ts $(BENCH_ARGS)

.PHONY: bench-pipeline
bench-pipeline: install ## Full LLM pipelines against the Collector's equivalents (~9 min): redaction, cost + metrics, tail sampling (PIPELINE_BENCH_ARGS="...").
	node bench/pipeline.bench.ts $(PIPELINE_BENCH_ARGS)

.PHONY: bench-operator
bench-operator: install tools ## The operator on a real control plane (~5 min): webhook latency at 100 pods/s, apiserver calls per admission, 500 resources, RSS with 10k pods (OPERATOR_BENCH_ARGS="...").
	node bench/operator.bench.ts $(OPERATOR_BENCH_ARGS)
