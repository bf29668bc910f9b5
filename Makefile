# Workshop Sales Hub — `make run` serves the demo at http://127.0.0.1:8000; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run install install-test bytecode migrate seed serve test lint typecheck bench clean services

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { echo "Python venv support is missing: apt-get install python3-venv"; exit 1; }
	@$(BIN)/python -m pip install -q --upgrade pip uv

# Bytecode is compiled at install: this machine (and CI) set PYTHONDONTWRITEBYTECODE, so without it every process
# (server, worker, test subprocess) compiles the whole dependency tree again: ~12 s of CPU per start instead of ~4.
$(STAMP): pyproject.toml | $(BIN)/python
	@$(BIN)/uv pip install -q --compile-bytecode -p $(BIN)/python -e . || $(BIN)/python -m pip install -q -e .
	@bash scripts/ensure-fonts.sh
	@touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	@$(BIN)/uv pip install -q --compile-bytecode -p $(BIN)/python -e ".[test]" || $(BIN)/python -m pip install -q -e ".[test]"
	@touch $(STAMP) $@

install: $(STAMP)

# Our own sources change between runs; compileall only rewrites what changed (well under a second when nothing did).
bytecode:
	@$(BIN)/python -m compileall -q -j 0 shop catalog livestream logistics search migrations bench tests >/dev/null

install-test: $(TEST_STAMP)

migrate: install bytecode
	@$(BIN)/hub migrate

seed: migrate
	@$(BIN)/hub seed --demo

run: seed
	@$(BIN)/hub serve --host $(HOST) --port $(PORT)

services:
	@bash scripts/ensure-services.sh

test: install-test bytecode
	@source scripts/ensure-services.sh && bash scripts/ensure-browser.sh && bash scripts/ensure-fonts.sh && \
		$(BIN)/python -m pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

lint: install-test
	@$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy shop catalog search livestream logistics

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
