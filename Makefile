# Quick start: `make run` (set-up + the main job) and `make test` (set-up + every test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell $(PYTHON) -c 'import hashlib,sys;print(hashlib.sha1(open("pyproject.toml","rb").read()).hexdigest()[:12])')
# The optional Dagster and metrics extras: installed for `make test` (their tests must run), not for `make run`.
DAGSTER_STAMP := $(subst .installed-,.dagster-,$(STAMP))

# Snowflake and BigQuery stand-ins (fakesnow, dbt-snowflake, dbt-bigquery) in their own venv: fakesnow pins a
# sqlglot that conflicts with the project's. `make test` runs tests/warehouses/ there.
WH_VENV  := .venv-warehouses
WH_STAMP := $(WH_VENV)/.installed-$(shell cat requirements/warehouses.txt pyproject.toml | $(PYTHON) -c 'import hashlib,sys;print(hashlib.sha1(sys.stdin.buffer.read()).hexdigest()[:12])')

# The BigQuery stand-in (bqemulator, dbt-bigquery) in its own venv: bqemulator pins duckdb 1.5 and a sqlglot that
# conflict with both venvs above. `make test` runs tests/bigquery_emulator/ there, after tests/warehouses/.
BQ_VENV  := .venv-bigquery
BQ_STAMP := $(BQ_VENV)/.installed-$(shell cat requirements/bigquery.txt pyproject.toml | $(PYTHON) -c 'import hashlib,sys;print(hashlib.sha1(sys.stdin.buffer.read()).hexdigest()[:12])')

# Bytecode for every installed module, on both cores, once: a machine with PYTHONDONTWRITEBYTECODE set (this one, CI)
# never writes it, so each process compiled what it imported from source again (the suite took ~15% more CPU).
compile = $(1)/bin/python -m compileall -q -j 0 $(1)/lib > /dev/null

# A stand-in's venv $(1) from its pins $(2), the project on top without its dependencies (their versions are in $(2)).
define stand_in_venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/pip install --quiet --upgrade pip
	$(1)/bin/pip install --quiet --no-compile -r $(2)
	$(1)/bin/pip install --quiet --no-compile --no-deps -e .
	$(call compile,$(1))
	rm -f $(1)/.installed-*
endef

.PHONY: services setup setup-dagster setup-warehouses setup-bigquery test-bigquery run demo test lint bench soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -e ".[dev]"
	$(call compile,$(VENV))
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

$(DAGSTER_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --no-compile -e ".[dev,dagster,metrics]"
	$(call compile,$(VENV))
	rm -f $(VENV)/.dagster-*
	touch $(DAGSTER_STAMP)

setup-dagster: $(DAGSTER_STAMP)

$(WH_STAMP): requirements/warehouses.txt pyproject.toml
	$(call stand_in_venv,$(WH_VENV),requirements/warehouses.txt)
	touch $(WH_STAMP)

setup-warehouses: $(WH_STAMP)

$(BQ_STAMP): requirements/bigquery.txt pyproject.toml
	$(call stand_in_venv,$(BQ_VENV),requirements/bigquery.txt)
	touch $(BQ_STAMP)

setup-bigquery: $(BQ_STAMP)

## The BigQuery stand-in's tests alone (bqemulator's own pytest plugin needs testcontainers: not loaded).
BQ_PYTEST := $(BQ_VENV)/bin/python -m pytest -p no:bqemulator tests/bigquery_emulator --durations=5
test-bigquery: setup-bigquery
	$(BQ_PYTEST)

## The main job: the real sync when an API key is configured, otherwise the demo (emulator -> DuckDB).
run: setup
	$(BIN)/leadpanther-elt start

demo: setup
	$(BIN)/leadpanther-elt demo

## Every test, against the emulator, a DuckDB file, the local PostgreSQL and headless Chromium. Three workers
## on two cores (pytest-xdist; a test file stays on one worker, so its module fixtures load once): much of a test's time is
## spent waiting on dbt's child process, the emulator or PostgreSQL. TEST_WORKERS=0 runs them in one process.
## Workers take files heaviest first, by tests/file_durations.json (tests/file_order.py; refresh it with
## `.venv/bin/pytest -n 3 --dist loadfile --no-loadscope-reorder --record-file-durations`).
## The Snowflake/BigQuery stand-in tests (their own venvs, one after the other) run beside the main suite, their
## output printed after it (data/warehouse-tests.log); `make test` fails if any fails.
TEST_WORKERS ?= 3
WH_LOG := data/warehouse-tests.log
## The four venvs and the test services are set up side by side (independent but for .venv before its Dagster
## extra; the time saved: docs/testing.md).
services:
	bash scripts/ensure-test-services.sh

test:
	$(MAKE) --no-print-directory -j5 setup setup-dagster setup-warehouses setup-bigquery services
	$(BIN)/ruff check .
	@mkdir -p data; ( $(WH_VENV)/bin/python -m pytest tests/warehouses --durations=5; w=$$?; $(BQ_PYTEST) && exit $$w ) > $(WH_LOG) 2>&1 & warehouses=$$!; \
	main=0; $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=20 || main=$$?; \
	other=0; wait $$warehouses || other=$$?; \
	echo "== tests/warehouses ($(WH_VENV)) and tests/bigquery_emulator ($(BQ_VENV)), run beside the suite above =="; \
	cat $(WH_LOG); test $$main -eq 0 && test $$other -eq 0

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check sources pipelines

## The property-based bad-input tests with many examples and shrinking (CI runs a few of each).
soak: setup
	LP_FAULT_EXAMPLES=$${LP_FAULT_EXAMPLES:-300} LP_FAULT_SHRINK=1 $(BIN)/pytest tests/unit/test_record_building.py tests/faults/test_bad_input.py -k "never_crash or row_or_quarantined" -p no:cacheprovider

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf data/pipelines data/*.duckdb data/*.html
