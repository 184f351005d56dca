# The hotline on one machine: `make run` starts it, `make test` checks it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

APP_VENV := .venv
ENGINE_VENV := .venv-engine
APP_PYTHON ?= python3
APP := $(APP_VENV)/bin
ENGINE := $(ENGINE_VENV)/bin

.PHONY: help run test install model lint check-docs clean cluster

help:
	@echo "make run    install what is missing, train the model if its data changed, start engine and app"
	@echo "make test   the whole test suite (real engine, real database, real browser)"
	@echo "make lint   ruff and mypy"
	@echo "make cluster  two apps, two engines, PostgreSQL, Redis and nginx as plain processes (Ctrl-C stops)"

# Each venv is brought up to date when its requirements change; the stamp
# records it. The constraints files pin every transitive package to the
# versions the suite last passed with (regenerate with `pip freeze`).
$(APP_VENV)/.installed: pyproject.toml constraints-app.txt
	@echo "==> [1/2] App environment ($(APP_VENV), $$($(APP_PYTHON) --version)): installing..."
	@test -x $(APP)/python || $(APP_PYTHON) -m venv $(APP_VENV)
	@$(APP)/python -m pip install --quiet --upgrade pip
	@$(APP)/python -m pip install --progress-bar on -c constraints-app.txt -e '.[dev]'
	@touch $@
	@echo "==> App environment ready."

$(ENGINE_VENV)/.installed: requirements-engine.txt constraints-engine.txt
	@PY310=$$(scripts/find-python310) && \
	  echo "==> [2/2] Engine environment ($(ENGINE_VENV), $$($$PY310 --version)): installing Rasa 3.6 (about 2 minutes, 2.7 GB)..." && \
	  { test -x $(ENGINE)/python || $$PY310 -m venv $(ENGINE_VENV); }
	@$(ENGINE)/python -m pip install --quiet --upgrade pip wheel
	@$(ENGINE)/python -m pip install --progress-bar on -r requirements-engine.txt -c constraints-engine.txt
	@touch $@
	@echo "==> Engine environment ready."

install: $(APP_VENV)/.installed $(ENGINE_VENV)/.installed

# Trains only when the fingerprint of the training inputs has no model yet.
model: install
	@$(ENGINE)/python scripts/model.py path >/dev/null

run: model
	@scripts/run

test: model
	@scripts/test

# The topology of docker-compose.yml and deploy/kubernetes/, as processes here.
cluster: model
	@ENGINE_VENV=$(ENGINE_VENV) scripts/cluster

lint: install
	$(APP)/ruff check .
	$(APP)/ruff format --check .
	$(APP)/mypy core api bot flows bench

clean:
	rm -rf models .rasa data/*.db
