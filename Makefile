# tracecanary: every target sets up what it needs from a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

# Lambda runs python3.13: build the project's environment on it where the machine has it.
PYENV_ROOT := $(shell pyenv root 2>/dev/null)
PYTHON313 := $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
PYTHON ?= $(or $(PYTHON313),python3)
SAM_PYTHON ?= python3

VENV := .venv
VENV_SAM := .venv-sam
VENV_CHECKOV := .venv-checkov
BIN := $(VENV)/bin
# The machine's pip configuration names extra indexes that may be absent: keep their warnings out of the way.
PIP_QUIET := 2>&1 | { grep -v "^WARNING: Location 'file://" || true; }

CONFIG_ENV ?= default
PYTEST_ARGS ?=
# The functions' architecture for `make build` (template parameter Architecture: arm64 or x86_64); empty: the
# template's default. `make build ARCHITECTURE=x86_64` on an x86_64 machine makes the packages the local Lambda
# runs (tracecanary demo builds them into .lambda-cache/, see src/demo/lambda_package.py).
ARCHITECTURE ?=

.PHONY: help install install-sam install-checkov lint format typecheck test test-unit test-integration \
        test-infra build deploy demo bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements-dev.txt src/requirements.txt layers/opentelemetry/requirements.txt
	@echo "==> creating $(VENV) on $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip $(PIP_QUIET)
	$(BIN)/python -m pip install -q -r requirements-dev.txt $(PIP_QUIET)
	$(BIN)/python -m pip install -q --no-deps -e . $(PIP_QUIET)
	@touch $@

$(VENV_SAM)/.installed: requirements-sam.txt
	@echo "==> creating $(VENV_SAM) (SAM CLI pins its own boto3)"
	$(SAM_PYTHON) -m venv $(VENV_SAM)
	$(VENV_SAM)/bin/python -m pip install -q -r requirements-sam.txt $(PIP_QUIET)
	@touch $@

$(VENV_CHECKOV)/.installed: requirements-checkov.txt
	@echo "==> creating $(VENV_CHECKOV)"
	$(SAM_PYTHON) -m venv $(VENV_CHECKOV)
	$(VENV_CHECKOV)/bin/python -m pip install -q -r requirements-checkov.txt $(PIP_QUIET)
	@touch $@

install: $(VENV)/.installed  ## the project's virtual environment with the `tracecanary` command
install-sam: $(VENV_SAM)/.installed  ## SAM CLI (with cfn-lint) in its own virtual environment
install-checkov: $(VENV_CHECKOV)/.installed  ## checkov in its own virtual environment

lint: install  ## ruff lint and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

typecheck: install  ## mypy, strict
	$(BIN)/mypy

test-unit: install  ## unit tests: pure, no network
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: install  ## handlers in-process against a local moto server
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-infra: install install-sam install-checkov  ## the template: sam validate --lint, cfn-lint, checkov, policy checks
	TRACECANARY_SAM=$(abspath $(VENV_SAM))/bin/sam TRACECANARY_CFN_LINT=$(abspath $(VENV_SAM))/bin/cfn-lint \
	TRACECANARY_CHECKOV=$(abspath $(VENV_CHECKOV))/bin/checkov $(BIN)/pytest tests/infra $(PYTEST_ARGS)

test: lint typecheck test-unit test-integration test-infra  ## every suite and check (what CI runs)

build: install-sam  ## sam build (python3.13 on PATH, as the runtime needs)
	PATH="$(dir $(PYTHON313)):$$PATH" $(VENV_SAM)/bin/sam build --config-env $(CONFIG_ENV) \
	  $(if $(ARCHITECTURE),--parameter-overrides Architecture=$(ARCHITECTURE))

deploy: build  ## sam deploy with samconfig.toml's CONFIG_ENV (default|dev|prod); add --guided the first time
	$(VENV_SAM)/bin/sam deploy --config-env $(CONFIG_ENV)

demo: install  ## the whole loop locally against a moto server, no AWS account needed
	$(BIN)/tracecanary demo

bench: install  ## benchmarks; results go to BENCHMARKS.md by hand
	$(BIN)/python -m bench

clean:  ## remove virtual environments, build output and caches (the local Lambda's packages too)
	rm -rf $(VENV) $(VENV_SAM) $(VENV_CHECKOV) .aws-sam .demo .lambda-cache .pytest_cache .mypy_cache .ruff_cache \
	  .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
