# Two commands matter: `make dashboard` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8866
PYTEST_ARGS ?=
SERVICE_PORT ?= 8787
# Megabytes of model weights the shared model service keeps loaded (empty: no limit)
SERVICE_BUDGET_MB ?=
SHELL := /bin/bash

.PHONY: install dashboard test lint benchmark loadtest clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[dev]"
	touch $@

# One model service for every page (models load once per machine), then Voila; stopping Voila
# stops the service too.
dashboard: install
	$(VENV)/bin/speechlab service start --port $(SERVICE_PORT) --preload default \
		$(if $(SERVICE_BUDGET_MB),--budget-mb $(SERVICE_BUDGET_MB))
	trap '$(VENV)/bin/speechlab service stop --port $(SERVICE_PORT) >/dev/null' EXIT; \
	SPEECHLAB_SERVICE=tcp://127.0.0.1:$(SERVICE_PORT) SPEECHLAB_SERVICE_AUTOSTART=1 \
	SPEECHLAB_SERVICE_PRELOAD=default \
	$(VENV)/bin/voila notebooks/dashboards --no-browser --Voila.ip=$(HOST) --port=$(PORT) \
		--Voila.config_file_paths=notebooks/dashboards

test: install
	$(PY) -m ruff check lab widgets tests benchmarks loadtest tools
	$(PY) -m ruff format --check lab widgets tests benchmarks loadtest tools
	$(PY) -m mypy
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check --fix lab widgets tests benchmarks loadtest tools
	$(PY) -m ruff format lab widgets tests benchmarks loadtest tools
	$(PY) -m mypy

benchmark: install
	$(PY) -m benchmarks.run

loadtest: install
	$(PY) -m loadtest

clean:
	rm -rf $(VENV) .pytest_cache test-output
