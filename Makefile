# The two commands a newcomer needs: `make run` and `make test`. Both bootstrap .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every dependency, pinned with hashes: `make` installs from it, `make lock` regenerates it.
LOCK := requirements.lock
UV_VERSION := 0.13.9
# The Azure Storage emulator the collector's integration tests run against, from npm, in build/.
AZURITE := build/azurite/node_modules/.bin/azurite
AZURITE_VERSION := 3.35.0
# checkov scans the Terraform module of Download Scripts. It brings ~100 packages (boto3, aiohttp,
# networkx...) with pins of their own, so it lives in its own virtualenv, also in build/.
CHECKOV := build/checkov/bin/checkov
CHECKOV_VERSION := 3.3.30
# The portal's browser tests drive Debian's Chromium through Playwright (never a downloaded browser).
CHROMIUM := /usr/bin/chromium

.PHONY: run test check bench clean lock postgresql

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# After changing a dependency in pyproject.toml: every package pinned, with the hashes of all its
# files, for Python 3.11 on any platform (uv resolves; pip installs with --require-hashes).
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra clickhouse --generate-hashes --universal \
		--python-version 3.11 --quiet -o $(LOCK)

# The whole product on one machine (flowcdr demo): gateway, simulated storage account, collector.
# DEMO_ARGS passes options, e.g. make run DEMO_ARGS="--duration 120 --port 8090".
DEMO_ARGS ?=
run: $(STAMP)
	$(BIN)/flowcdr demo $(DEMO_ARGS)

check: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/python scripts/audit.py $(LOCK)

$(AZURITE):
	npm install --prefix build/azurite --no-audit --no-fund --loglevel=error --save-exact azurite@$(AZURITE_VERSION)

$(CHECKOV):
	$(PYTHON) -m venv build/checkov
	build/checkov/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The control-plane tests start a PostgreSQL server of their own (initdb + pg_ctl in a temporary
# folder, as the postgres account the package creates): Debian's server binaries, if missing.
postgresql:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)

test: check $(AZURITE) $(CHECKOV) $(CHROMIUM) postgresql
	$(BIN)/pytest

bench: $(STAMP) $(AZURITE)
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py
	$(BIN)/python bench/portal.py
	$(BIN)/python bench/collect.py
	$(BIN)/python bench/detect.py
	$(BIN)/python bench/detect_eval.py
	$(BIN)/python bench/detect_ttd.py
	$(BIN)/python bench/simulate.py

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache
