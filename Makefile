# featurelake: `make demo` builds and shows the whole lake; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.featurelake-installed

.PHONY: airflow setup demo test lint typecheck pytest services check-java check-python clean bench

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt infra/jars.lock infra/kafka.lock infra/webassets.lock.json | check-python check-java
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	@# pyspark and pyspark-client (needed by the Spark provider) ship the same files: reinstall the full one last
	$(BIN)/python -m pip install -q --no-deps --force-reinstall -c constraints.txt pyspark
	$(BIN)/python -c "import featurelake.sql as s; s.install_delta_extension()"
	@# Delta Lake, spark-avro and the Kafka source for Spark (infra/jars.lock), and the Kafka
	@# broker (infra/kafka.lock, into .jars/kafka): fetched once, checked against the locks,
	@# never downloaded at run time (FEATURELAKE_MAVEN_REPO names a mirror)
	$(BIN)/python -m featurelake.jars fetch
	@# Spark's classes parsed and verified once (featurelake.cds): each Spark driver starts in
	@# about half the CPU; without the archive drivers start as before
	$(BIN)/python -m featurelake.cds build
	@# the CSS and JavaScript of GX Data Docs (infra/webassets.lock.json), from the npm registry
	$(BIN)/python -m featurelake.webassets fetch
	@touch $(STAMP)

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || { \
	  echo "featurelake needs Python 3.11 or newer ($(PYTHON) is $$($(PYTHON) --version 2>&1)); set PYTHON=python3.11"; exit 1; }

check-java:
	@command -v java >/dev/null || { echo "Java 17+ is required by Spark and was not found."; \
	  echo "  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless"; \
	  echo "  macOS:         brew install openjdk@17"; exit 1; }
	@v=$$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1); \
	  [ "$${v:-0}" -ge 17 ] || { echo "Java $$v found; Spark 4 needs Java 17 or newer (apt-get install openjdk-17-jre-headless)"; exit 1; }

demo: setup
	$(BIN)/featurelake demo

services:
	@infra/services.sh
	@infra/browser.sh

lint: setup
	$(BIN)/ruff check src tests benchmarks spark_jobs dags
	$(BIN)/ruff format --check src tests benchmarks spark_jobs dags

typecheck: setup
	$(BIN)/mypy src

# Two workers, one per core: the suite keeps both cores busy (98 % of every 5 s sample), so a
# third worker only shares them.
# tests/conftest.py hands out whole files (groups of files that share a service's state).
PYTEST_WORKERS ?= 2

pytest: setup services
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test: setup services lint typecheck pytest

bench: setup
	$(BIN)/python -m benchmarks.delta_write

clean:
	rm -rf lake .pytest_cache .mypy_cache .ruff_cache

airflow: setup
	$(BIN)/featurelake airflow

# A Spark standalone cluster on this machine for the prod profile (master UI on :8081; Airflow has :8080).
.PHONY: cluster-up cluster-down cluster-status
WORKERS ?= 2
CORES ?= 1
WORKER_MEMORY ?= 2g

cluster-up: setup
	$(BIN)/featurelake cluster up --workers $(WORKERS) --cores $(CORES) --memory $(WORKER_MEMORY)

cluster-down:
	$(BIN)/featurelake cluster down

cluster-status:
	$(BIN)/featurelake cluster status
