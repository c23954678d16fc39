# orderflow developer interface (README, Make targets). `make up` runs the system, `make test` runs what CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# Every target runs on the Node.js release .nvmrc pins, fetched once into var/node/ from the npm
# registry (scripts/pinned-node.sh); the machine's own Node and npm only bootstrap it.
PINNED_NODE_BIN := $(shell bash scripts/pinned-node.sh)
export PATH := $(if $(PINNED_NODE_BIN),$(PINNED_NODE_BIN):)$(PATH)
export NX_DAEMON := false
export NX_NO_CLOUD := true

APPS := orchestrator order inventory notification
ENV := source scripts/env.sh &&

.PHONY: help install system-deps audit proto build typecheck lint lint-openapi test test-faults infra-up infra-down migrate seed up down run token asyncapi bench bench-compare soak clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# npm ci only when the lock file changed since the last install.
node_modules/.package-lock.json: package-lock.json
	bash scripts/install.sh
	@touch $@
install: node_modules/.package-lock.json ## Install npm dependencies (npm ci) if needed

system-deps: ## Install the Debian packages the tests need (curl, chromium, prometheus for promtool) if missing
	@bash scripts/system-deps.sh

audit: ## npm audit of the production dependencies; fails on a high or critical advisory
	npm audit --omit=dev --audit-level=high

proto: install ## Generate TypeScript from proto/ with buf + ts-proto
	@bash scripts/proto.sh

build: proto ## Bundle the four apps and the dev tools into dist/
	node scripts/build.mjs

typecheck: proto ## Type-check every project (the console's browser code has its own tsconfig: DOM, Preact JSX)
	npx tsc -p tsconfig.json
	npx tsc -p apps/orchestrator/src/console/app/tsconfig.json

lint: proto ## ESLint (with the architecture rules), the Prettier format check and buf lint
	npx eslint .
	npx prettier --check --log-level warn "**/*.{ts,tsx,mts,cts,js,mjs,cjs}" "apps/orchestrator/src/console/**/*.css"
	npx buf lint

lint-openapi: install ## Lint the OpenAPI document (generated from the zod schemas) with Redocly: no errors, no warnings
	@bash scripts/lint-openapi.sh

infra-up: ## Start PostgreSQL, Redis, RabbitMQ if down, and a local Kafka 3.9 broker
	@bash scripts/infra/up.sh

infra-down: ## Stop what infra-up started
	@bash scripts/infra/down.sh

migrate: build ## Create the four databases if missing and migrate them
	@$(ENV) node dist/tools/main.js migrate

seed: build ## Put the demo catalog in
	@$(ENV) node dist/tools/main.js seed

up: build ## Run everything: infra, migrate, seed, the four apps (Ctrl-C stops)
	@bash scripts/up.sh

down: ## Stop a `make up` running elsewhere
	@bash scripts/down.sh

run: build ## Run one app in the foreground: make run APP=order
	@case "$(APP)" in orchestrator|order|inventory|notification) ;; *) echo "run: APP must be one of: $(APPS)" >&2; exit 2;; esac
	@$(ENV) exec node --enable-source-maps --max-old-space-size=160 --max-semi-space-size=16 dist/$(APP)/main.js

# The dev tools' bundle alone, rebuilt only when a source it may bundle changed (not every app, not the
# generated proto code each time): `make token` answers at once, and concurrent calls do not race on dist/.
dist/tools/main.js: $(shell find tools/cli libs -name '*.ts' -not -name '*.test.ts' -not -path '*/gen/*') | node_modules/.package-lock.json
	@test -d libs/proto/src/gen || bash scripts/proto.sh
	@node scripts/build.mjs tools >/dev/null

token: dist/tools/main.js ## Print a dev JWT: make token SUB=alice ROLE=customer
	@$(ENV) node dist/tools/main.js token --sub "$(SUB)" --role "$(or $(ROLE),customer)"

test: install system-deps proto infra-up lint lint-openapi typecheck ## Everything CI runs: lint, types, unit, integration, end-to-end and fault tests
	@$(ENV) node scripts/build.mjs && node scripts/run-tests.mjs all

test-faults: install proto infra-up ## Only the fault tests (they stop and restart brokers; run one at a time)
	@$(ENV) node scripts/build.mjs && node scripts/run-tests.mjs faults

asyncapi: install ## Regenerate docs/asyncapi.yaml (AsyncAPI 3.0) from the zod schemas and topology in the code
	node scripts/build.mjs asyncapi && node dist/asyncapi/main.js

bench: build infra-up ## Load-test the system over REST (starts one if none runs); report in var/bench/
	@$(ENV) node dist/bench/main.js

bench-compare: build infra-up ## orderflow beside the floor and DBOS Transact, interleaved rounds (BENCH_ROUNDS, 3) and a SIGKILL round each; report in var/bench/compare.*
	@$(ENV) node dist/bench-compare/main.js

soak: build infra-up ## A steady order rate for SOAK_MINUTES (10) with table rows and RSS sampled; report in var/soak/
	@$(ENV) node dist/soak/main.js

clean: ## Remove build output (not var/, which holds Kafka data and logs)
	rm -rf dist .nx/cache
