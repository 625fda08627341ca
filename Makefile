# jupyter_ctr: two-command setup.  `make test` or `make demo` on a fresh Debian 12 machine.
#
#   make setup   host packages, CRIU 4.1.1, .venv (idempotent, a few seconds when done)
#   make test    setup, then ruff + mypy + pytest (what .ci/run does)
#   make demo    setup, then JupyterLab on 127.0.0.1, port PORT (8888)
#   make bench   setup, then every bench/*.py (podman peer uses bench/containers.conf)
#   make stress  setup, then the long reliability run: kills mid-verb, concurrency, REST fuzz
#   make lint    setup, then ruff + mypy
#   make clean   remove .venv
#
# Variables: PORT=8888, PYTEST_ARGS="-k foo", SETUP_ARGS="--quiet --skip=image",
# STRESS_ARGS="--seed 7 --kills-per-verb 100 --requests 10000" (the long run's size);
# the environment variables of scripts/setup.sh (SETUP_SKIP, SETUP_QUIET, ...) work too.

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
VENV := $(ROOT)/.venv
PY   := $(VENV)/bin/python
PORT ?= 8888
PYTEST_ARGS ?=
SETUP_ARGS ?=
STRESS_ARGS ?= --kills-per-verb 100 --requests 10000 --workers 6 --ops 400
LINT_PATHS := jupyter_ctr tests bench

SHELL := /bin/bash
MAKEFLAGS += --no-print-directory
.DEFAULT_GOAL := help
.PHONY: help setup test demo bench stress lint clean

help:
	@sed -n '3,9s/^#  *//p' $(lastword $(MAKEFILE_LIST))

setup:
	@$(ROOT)/scripts/setup.sh $(SETUP_ARGS)

# ruff, mypy and pytest all run, so one CI run reports everything; the recipe fails with
# pytest's exit code, or with the linters' when pytest passed.
test: setup
	@cd $(ROOT); lint=0; \
	$(VENV)/bin/ruff check --output-format=concise $(LINT_PATHS) || lint=$$?; \
	$(VENV)/bin/mypy || lint=$$?; \
	rc=0; $(PY) -m pytest -q tests $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 0 ] && [ $$lint -ne 0 ]; then echo "test: pytest passed, but ruff/mypy failed" >&2; rc=$$lint; fi; \
	exit $$rc

lint: setup
	@cd $(ROOT); rc=0; \
	$(VENV)/bin/ruff check --output-format=concise $(LINT_PATHS) || rc=$$?; \
	$(VENV)/bin/mypy || rc=$$?; \
	exit $$rc

demo: setup
	@cd $(ROOT) && exec $(VENV)/bin/jupyter lab --allow-root --no-browser --ip=127.0.0.1 \
		--port=$(PORT) --ServerApp.root_dir=notebooks

bench: setup
	@cd $(ROOT); export CONTAINERS_CONF=$(ROOT)/bench/containers.conf; rc=0; n=0; \
	for f in bench/*.py; do \
		[ -e "$$f" ] || continue; n=$$((n + 1)); \
		echo "bench: $$f"; $(PY) "$$f" || { rc=$$?; echo "bench: $$f failed (exit $$rc)" >&2; }; \
	done; \
	[ $$n -gt 0 ] || echo "bench: no bench/*.py yet"; \
	exit $$rc

# Tens of minutes; exits 1 if anything was found. The figures go to stdout, each finding's
# repro line to stderr as it is found, and everything to .build/stress.json.
stress: setup
	@cd $(ROOT) && mkdir -p .build && \
	$(PY) -m tests.reliability all $(STRESS_ARGS) --json .build/stress.json

clean:
	rm -rf $(VENV)
