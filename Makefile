# Every target sets up .venv itself, so each works on a fresh machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Two test workers (pytest-xdist): the suite fits CI's 15 minutes on a 2-core machine.
PYTEST_ARGS ?= -n 2

.PHONY: setup demo demo-swap test lint bench reliability clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/okxbot demo

demo-swap: $(STAMP)
	$(BIN)/okxbot demo --swap

lint: $(STAMP)
	$(BIN)/ruff check src tests bench reliability
	$(BIN)/ruff format --check src tests bench reliability

test: $(STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

reliability: $(STAMP)
	$(BIN)/python -m reliability

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build src/*.egg-info
