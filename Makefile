# Two entry points for people: `make run` (the app with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test messages

setup: $(VENV)/.installed node_modules/.installed messages

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# Compiles the zh_Hans and en catalogs (needs gettext's msgfmt).
messages: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py compilemessages --verbosity 0 --ignore=.venv --ignore=node_modules

run: setup
	DEBUG=1 $(PY) manage.py migrate --no-input
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 LOG_LEVEL=WARNING $(PY) manage.py seed_benchmarks
	DEBUG=1 HOST=$(HOST) PORT=$(PORT) bin/run-dev

test: setup
	$(PY) -m pytest
