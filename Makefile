# Dotoro Studio — `make run` (embedded studio) and `make test` (whole suite on real Postgres + Redis).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
HOST ?= 127.0.0.1
SERVICES_DIR ?= .dotoro/services

.PHONY: run test install install-dev lock migrate services services-stop worker lint bench maintenance

# Packages come from uv.lock (the whole tree pinned; direct dependencies live in pyproject.toml): one
# resolver-free `uv sync` into .venv. uv itself is installed from PyPI when missing, once per version and user
# (beside uv's own cache, so every clone shares it); UV=uv uses yours.
# --inexact: packages a developer added by hand stay; everything the lock names is installed at its version.
UV_VERSION := 0.13.8
UV_TOOL := $(or $(HOME),.)/.cache/dotoro/uv-$(UV_VERSION)
UV ?= $(UV_TOOL)/bin/uv
UV_DEP := $(if $(filter $(UV_TOOL)/bin/uv,$(UV)),$(UV_TOOL)/bin/uv)
SYNC := $(UV) sync --locked --inexact --python $(PYTHON) --quiet
export UV_PYTHON_DOWNLOADS ?= never

$(UV_TOOL)/bin/uv:
	PIP_ROOT_USER_ACTION=ignore $(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(UV_TOOL) uv==$(UV_VERSION)

install: | $(UV_DEP)
	$(SYNC) --no-dev
install-dev: | $(UV_DEP)
	$(SYNC)

## lock: after changing a dependency in pyproject.toml: re-resolve uv.lock and regenerate requirements.txt from it
lock: | $(UV_DEP)
	$(UV) lock
	$(UV) export --frozen --no-hashes --no-dev --no-emit-project --quiet -o requirements.txt

migrate: install
	$(BIN)/python -m studio.store.migrate upgrade

## run: the studio on the embedded store (SQLite + Parquet under .dotoro/, jobs in-process); the same port
## serves POST /stripe/webhook, /oauth/reddit/callback, /healthz and /readyz (server.py)
run: migrate
	@echo "Dotoro Studio: http://$(HOST):$(PORT)"
	$(BIN)/streamlit run server.py --server.address $(HOST) --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

## test: installs what is missing (Python packages, postgresql, redis-server, chromium), runs everything
test: install-dev
	scripts/services.sh install
	scripts/services.sh run $(BIN)/python -m pytest $(PYTEST_ARGS)

## services: a durable Postgres (fsync, scram passwords) + Redis (AOF) for the team mode; `. .dotoro/services/env` then `make migrate`
services:
	WITH_BROWSER=0 scripts/services.sh install
	DURABLE=1 scripts/services.sh start $(SERVICES_DIR)
	@echo "now: . $(SERVICES_DIR)/env && export SECRET_KEY=... && make migrate run  (and make worker)"

services-stop:
	scripts/services.sh stop $(SERVICES_DIR)

## worker: an RQ worker (with the scheduler and the periodic jobs) on REDIS_URL; start as many as you like
worker: install
	$(BIN)/python -m workers.worker

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install-dev
	$(BIN)/python bench/bench_engine.py

## maintenance: audit retention by plan, now (the workers' scheduler also runs it daily)
maintenance: install
	$(BIN)/python -m workers.maintenance
