# Dotoro Studio — `make run` (embedded studio) and `make test` (whole suite on real Postgres + Redis).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
HOST ?= 127.0.0.1
SERVICES_DIR ?= .dotoro/services

.PHONY: run test install install-dev migrate services services-stop worker webhooks lint bench maintenance

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python -m studio.store.migrate upgrade

## run: the studio on the embedded store (SQLite + Parquet under .dotoro/, jobs in-process)
run: migrate
	@echo "Dotoro Studio: http://$(HOST):$(PORT)"
	$(BIN)/streamlit run app.py --server.address $(HOST) --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

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

## webhooks: the Stripe webhook receiver (POST /stripe/webhook) on WEBHOOK_HOST:WEBHOOK_PORT; needs STRIPE_WEBHOOK_SECRET
WEBHOOK_HOST ?= 127.0.0.1
WEBHOOK_PORT ?= 8502
webhooks: install
	$(BIN)/python -m studio.billing.webhook_server --host $(WEBHOOK_HOST) --port $(WEBHOOK_PORT)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy engine studio workers --ignore-missing-imports --exclude studio/ui/

bench: install-dev
	$(BIN)/python bench/bench_engine.py

## maintenance: audit retention by plan, now (the workers' scheduler also runs it daily)
maintenance: install
	$(BIN)/python -m workers.maintenance
