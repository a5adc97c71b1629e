PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/gql_portal_test_{}
REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install lock lock-sync run migrate demo test test-sqlite test-postgres check lint typecheck schema bench clean

# The lock: every distribution with its version and hashes (pip-tools). `make install` and
# deployments install exactly these; `make lock` re-resolves them on purpose.
LOCK := requirements.txt
DEV_LOCK := requirements-dev.txt
COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --all-build-deps \
	--strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS)

$(STAMP): $(DEV_LOCK) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

## make lock: re-resolve both lock files (newest releases within pyproject.toml's ranges)
lock: install
	$(COMPILE) --upgrade -o $(LOCK) pyproject.toml
	$(COMPILE) --upgrade --extra test --extra dev -c $(LOCK) -o $(DEV_LOCK) pyproject.toml

## make lock-sync: after editing pyproject.toml's dependencies, keep every other pin
lock-sync: install
	$(COMPILE) -o $(LOCK) pyproject.toml
	$(COMPILE) --extra test --extra dev -c $(LOCK) -o $(DEV_LOCK) pyproject.toml

migrate: install
	$(BIN)/gql-portal migrate

demo: migrate
	$(BIN)/gql-portal demo

## make run [HOST=127.0.0.1] [PORT=8000]: install, migrate, seed the demo domain, serve (GraphiQL at /graphql)
HOST ?= 127.0.0.1
PORT ?= 8000
run: demo
	$(BIN)/gql-portal serve --host $(HOST) --port $(PORT)

## make test: the suite with the fast path on and off (GQL_PORTAL_FAST_PATH), each on SQLite
## and, when both answer, on PostgreSQL + Redis: four passes, then the ones that failed
test: install
	@backends=sqlite; if $(BIN)/python -m tests.services_up "$(PG_URL)" "$(REDIS_URL)"; then \
		backends="sqlite postgres"; \
	else \
		echo "PostgreSQL or Redis is not answering: skipped the PostgreSQL + Redis passes"; \
		test -z "$$CI" || exit 1; \
	fi; \
	failed=; for fast in on off; do for backend in $$backends; do \
		urls=; test $$backend = sqlite || \
			urls="GQL_PORTAL_TEST_DATABASE_URL=$(PG_URL) GQL_PORTAL_TEST_REDIS_URL=$(REDIS_URL)"; \
		echo "== make test: fast path $$fast, $$backend"; \
		env GQL_PORTAL_FAST_PATH=$$fast $$urls $(BIN)/pytest -q || failed="$$failed $$fast/$$backend"; \
	done; done; \
	test -z "$$failed" || { echo "== make test: failed passes (fast path/backend):$$failed"; exit 1; }

test-sqlite: install
	$(BIN)/pytest -q

test-postgres: install
	GQL_PORTAL_TEST_DATABASE_URL="$(PG_URL)" GQL_PORTAL_TEST_REDIS_URL="$(REDIS_URL)" $(BIN)/pytest -q

check: install
	$(BIN)/ruff check gql_portal workers tests bench
	$(BIN)/ruff format --check gql_portal workers tests bench
	$(BIN)/mypy

schema: install
	$(BIN)/gql-portal export-schema --output schema.graphql

bench: install
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
