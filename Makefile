# nestlab: the verbs a person types. Every target sets up what it needs first.
#   make demo   deploy and destroy a zPod on the vSphere simulator, end to end
#   make test   the whole test suite (real Redis, SQLite and PostgreSQL, the simulator)
#   make run    the stack in the foreground (API on $NESTLAB_PORT, default 8080)
#   make bench  benchmarks, printing figures
#   make lint   ruff
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help setup system venv simulator demo test run bench lint compose-check clean

help:
	@sed -n '2,7p' Makefile | sed 's/^# //'

setup: system venv simulator

system:
	@bash tools/setup-system.sh

$(BIN)/python:
	@echo "==> creating the virtual environment in $(VENV)"
	@$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "==> installing nestlab and its dependencies (pip)"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test,server]'
	@touch $(STAMP)

venv: $(STAMP)

simulator:
	@echo "==> vSphere simulator: $$(bash tools/vcsim/build.sh)"

demo: setup
	@$(BIN)/python -m nestlab.demo

test: setup
	@$(BIN)/python -m tests.run_suite $(PYTEST_ARGS)

run: setup
	@$(BIN)/python -m nestlab.run

bench: setup
	@$(BIN)/python -m bench

lint: venv
	@$(BIN)/ruff check .

# `docker compose config` needs no engine; without the plugin, Debian's docker-compose
# (installed here when missing) reads the same file.
compose-check:
	@if docker compose version >/dev/null 2>&1; then docker compose config --quiet; \
	else command -v docker-compose >/dev/null || { echo "==> installing docker-compose"; \
	  $$([ "$$(id -u)" -eq 0 ] || echo sudo) apt-get install -y -qq docker-compose >/dev/null; }; \
	  NESTLAB_SECRET_KEY=compose-check docker-compose config --quiet; fi && echo "compose.yaml: ok"

clean:
	rm -rf var/demo var/go-cache .pytest_cache
