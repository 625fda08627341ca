# jupyter_ctr: two-command setup.  `make test` or `make demo` on a fresh Debian 12 machine.
#
#   make setup   host packages, CRIU 4.1.1, .venv (idempotent, a few seconds when done)
#   make test    setup, then ruff + mypy + TypeScript checks + pytest (what .ci/run does)
#   make demo    setup, the Python image once, then JupyterLab on 127.0.0.1, port PORT (8888)
#   make labext  build the JupyterLab extension (labextension/ -> jupyter_ctr/labextension)
#   make bench   setup, then every bench/*.py (podman peer uses bench/containers.conf)
#   make stress  setup, then the long reliability run: kills mid-verb, concurrency, REST fuzz
#   make lint    setup, then ruff + mypy + TypeScript checks (tsc, eslint, unit tests)
#   make clean   remove .venv
#
# Variables: PORT=8888, PYTEST_ARGS="-k foo", SETUP_ARGS="--quiet --skip=image",
# STRESS_ARGS="--seed 7 --kills-per-verb 100 --requests 10000" (the long run's size),
# NO_PYTHON_IMAGE=1 (make demo without building localhost/python:3);
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
LABEXT := $(ROOT)/labextension
# jlpm and the builder's `jupyter-builder` CLI live in the venv; CI=true keeps the lockfile fixed.
JLPM := cd $(LABEXT) && PATH=$(VENV)/bin:$$PATH $(VENV)/bin/jlpm
# Tests and `make demo` load the extension from this tree's build, not from the venv's copy
# (`pip install -e .` copies it once; this link always shows the latest `make labext`).
LAB_PATH := $(ROOT)/.build/jupyter

.PHONY: help setup test demo python-image bench stress lint clean labext labext-check

help:
	@sed -n '3,10s/^#  *//p' $(lastword $(MAKEFILE_LIST))

setup:
	@$(ROOT)/scripts/setup.sh $(SETUP_ARGS)

# The extension is built first (the browser tests need it; a failed build stops here). ruff,
# mypy, the TypeScript checks and pytest all run, so one CI run reports everything; the recipe
# fails with pytest's exit code, or with the linters' when pytest passed.
test: setup labext
	@cd $(ROOT); lint=0; \
	$(VENV)/bin/ruff check --output-format=concise $(LINT_PATHS) || lint=$$?; \
	$(VENV)/bin/mypy || lint=$$?; \
	$(MAKE) labext-check || lint=$$?; \
	rc=0; $(PY) -m pytest -q tests $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 0 ] && [ $$lint -ne 0 ]; then echo "test: pytest passed, but ruff/mypy/TypeScript checks failed" >&2; rc=$$lint; fi; \
	exit $$rc

lint: setup
	@cd $(ROOT); rc=0; \
	$(VENV)/bin/ruff check --output-format=concise $(LINT_PATHS) || rc=$$?; \
	$(VENV)/bin/mypy || rc=$$?; \
	$(MAKE) labext-check || rc=$$?; \
	exit $$rc

# Build the extension (a few seconds; `jlpm install` is quick once node_modules is there) and
# link it where JUPYTER_PATH=$(LAB_PATH) finds it first.
labext: setup
	@mkdir -p $(ROOT)/.build && ($(JLPM) install && $(JLPM) build:prod) >$(ROOT)/.build/labext.log 2>&1 \
		|| { tail -n 30 $(ROOT)/.build/labext.log >&2; echo "labext: build failed (log: .build/labext.log)" >&2; exit 1; }
	@echo "labext: built jupyter_ctr/labextension"
	@mkdir -p $(LAB_PATH)/labextensions && ln -sfn $(ROOT)/jupyter_ctr/labextension $(LAB_PATH)/labextensions/jupyter-ctr

# tsc --noEmit (strict), eslint (typescript-eslint, type-aware) and the TS unit tests (node --test).
labext-check:
	@mkdir -p $(ROOT)/.build && $(JLPM) install >$(ROOT)/.build/labext-install.log 2>&1 \
		|| { tail -n 30 $(ROOT)/.build/labext-install.log >&2; echo "labext: jlpm install failed" >&2; exit 1; }
	@$(JLPM) typecheck && $(JLPM) lint && $(JLPM) test >/dev/null && echo "labext: tsc, eslint and unit tests passed"

# The labs' Python image (Debian 12 + python3, pip; mmdebstrap, a minute or two the first
# time, cached in /var/cache/jupyter-ctr/debian): built when missing, unless NO_PYTHON_IMAGE
# is set. A failed build only warns: the lab still starts with the demo busybox image.
PYTHON_IMAGE := localhost/python:3
python-image: setup
	@if [ -n "$(NO_PYTHON_IMAGE)" ]; then echo "demo: NO_PYTHON_IMAGE set: not building $(PYTHON_IMAGE)"; \
	elif $(VENV)/bin/jupyter-ctr image inspect $(PYTHON_IMAGE) >/dev/null 2>&1; then :; \
	else echo "demo: building $(PYTHON_IMAGE) (jupyter-ctr image build-debian)"; \
		$(VENV)/bin/jupyter-ctr image build-debian --name $(PYTHON_IMAGE) >/dev/null \
		|| echo "demo: WARNING: could not build $(PYTHON_IMAGE); the lab starts without it" >&2; fi

demo: setup labext python-image
	@cd $(ROOT) && JUPYTER_PATH=$(LAB_PATH)$${JUPYTER_PATH:+:$$JUPYTER_PATH} exec $(VENV)/bin/jupyter lab --allow-root --no-browser --ip=127.0.0.1 \
		--port=$(PORT) --ServerApp.root_dir=notebooks

bench: setup labext
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
