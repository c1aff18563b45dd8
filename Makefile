# One-command entry points. `make demo` runs a real sync; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint check bench clean

$(BIN)/imgsync: pyproject.toml
	scripts/install-system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

setup: $(BIN)/imgsync

demo: setup
	$(BIN)/python scripts/demo.py

lint: setup
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench
	$(BIN)/mypy

test: setup
	$(BIN)/pytest -q

check: lint test

bench: setup
	$(BIN)/pip install -q -e ".[test,bench]"
	$(BIN)/python -m bench


clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .demo
