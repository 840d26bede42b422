# CNN Lab: `make run` serves the app, `make test` lints and runs every test that can run here.
# Installs are skipped while a stamp named after the requirement files' hash exists.

VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
RUN_REQUIREMENTS := requirements.txt requirements-facenet.txt
RUN_STAMP := $(VENV)/.installed-run-$(shell cat $(RUN_REQUIREMENTS) | sha256sum | cut -c1-16)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat $(RUN_REQUIREMENTS) requirements-dev.txt | sha256sum | cut -c1-16)
PORT ?= 8501

.PHONY: run test weights bench cluster cluster-stop

run: $(RUN_STAMP)
	$(VENV)/bin/streamlit run streamlit_app.py --server.port $(PORT)

test: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PYTHON) -m pytest

cluster: $(RUN_STAMP)
	$(PYTHON) -m scripts.cluster start --port $(PORT)

cluster-stop:
	$(PYTHON) -m scripts.cluster stop

weights: $(RUN_STAMP)
	$(PYTHON) -m core.runtime.weights download --all

bench: $(DEV_STAMP)
	$(PYTHON) -m benchmarks

$(PYTHON):
	python3 -m venv $(VENV)

$(RUN_STAMP): | $(PYTHON)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps -r requirements-facenet.txt
	rm -f $(VENV)/.installed-run-* && touch $@

$(DEV_STAMP): $(RUN_STAMP)
	$(PIP) install -r requirements-dev.txt
	rm -f $(VENV)/.installed-dev-* && touch $@
