# Aftercare — `make run` to try it, `make test` to test it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first Python >= 3.12 on the PATH (pyenv's shims honour .python-version).
PYTHON_CANDIDATES := python3.14 python3.13 python3.12 python3 python
PYTHON ?= $(shell for p in $(PYTHON_CANDIDATES); do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= auto
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/aftercare
# make run PORT=8001: served there, and the printed sign-in links point there too.
PORT ?= 8000

.PHONY: help run test test-sqlite test-postgres lint format bench lock clean

help:
	@echo "make run    set up, load the demo clinic and serve http://127.0.0.1:$(PORT)"
	@echo "make test   the whole test suite (SQLite; in CI also PostgreSQL)"
	@echo "make lint   ruff and mypy"
	@echo "make bench  latencies and the dashboard's growth, against gunicorn"

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "Aftercare needs Python 3.12 or newer and none was found on the PATH."; \
		echo "Install one (Debian 13: apt-get install python3 python3-venv; or pyenv install 3.13)"; \
		echo "or name it: make PYTHON=/path/to/python3.13 run"; exit 1; fi
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

# The task worker runs beside the server (it sends the emailed sign-in links and the
# reminders), and stops with it.
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --verbosity 0
	$(BIN)/python manage.py demo --long-term
	$(BIN)/python manage.py db_worker --no-startup-delay --verbosity 0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT; \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q
ifeq ($(CI),true)
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q
endif

test-postgres: $(VENV)/.installed
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

# Latency of the main pages against gunicorn, on a scratch database (scripts/bench/,
# docs/benchmark.md);
# e.g. make bench BENCH_ARGS="--database-url postgres://postgres@127.0.0.1:5432/aftercare_bench"
bench: $(VENV)/.installed
	$(BIN)/python -m scripts.bench $(BENCH_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin every dependency from pyproject.toml into requirements.lock.
lock: $(BIN)/python
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet $$(.lock-venv/bin/python -c \
		'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); \
		print(" ".join(repr(d) for d in p["project"]["dependencies"] + p["dependency-groups"]["dev"]))' | tr -d "'")
	.lock-venv/bin/python -m pip freeze --exclude pip > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) staticfiles
